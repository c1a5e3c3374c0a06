#pragma once
// Least outstanding requests, exact (not Envoy's power-of-two-choices):
// the node with the fewest requests in flight relative to its weight, ties
// broken round robin. Why exact: a balancer node sees every request it
// forwards, so its counts are exact and current; with a handful of app nodes
// a full scan costs less than two random draws plus a lock. P2C pays off
// with many balancers holding stale counts or with hundreds of nodes, where
// herding on one "least" node is the risk — not the case here.
// Thread-safety: one mutex around the counts and the scan.

#include "mt/LoadBalancer.h"

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace mt::lb {

class LeastConnections : public LoadBalancer
{
public:
    void setNodes(const std::vector<LbNode>& nodes) override;
    std::string selectNode(const LbRequest& request) override;
    void requestStarted(const std::string& node) override;
    void requestFinished(const std::string& node) override;
    /// Requests in flight on `node` as counted (for tests and statistics).
    long long active(const std::string& node);

private:
    struct Peer
    {
        std::string name;
        long long weight = 1;
    };
    std::mutex _mutex;
    std::vector<Peer> _peers;
    std::map<std::string, long long> _active; ///< kept across setNodes: requests finish after a topology change
    std::size_t _cursor = 0;
};

} // namespace mt::lb
