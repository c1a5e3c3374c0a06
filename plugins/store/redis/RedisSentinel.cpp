#include "RedisSentinel.h"

#include <Poco/Redis/Array.h>
#include <Poco/Redis/Type.h>

#include <algorithm>

namespace mt::redis {

namespace {

using Poco::Redis::Array;
using Poco::Redis::BulkString;
using Poco::Redis::Type;

/// The strings of an array reply (bulk elements), or nothing when it is not one.
std::vector<std::string> bulkStrings(const Reply& reply)
{
    auto* array = dynamic_cast<const Type<Array>*>(reply.get());
    if (!array || array->value().isNull()) return {};
    std::vector<std::string> out;
    for (const auto& element : array->value())
    {
        auto* bulk = dynamic_cast<const Type<BulkString>*>(element.get());
        if (!bulk || bulk->value().isNull()) return {};
        out.push_back(bulk->value().value());
    }
    return out;
}

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
    const std::vector<std::string> address = bulkStrings(replies.back());
    if (address.size() != 2 || address[0].empty() || address[1].empty() ||
        address[1].find_first_not_of("0123456789") != std::string::npos || address[1].size() > 5)
        throw RedisSocketError("unexpected answer to SENTINEL GET-MASTER-ADDR-BY-NAME: " + replies.back()->toString().substr(0, 80));
    Endpoint master{address[0], std::stoi(address[1])};
    if (master.port < 1 || master.port > 65535) throw RedisSocketError("named port " + address[1]);
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
