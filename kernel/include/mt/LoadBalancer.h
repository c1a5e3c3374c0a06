#pragma once
// Which app node serves a request: the strategy of a balancer node (plugin
// kind "lb": plugins/lb/roundrobin, leastconn, hash).
//
// Sans-I/O: a strategy only chooses among the nodes it was last handed by
// setNodes(). The kernel has already filtered them (membership UP, not ejected
// by passive health checks), applied slow start to the weights and handled
// sticky sessions; it does the networking, retries and statistics.
//
// Thread-safety: every method may be called concurrently from any thread.
// Determinism: given the same calls in the same order, a strategy makes the
// same choices (no clocks, no hidden randomness), so tests can replay it.

#include "mt/ClusterNode.h"
#include "mt/Plugin.h"

#include <string>
#include <vector>

namespace mt {

/// A node a strategy may choose, with its effective weight.
struct LbNode
{
    ClusterNode node;
    /// The configured weight times 100, lowered while the node slow-starts
    /// (never below 1). Only ratios between nodes matter.
    int weight = 100;
};

/// What a strategy may look at: a few fields of the request, not the request
/// itself (so strategies stay pure and testable without HTTP).
struct LbRequest
{
    std::string clientIp;
    std::string sessionId; ///< JSESSIONID (cookie or ;jsessionid=) without the route suffix, or ""
    std::string route;     ///< the route suffix of the session id (a node name), or ""
    std::string method;
    std::string path;
    /// Nodes this request already tried (a retry must go elsewhere). Usually empty.
    std::vector<std::string> exclude;

    bool excluded(const std::string& name) const
    {
        for (const auto& e : exclude)
            if (e == name) return true;
        return false;
    }
};

class MT_API LoadBalancer : public PluginObject
{
public:
    ~LoadBalancer() override;

    /// Replaces the set of selectable nodes. Called at start, on every
    /// membership or health change and while weights ramp up (slow start).
    /// A strategy keeps per-node state (counters, positions) for nodes that stay.
    virtual void setNodes(const std::vector<LbNode>& nodes) = 0;
    /// The name of the node to send `request` to, never one in request.exclude;
    /// "" if no node can be chosen. Returns a name rather than a node so the
    /// call costs no allocation on the hot path.
    virtual std::string selectNode(const LbRequest& request) = 0;
    /// Told when a request starts and finishes on a node, whoever chose the
    /// node (sticky sessions, retries). Least-connections counts with these.
    virtual void requestStarted(const std::string& node) { (void)node; }
    virtual void requestFinished(const std::string& node) { (void)node; }
};

} // namespace mt
