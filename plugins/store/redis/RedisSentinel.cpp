#include "RedisSentinel.h"

#include <Poco/Logger.h>
#include <Poco/Redis/Array.h>
#include <Poco/Redis/Type.h>

#include <algorithm>
#include <sstream>

namespace mt::redis {

namespace {

using Poco::Redis::Array;
using Poco::Redis::Type;

bool isPort(const std::string& text)
{
    return !text.empty() && text.size() <= 5 && text.find_first_not_of("0123456789") == std::string::npos &&
           std::stoi(text) >= 1 && std::stoi(text) <= 65535;
}

/// SENTINEL SENTINELS' answer: per sentinel, a flat array of field and value.
/// Those the answering sentinel thinks down are left out: asked, they would
/// only cost their share of a deadline. ("disconnected" is not down: a link
/// just made to a sentinel found a moment ago is flagged so too.)
std::vector<Endpoint> sentinelsIn(const Reply& reply)
{
    if (reply->isError()) throw RedisSocketError("SENTINEL SENTINELS refused: " + errorMessage(reply));
    auto* array = dynamic_cast<const Type<Array>*>(reply.get());
    if (!array) throw RedisSocketError("unexpected answer to SENTINEL SENTINELS: " + printableReply(reply));
    std::vector<Endpoint> up;
    if (array->value().isNull()) return up; // a lone sentinel (an empty array reads as null)
    for (const Reply& entry : array->value())
    {
        std::vector<std::string> fields;
        if (const Array* array = asArray(entry))
            for (const Reply& field : *array) fields.push_back(bulkText(field));
        std::string ip, port, flags;
        for (std::size_t i = 0; i + 1 < fields.size(); i += 2)
        {
            if (fields[i] == "ip") ip = fields[i + 1];
            if (fields[i] == "port") port = fields[i + 1];
            if (fields[i] == "flags") flags = fields[i + 1];
        }
        if (ip.empty() || !isPort(port))
            throw RedisSocketError("unexpected entry in SENTINEL SENTINELS: " + printableReply(entry));
        const bool down = flags.find("s_down") != std::string::npos || flags.find("o_down") != std::string::npos;
        if (!down) up.push_back({ip, std::stoi(port)});
    }
    return up;
}

} // namespace

Endpoint masterAddressIn(const Reply& reply, const std::string& master)
{
    auto* array = dynamic_cast<const Type<Array>*>(reply.get());
    if (array && array->value().isNull()) throw RedisSocketError("does not monitor a master named '" + master + "'");
    if (reply->isError()) throw RedisSocketError("SENTINEL GET-MASTER-ADDR-BY-NAME refused: " + errorMessage(reply));
    const Array* address = asArray(reply);
    const std::string host = address && address->size() == 2 ? bulkText(*address->begin()) : std::string();
    const std::string port = address && address->size() == 2 ? bulkText(*std::next(address->begin())) : std::string();
    if (host.empty() || !isPort(port))
        throw RedisSocketError("unexpected answer to SENTINEL GET-MASTER-ADDR-BY-NAME: " + printableReply(reply));
    return {host, std::stoi(port)};
}

SentinelAnswer askSentinel(RedisStream& stream, RespParser& parser, const RedisSettings& settings,
                           std::vector<std::string> then, Deadline deadline)
{
    std::vector<std::vector<std::string>> commands;
    if (auto auth = settings.sentinelAuthCommand(); !auth.empty()) commands.push_back(std::move(auth));
    commands.push_back({"SENTINEL", "GET-MASTER-ADDR-BY-NAME", settings.sentinelMaster});
    commands.push_back(std::move(then));
    const std::vector<Reply> replies = exchangeAll(stream, parser, commands, deadline);
    if (replies.size() == 3 && replies[0]->isError()) throw RedisSocketError("AUTH refused: " + errorMessage(replies[0]));
    return {masterAddressIn(replies[replies.size() - 2], settings.sentinelMaster), replies.back()};
}

std::optional<Endpoint> switchedMasterIn(const std::string& payload, const std::string& master)
{
    std::vector<std::string> words;
    std::istringstream in(payload);
    for (std::string word; in >> word;) words.push_back(word);
    if (words.size() != 5 || !isPort(words[2]) || !isPort(words[4]))
        throw RedisSocketError("unexpected +switch-master message: '" + payload.substr(0, 120) + "'");
    if (words[0] != master) return std::nullopt;
    return Endpoint{words[3], std::stoi(words[4])};
}

SentinelList::SentinelList(RedisSettings settings, Poco::Logger& logger)
    : _settings(std::move(settings)),
      _order(_settings.sentinels, "redis sentinels of master '" + _settings.sentinelMaster + "'", logger)
{
}

Endpoint SentinelList::askOne(const Endpoint& sentinel, Deadline deadline)
{
    const auto connection = connectStream(_settings, sentinel.host, sentinel.port, sentinel.text(), deadline);
    RespParser parser;
    const SentinelAnswer answer =
        askSentinel(*connection, parser, _settings, {"SENTINEL", "SENTINELS", _settings.sentinelMaster}, deadline);
    // Listing the others is optional (an ACL may allow only the master's address).
    std::optional<std::vector<Endpoint>> others;
    std::string why;
    try
    {
        others = sentinelsIn(answer.then);
    }
    catch (const RedisSocketError& e)
    {
        why = e.what();
    }
    _order.answered(sentinel, others, why);
    return answer.master;
}

Endpoint SentinelList::locate(Deadline deadline)
{
    return _order.firstAnswer(
        deadline, [this](const Endpoint& sentinel, Deadline share) { return askOne(sentinel, share); },
        "no sentinel named the master");
}

} // namespace mt::redis
