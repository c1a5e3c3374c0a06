#pragma once
// Turns what the cluster hears (heartbeats, joins, leaves) and what the
// failure detector concludes into node states (UP, SUSPECT, DOWN, LEFT),
// writes them to the registry, and raises events: one log line and one entry
// in the in-memory event log (with a sequence number) per transition, and a
// call to listeners (onNodeUp / onNodeSuspect / onNodeDown / onNodeLeft).
//
// PUBLIC INTERFACE FIXED; the cluster-core engineer owns the implementation.
// Deterministic: the time is always passed in. Thread-safety: all methods may
// be called from any thread (one internal mutex; listeners are called outside it).

#include "cluster/ClusterRegistry.h"
#include "cluster/FailureDetector.h"

#include <Poco/Logger.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mt {

struct NodeEvent
{
    std::uint64_t sequence = 0; ///< 1, 2, 3... per process, no gaps
    TimeMs time = 0;
    std::string node;
    NodeStatus from = NodeStatus::Unknown;
    NodeStatus to = NodeStatus::Unknown;
    std::uint64_t incarnation = 0;
    std::string reason;         ///< e.g. "no heartbeat for 1012 ms (phi 9.3)", "rejoined with incarnation 5"
};

class NodeStatusListener
{
public:
    virtual ~NodeStatusListener() = default;
    virtual void onNodeUp(const NodeEvent&) {}
    virtual void onNodeSuspect(const NodeEvent&) {}
    virtual void onNodeDown(const NodeEvent&) {}
    virtual void onNodeLeft(const NodeEvent&) {}
};

class NodeStatusManager
{
public:
    NodeStatusManager(ClusterRegistry& registry, FailureDetector& detector, std::string localNode,
                      Poco::Logger& logger, std::size_t eventLogCapacity = 10000);
    ~NodeStatusManager();

    /// A heartbeat from `node` with its incarnation. A higher incarnation than
    /// known means the node restarted: the detector history is reset.
    /// Moves SUSPECT/DOWN/UNKNOWN nodes to UP (LEFT nodes come back only by Join).
    void onHeartbeat(const std::string& node, std::uint64_t incarnation, TimeMs now);
    /// The node announced a (re)start: UP at once, without waiting for a timeout.
    void onJoin(const std::string& node, std::uint64_t incarnation, TimeMs now);
    /// The node announced a graceful leave: LEFT at once.
    void onLeave(const std::string& node, std::uint64_t incarnation, TimeMs now);
    /// Asks the detector about every peer and applies SUSPECT / DOWN (called every heartbeat interval).
    void evaluate(TimeMs now);

    void addListener(std::shared_ptr<NodeStatusListener> listener);

    /// The detector's suspicion level for `node` (0 if never heard), read
    /// under the manager's lock: the detector itself is not thread-safe.
    double suspicion(const std::string& node, TimeMs now) const;

    struct EventPage
    {
        std::vector<NodeEvent> events; ///< sequence > since, oldest first
        bool truncated = false;        ///< events after `since` were dropped from the log (client fell behind)
        std::uint64_t latest = 0;      ///< the newest sequence number
    };
    EventPage eventsSince(std::uint64_t since, std::size_t limit = 1000) const;
    /// Appends an event that is not a node transition (later: leader change,
    /// consistency switch) so that one log orders everything.
    std::uint64_t recordEvent(NodeEvent event);

private:
    struct Impl;
    std::unique_ptr<Impl> _impl;
};

} // namespace mt
