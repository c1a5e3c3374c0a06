#pragma once
// While a Redis Cluster slot is being migrated, its keys are on two masters:
// the one serving the slot answers ASK for a key it has handed over
// already, naming the importing node, which serves that key to a client
// that says ASKING first. The store keeps its connection to the slot's
// master and sends just those calls on, one connection per importing node
// (made at the first ASK, a plain pipeline to that node), until the slot
// has moved and MOVED takes the store there. The cluster spec's rule: an ASK
// is followed once and changes no slot map.
//
// Thread-safety: every method may be called from any thread.

#include "RedisSettings.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace Poco {
class Logger;
}

namespace mt::redis {

class RedisPipeline;

/// The node in an "ASK <slot> <host>:<port>" error message (the host is
/// unbracketed for IPv6, as Redis writes it); nothing for another message.
std::optional<Endpoint> askTargetIn(const std::string& message);

class AskTargets
{
public:
    /// `settings`: the store's (password, TLS and timeouts apply to the importing nodes too).
    AskTargets(RedisSettings settings, Poco::Logger& logger);
    ~AskTargets();

    /// The connection to `node`, made at the first use. Beyond kMaxEndpoints
    /// nodes the least recently used one nobody holds is closed to make
    /// room; null when every one is in use (the call gets its ASK as the
    /// answer) and once closed.
    std::shared_ptr<RedisPipeline> to(const Endpoint& node);
    /// Closes them all, for good: the store is stopping, their calls fail.
    /// One in use meanwhile closes when its user lets go.
    void close();

private:
    const RedisSettings _settings;
    Poco::Logger& _logger;
    std::mutex _mutex;
    bool _closed = false;
    struct Entry
    {
        std::shared_ptr<RedisPipeline> pipeline;
        std::uint64_t lastUse = 0; // _uses at its latest to()
    };
    std::map<std::string, Entry> _pipelines; // by Endpoint::text()
    std::uint64_t _uses = 0;
};

} // namespace mt::redis
