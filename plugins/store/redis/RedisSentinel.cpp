#include "RedisSentinel.h"

#include <Poco/Redis/Array.h>
#include <Poco/Redis/Type.h>

#include <algorithm>

namespace mt::redis {

namespace {

using Poco::Redis::Array;
using Poco::Redis::Type;

Endpoint askOne(const RedisSettings& settings, const Endpoint& sentinel, Deadline deadline)
{
    const auto connection = connectStream(settings, sentinel.host, sentinel.port, sentinel.text(), deadline);
    RedisStream& stream = *connection;
    std::vector<std::vector<std::string>> commands;
    if (auto auth = settings.sentinelAuthCommand(); !auth.empty()) commands.push_back(std::move(auth));
    commands.push_back({"SENTINEL", "GET-MASTER-ADDR-BY-NAME", settings.sentinelMaster});
    RespParser parser;
    const std::vector<Reply> replies = exchange(stream, parser, commands, deadline);
    auto* array = dynamic_cast<const Type<Array>*>(replies.back().get());
    if (array && array->value().isNull()) throw RedisSocketError("does not monitor a master named '" + settings.sentinelMaster + "'");
    const Array* address = asArray(replies.back());
    const std::string host = address && address->size() == 2 ? bulkText(*address->begin()) : std::string();
    const std::string port = address && address->size() == 2 ? bulkText(*std::next(address->begin())) : std::string();
    if (host.empty() || port.empty() || port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5)
        throw RedisSocketError("unexpected answer to SENTINEL GET-MASTER-ADDR-BY-NAME: " + replies.back()->toString().substr(0, 80));
    Endpoint master{host, std::stoi(port)};
    if (master.port < 1 || master.port > 65535) throw RedisSocketError("named port " + port);
    return master;
}

} // namespace

Endpoint askSentinels(const RedisSettings& settings, Deadline deadline)
{
    std::string said;
    const std::size_t count = settings.sentinels.size();
    for (std::size_t i = 0; i < count; ++i)
    {
        const auto now = std::chrono::steady_clock::now();
        const Deadline share = now + std::max(deadline - now, Deadline::duration::zero()) / int(count - i);
        const Endpoint& sentinel = settings.sentinels[i];
        try
        {
            return askOne(settings, sentinel, share);
        }
        catch (const std::exception& e) // RedisSocketError, RespError
        {
            said += (said.empty() ? "" : "; ") + sentinel.text() + ": " + e.what();
        }
    }
    throw RedisSocketError("no sentinel named the master: " + said);
}

} // namespace mt::redis
