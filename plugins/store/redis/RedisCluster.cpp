#include "RedisCluster.h"

#include <Poco/Redis/Array.h>
#include <Poco/Redis/Type.h>

#include <algorithm>
#include <optional>

namespace mt::redis {

namespace {

using Poco::Redis::Array;
using Poco::Redis::Type;

std::uint16_t crc16(const char* data, std::size_t size)
{
    std::uint16_t crc = 0;
    for (std::size_t i = 0; i < size; ++i)
    {
        crc ^= std::uint16_t(static_cast<unsigned char>(data[i])) << 8;
        for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x8000) ? std::uint16_t((crc << 1) ^ 0x1021) : std::uint16_t(crc << 1);
    }
    return crc;
}

bool integerIn(const Reply& reply, std::int64_t& value)
{
    auto* number = dynamic_cast<const Type<Poco::Int64>*>(reply.get());
    if (number) value = number->value();
    return number != nullptr;
}

/// One node of a CLUSTER SLOTS range: [ip, port, id, ...]. An empty or "?"
/// address is the node asked (a node that does not know its own address).
bool nodeIn(const Reply& reply, const Endpoint& asked, Endpoint& node)
{
    const Array* fields = asArray(reply);
    std::int64_t port = 0;
    if (!fields || fields->size() < 2 || !integerIn(*std::next(fields->begin()), port) || port < 1 || port > 65535)
        return false;
    node.host = bulkText(*fields->begin());
    if (node.host.empty() || node.host == "?") node.host = asked.host;
    node.port = int(port);
    return true;
}

} // namespace

int keySlot(const std::string& key)
{
    const auto open = key.find('{');
    if (open != std::string::npos)
    {
        const auto close = key.find('}', open + 1);
        if (close != std::string::npos && close > open + 1) return crc16(key.data() + open + 1, close - open - 1) & 16383;
    }
    return crc16(key.data(), key.size()) & 16383;
}

ClusterMap::ClusterMap(RedisSettings settings, int slot, Poco::Logger& logger)
    : _settings(std::move(settings)), _slot(slot), _order(_settings.cluster, "redis cluster nodes", logger)
{
}

std::string ClusterMap::text() const
{
    return "slot " + std::to_string(_slot) + ", asking " + _order.text();
}

Endpoint ClusterMap::askOne(const Endpoint& node, Deadline deadline)
{
    const auto connection = connectStream(_settings, node.host, node.port, node.text(), deadline);
    std::vector<std::vector<std::string>> commands;
    if (auto auth = _settings.authCommand(); !auth.empty()) commands.push_back(std::move(auth));
    commands.push_back({"CLUSTER", "SLOTS"});
    RespParser parser;
    const Reply slots = exchange(*connection, parser, commands, deadline).back();
    const Array* ranges = asArray(slots);
    if (!ranges) throw RedisSocketError("unexpected answer to CLUSTER SLOTS: " + printableReply(slots));
    std::optional<Endpoint> master;
    std::vector<Endpoint> nodes;
    for (const Reply& range : *ranges)
    {
        const Array* fields = asArray(range);
        std::int64_t first = -1, last = -1;
        if (!fields || fields->size() < 3 || !integerIn(*fields->begin(), first) ||
            !integerIn(*std::next(fields->begin()), last))
            throw RedisSocketError("unexpected range in CLUSTER SLOTS: " + printableReply(range));
        for (auto it = std::next(fields->begin(), 2); it != fields->end(); ++it)
        {
            Endpoint found;
            if (!nodeIn(*it, node, found))
                throw RedisSocketError("unexpected node in CLUSTER SLOTS: " + printableReply(*it));
            // The first node of a range is its master.
            if (it == std::next(fields->begin(), 2) && first <= _slot && _slot <= last) master = found;
            if (std::find(nodes.begin(), nodes.end(), found) == nodes.end() && !(found == node)) nodes.push_back(found);
        }
    }
    _order.answered(node, nodes, {});
    if (!master) throw RedisSocketError("no master serves slot " + std::to_string(_slot) + " (the cluster is not whole)");
    return *master;
}

Endpoint ClusterMap::locate(Deadline deadline)
{
    return _order.firstAnswer(
        deadline, [this](const Endpoint& node, Deadline share) { return askOne(node, share); },
        "no cluster node named the master of slot " + std::to_string(_slot));
}

} // namespace mt::redis
