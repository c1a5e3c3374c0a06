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

    /// The connection to `node`, made at the first use; null beyond
    /// kMaxEndpoints nodes (a cluster that large migrates to more nodes than
    /// one slot needs: the call gets its ASK as the answer).
    RedisPipeline* to(const Endpoint& node);
    /// Closes them all (the store is stopping: their calls fail).
    void clear();

private:
    const RedisSettings _settings;
    Poco::Logger& _logger;
    std::mutex _mutex;
    std::map<std::string, std::unique_ptr<RedisPipeline>> _pipelines; // by Endpoint::text()
};

} // namespace mt::redis
