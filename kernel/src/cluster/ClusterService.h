#pragma once
// Cluster membership as one kernel subsystem: the registry, the transport,
// the failure detector, the status manager and the heartbeat service, wired
// together and started / reloaded / stopped as a unit.
// Thread-safety: start/stop/reload from the kernel's controlling thread;
// the accessors from any thread.

#include "cluster/ClusterConfig.h"
#include "cluster/ClusterRegistry.h"
#include "cluster/ClusterTransport.h"
#include "cluster/FailureDetector.h"
#include "cluster/HeartbeatService.h"
#include "cluster/NodeStatusManager.h"
#include "util/Clock.h"

#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>

#include <memory>
#include <string>
#include <vector>

namespace mt {

class ClusterService
{
public:
    /// `clock` times heartbeats, detection and the registry's times; the
    /// kernel gives a SteadyWallClock, which a wall-clock step does not move.
    ClusterService(ClusterConfig config, const Clock& clock);
    ~ClusterService();

    /// Prints the cluster table, listens on the cluster port, announces this node.
    void start();
    /// Announces the leave (peers mark this node LEFT at once), then closes.
    void stop();
    /// Applies a re-read cluster-config.xml: added, removed and changed nodes
    /// take effect; returns one line per change. Throws ConfigError if what
    /// changed needs a restart (cluster name, secret, this node's ports, timings).
    std::vector<std::string> reload(const ClusterConfig& next);
    /// Throws what reload() would, changing nothing: a reload checks this
    /// before it changes anything else.
    void checkReload(const ClusterConfig& next) const;

    const ClusterConfig& config() const { return _config; }
    ClusterRegistry& registry() { return *_registry; }
    NodeStatusManager& status() { return *_status; }
    std::uint64_t incarnation() const { return _incarnation; }
    /// Now on the membership's clock: what the registry's times and the
    /// detector's suspicion are measured against.
    TimeMs nowMs() const { return _clock.nowMs(); }
    std::string transportStats() const;

    /// {"cluster":..,"self":..,"incarnation":..,"nodes":[...]} for GET /cluster/nodes
    Poco::JSON::Object::Ptr nodesJson() const;
    /// {"latest":..,"truncated":..,"events":[...]} for GET /cluster/events?since=N
    Poco::JSON::Object::Ptr eventsJson(std::uint64_t since, std::size_t limit) const;

private:
    ClusterConfig _config;
    const Clock& _clock;
    Poco::Logger& _logger;
    std::uint64_t _incarnation;
    std::unique_ptr<ClusterRegistry> _registry;
    std::unique_ptr<FailureDetector> _detector;
    std::unique_ptr<NodeStatusManager> _status;
    std::unique_ptr<ClusterTransport> _transport;
    std::unique_ptr<HeartbeatService> _heartbeat;
    bool _started = false;
};

} // namespace mt
