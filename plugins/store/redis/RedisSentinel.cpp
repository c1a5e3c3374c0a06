#include "RedisSentinel.h"

#include <Poco/Logger.h>
#include <Poco/Redis/Array.h>
#include <Poco/Redis/Type.h>

#include <algorithm>

namespace mt::redis {

namespace {

using Poco::Redis::Array;
using Poco::Redis::Type;

bool isPort(const std::string& text)
{
    return !text.empty() && text.size() <= 5 && text.find_first_not_of("0123456789") == std::string::npos &&
           std::stoi(text) >= 1 && std::stoi(text) <= 65535;
}

Endpoint masterIn(const Reply& reply, const std::string& master)
{
    auto* array = dynamic_cast<const Type<Array>*>(reply.get());
    if (array && array->value().isNull()) throw RedisSocketError("does not monitor a master named '" + master + "'");
    if (reply->isError()) throw RedisSocketError("SENTINEL GET-MASTER-ADDR-BY-NAME refused: " + errorMessage(reply));
    const Array* address = asArray(reply);
    const std::string host = address && address->size() == 2 ? bulkText(*address->begin()) : std::string();
    const std::string port = address && address->size() == 2 ? bulkText(*std::next(address->begin())) : std::string();
    if (host.empty() || !isPort(port))
        throw RedisSocketError("unexpected answer to SENTINEL GET-MASTER-ADDR-BY-NAME: " + reply->toString().substr(0, 80));
    return {host, std::stoi(port)};
}

/// SENTINEL SENTINELS' answer: per sentinel, a flat array of field and value.
/// Those the answering sentinel thinks down are left out: asked, they would
/// only cost their share of a deadline. ("disconnected" is not down: a link
/// just made to a sentinel found a moment ago is flagged so too.)
std::vector<Endpoint> sentinelsIn(const Reply& reply)
{
    if (reply->isError()) throw RedisSocketError("SENTINEL SENTINELS refused: " + errorMessage(reply));
    const Array* entries = asArray(reply);
    if (!entries) throw RedisSocketError("unexpected answer to SENTINEL SENTINELS: " + reply->toString().substr(0, 80));
    std::vector<Endpoint> up;
    for (const Reply& entry : *entries)
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
            throw RedisSocketError("unexpected entry in SENTINEL SENTINELS: " + entry->toString().substr(0, 80));
        const bool down = flags.find("s_down") != std::string::npos || flags.find("o_down") != std::string::npos;
        if (!down) up.push_back({ip, std::stoi(port)});
    }
    return up;
}

Endpoint askOne(const RedisSettings& settings, SentinelList& sentinels, const Endpoint& sentinel, Deadline deadline)
{
    const auto connection = connectStream(settings, sentinel.host, sentinel.port, sentinel.text(), deadline);
    std::vector<std::vector<std::string>> commands;
    if (auto auth = settings.sentinelAuthCommand(); !auth.empty()) commands.push_back(std::move(auth));
    commands.push_back({"SENTINEL", "GET-MASTER-ADDR-BY-NAME", settings.sentinelMaster});
    commands.push_back({"SENTINEL", "SENTINELS", settings.sentinelMaster});
    RespParser parser;
    const std::vector<Reply> replies = exchangeAll(*connection, parser, commands, deadline);
    if (replies.size() == 3 && replies[0]->isError()) throw RedisSocketError("AUTH refused: " + errorMessage(replies[0]));
    const Endpoint master = masterIn(replies[replies.size() - 2], settings.sentinelMaster);
    // Listing the others is optional (an ACL may allow only the master's address).
    std::optional<std::vector<Endpoint>> others;
    std::string why;
    try
    {
        others = sentinelsIn(replies.back());
    }
    catch (const RedisSocketError& e)
    {
        why = e.what();
    }
    sentinels.answered(sentinel, others, why);
    return master;
}

std::string join(const std::vector<Endpoint>& endpoints)
{
    std::string text;
    for (const auto& e : endpoints) text += (text.empty() ? "" : ",") + e.text();
    return text;
}

} // namespace

SentinelList::SentinelList(std::vector<Endpoint> configured, std::string master, Poco::Logger& logger)
    : _configured(std::move(configured)), _master(std::move(master)), _logger(logger), _order(_configured)
{
}

std::vector<Endpoint> SentinelList::order() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _order;
}

std::string SentinelList::text() const
{
    return join(order());
}

bool SentinelList::configured(const Endpoint& sentinel) const
{
    return std::find(_configured.begin(), _configured.end(), sentinel) != _configured.end();
}

void SentinelList::answered(const Endpoint& sentinel, const std::optional<std::vector<Endpoint>>& others,
                            const std::string& why)
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto listed = [&](const Endpoint& e) { return others && std::find(others->begin(), others->end(), e) != others->end(); };
    std::vector<Endpoint> next{sentinel}, learnt, dropped;
    for (const auto& e : _order)
    {
        if (e == sentinel) continue;
        if (configured(e) || !others || listed(e))
            next.push_back(e);
        else
            dropped.push_back(e);
    }
    if (others)
        for (const auto& e : *others)
            if (std::find(next.begin(), next.end(), e) == next.end() && next.size() < kMaxSentinels)
            {
                next.push_back(e);
                learnt.push_back(e);
            }
    _order = std::move(next);
    if (!learnt.empty())
        _logger.information("redis sentinels of master '%s': %s listed %s, asked from now on too", _master, sentinel.text(),
                            join(learnt));
    if (!dropped.empty())
        _logger.information("redis sentinels of master '%s': %s no longer lists %s, not asked any more", _master,
                            sentinel.text(), join(dropped));
    if (!others && !_listRefused)
        _logger.warning("redis sentinels of master '%s': %s did not list the other sentinels (%s): only those "
                        "configured and learnt so far are asked",
                        _master, sentinel.text(), why);
    _listRefused = !others;
}

Endpoint askSentinels(const RedisSettings& settings, SentinelList& sentinels, Deadline deadline)
{
    std::string said;
    const std::vector<Endpoint> order = sentinels.order();
    for (std::size_t i = 0; i < order.size(); ++i)
    {
        const auto now = std::chrono::steady_clock::now();
        const Deadline share = now + std::max(deadline - now, Deadline::duration::zero()) / int(order.size() - i);
        try
        {
            return askOne(settings, sentinels, order[i], share);
        }
        catch (const std::exception& e) // RedisSocketError, RespError
        {
            said += (said.empty() ? "" : "; ") + order[i].text() + ": " + e.what();
        }
    }
    throw RedisSocketError("no sentinel named the master: " + said);
}

} // namespace mt::redis
