#include "LeastConnections.h"

namespace mt::lb {

void LeastConnections::setNodes(const std::vector<LbNode>& nodes)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _peers.clear();
    for (const auto& n : nodes) _peers.push_back({n.node.name, n.weight > 0 ? n.weight : 1});
}

std::string LeastConnections::selectNode(const LbRequest& request)
{
    std::lock_guard<std::mutex> lock(_mutex);
    const Peer* best = nullptr;
    long long bestLoad = 0;
    std::size_t n = _peers.size();
    // Start the scan one further each time, so equal loads take turns.
    std::size_t start = n ? _cursor++ % n : 0;
    for (std::size_t i = 0; i < n; ++i)
    {
        const Peer& peer = _peers[(start + i) % n];
        if (!request.exclude.empty() && request.excluded(peer.name)) continue;
        auto it = _active.find(peer.name);
        long long load = it == _active.end() ? 0 : it->second;
        // (load + 1) / weight, compared by cross-multiplying: a slow-starting
        // node (low weight) counts as busier than its requests alone say.
        if (!best || (load + 1) * best->weight < (bestLoad + 1) * peer.weight)
        {
            best = &peer;
            bestLoad = load;
        }
    }
    return best ? best->name : std::string();
}

void LeastConnections::requestStarted(const std::string& node)
{
    std::lock_guard<std::mutex> lock(_mutex);
    ++_active[node];
}

void LeastConnections::requestFinished(const std::string& node)
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto it = _active.find(node);
    if (it != _active.end() && --it->second <= 0) _active.erase(it);
}

long long LeastConnections::active(const std::string& node)
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto it = _active.find(node);
    return it == _active.end() ? 0 : it->second;
}

} // namespace mt::lb
