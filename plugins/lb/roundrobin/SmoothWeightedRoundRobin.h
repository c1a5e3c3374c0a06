#pragma once
// Smooth weighted round robin, nginx's algorithm (ngx_http_upstream_get_peer):
// every pick adds each node's weight to its running score, takes the highest
// score and subtracts the total weight from it. Weights 5:1:1 give
// a a b a c a a — the heavy node's turns are spread out, not bunched.
// Thread-safety: one mutex; a pick is a few additions per node.

#include "mt/LoadBalancer.h"

#include <mutex>
#include <string>
#include <vector>

namespace mt::lb {

class SmoothWeightedRoundRobin : public LoadBalancer
{
public:
    void setNodes(const std::vector<LbNode>& nodes) override;
    std::string selectNode(const LbRequest& request) override;

private:
    struct Peer
    {
        std::string name;
        long long weight = 0;
        long long current = 0;
    };
    std::mutex _mutex;
    std::vector<Peer> _peers;
};

} // namespace mt::lb
