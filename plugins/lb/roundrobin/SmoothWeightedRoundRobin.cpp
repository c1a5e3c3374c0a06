#include "SmoothWeightedRoundRobin.h"

namespace mt::lb {

void SmoothWeightedRoundRobin::setNodes(const std::vector<LbNode>& nodes)
{
    std::lock_guard<std::mutex> lock(_mutex);
    std::vector<Peer> next;
    next.reserve(nodes.size());
    for (const auto& n : nodes)
    {
        Peer peer{n.node.name, n.weight > 0 ? n.weight : 1, 0};
        // A node that stays keeps its running score: a ramping weight or a
        // peer joining must not restart everybody's turn.
        for (const auto& old : _peers)
            if (old.name == peer.name) peer.current = old.current;
        next.push_back(std::move(peer));
    }
    _peers = std::move(next);
}

std::string SmoothWeightedRoundRobin::selectNode(const LbRequest& request)
{
    std::lock_guard<std::mutex> lock(_mutex);
    Peer* best = nullptr;
    long long total = 0;
    for (auto& peer : _peers)
    {
        // As nginx does with tried peers: an excluded node sits this pick out entirely.
        if (!request.exclude.empty() && request.excluded(peer.name)) continue;
        peer.current += peer.weight;
        total += peer.weight;
        if (!best || peer.current > best->current) best = &peer;
    }
    if (!best) return {};
    best->current -= total;
    return best->name;
}

} // namespace mt::lb
