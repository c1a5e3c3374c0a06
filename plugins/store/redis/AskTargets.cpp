#include "AskTargets.h"

#include "RedisPipeline.h"

#include <Poco/Logger.h>

namespace mt::redis {

std::optional<Endpoint> askTargetIn(const std::string& message)
{
    // ASK <slot> <host>:<port>
    if (message.rfind("ASK ", 0) != 0) return std::nullopt;
    const auto space = message.find(' ', 4);
    const auto colon = message.rfind(':');
    if (space == std::string::npos || colon == std::string::npos || colon <= space + 1) return std::nullopt;
    const std::string port = message.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    Endpoint node{message.substr(space + 1, colon - space - 1), std::stoi(port)};
    if (node.port < 1 || node.port > 65535 || node.host.find(' ') != std::string::npos) return std::nullopt;
    return node;
}

AskTargets::AskTargets(RedisSettings settings, Poco::Logger& logger) : _settings(std::move(settings)), _logger(logger)
{
}

AskTargets::~AskTargets() = default;

std::shared_ptr<RedisPipeline> AskTargets::to(const Endpoint& node)
{
    std::shared_ptr<RedisPipeline> evicted; // closed after the lock: its reader thread is joined
    std::lock_guard<std::mutex> lock(_mutex);
    auto it = _pipelines.find(node.text());
    if (it != _pipelines.end())
    {
        it->second.lastUse = ++_uses;
        return it->second.pipeline;
    }
    if (_closed) return nullptr;
    if (_pipelines.size() >= kMaxEndpoints)
    {
        // Migrations end and nodes come and go (resharding, new addresses):
        // the least recently used connection nobody holds makes room.
        auto oldest = _pipelines.end();
        for (auto candidate = _pipelines.begin(); candidate != _pipelines.end(); ++candidate)
            if (candidate->second.pipeline.use_count() == 1 &&
                (oldest == _pipelines.end() || candidate->second.lastUse < oldest->second.lastUse))
                oldest = candidate;
        if (oldest == _pipelines.end()) return nullptr; // every one in use
        evicted = std::move(oldest->second.pipeline);
        _pipelines.erase(oldest);
    }
    RedisSettings direct = _settings;
    direct.cluster.clear(); // that node itself: its MOVED or ASK is an answer, not followed again
    direct.host = node.host;
    direct.port = node.port;
    _logger.information("redis %s: the slot is being migrated to %s; the calls answered ASK go there", _settings.address(),
                        node.text());
    Entry& entry = _pipelines[node.text()];
    entry.pipeline = std::make_shared<RedisPipeline>(direct, _logger);
    entry.lastUse = ++_uses;
    return entry.pipeline;
}

void AskTargets::close()
{
    std::map<std::string, Entry> closing;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _closed = true;
        closing.swap(_pipelines);
    }
}

} // namespace mt::redis
