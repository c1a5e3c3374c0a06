#include "RendezvousHash.h"

#include <cmath>

namespace mt::lb {

namespace {

std::uint64_t fnv1a(const std::string& s, std::uint64_t h = 1469598103934665603ULL)
{
    for (unsigned char c : s)
    {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return h;
}

/// splitmix64's finalizer: FNV alone leaves low-entropy high bits for short keys.
std::uint64_t mix(std::uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double score(std::uint64_t keyHash, std::uint64_t seed, double weight)
{
    std::uint64_t h = mix(keyHash ^ seed);
    // u in (0, 1): 53 random bits, never 0 or 1.
    double u = (static_cast<double>(h >> 11) + 0.5) / 9007199254740992.0;
    return -weight / std::log(u);
}

} // namespace

std::uint64_t RendezvousHash::hash(const std::string& key, const std::string& node)
{
    return mix(fnv1a(key) ^ mix(fnv1a(node)));
}

void RendezvousHash::setNodes(const std::vector<LbNode>& nodes)
{
    auto peers = std::make_shared<Peers>();
    for (const auto& n : nodes)
        peers->push_back({n.node.name, static_cast<double>(n.weight > 0 ? n.weight : 1), mix(fnv1a(n.node.name))});
    std::lock_guard<std::mutex> lock(_mutex);
    _peers = std::move(peers);
}

std::string RendezvousHash::pick(const std::string& key, const LbRequest* request) const
{
    std::shared_ptr<const Peers> peers;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        peers = _peers;
    }
    std::uint64_t keyHash = fnv1a(key);
    const Peer* best = nullptr;
    double bestScore = 0;
    for (const auto& peer : *peers)
    {
        if (request && !request->exclude.empty() && request->excluded(peer.name)) continue;
        double s = score(keyHash, peer.seed, peer.weight);
        if (!best || s > bestScore)
        {
            best = &peer;
            bestScore = s;
        }
    }
    return best ? best->name : std::string();
}

std::string RendezvousHash::selectNode(const LbRequest& request)
{
    // Without a session the client address is the best key there is.
    const std::string& key = _key == Key::Session && !request.sessionId.empty() ? request.sessionId : request.clientIp;
    return pick(key, &request);
}

std::string RendezvousHash::nodeFor(const std::string& key) const
{
    return pick(key, nullptr);
}

} // namespace mt::lb
