#pragma once
// Consistent hashing by rendezvous (highest random weight): each node scores
// a key with hash(key, node) and the highest score wins. Removing one of N
// nodes moves exactly the keys it owned (about 1/N) and no other; a retry
// that excludes the owner goes to the key's second choice, which is stable
// too. Weighted as in "Weighted Distributed Hash Tables" (score =
// -weight / ln(u)), so slow start and node weights shift keys gradually.
// Chosen over Maglev: no lookup table to rebuild on every weight change, and
// N is small, so scoring every node per request is cheap.
// Thread-safety: setNodes swaps an immutable list under a mutex; selection
// copies the pointer and scores lock-free.

#include "mt/LoadBalancer.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mt::lb {

class RendezvousHash : public LoadBalancer
{
public:
    enum class Key { ClientIp, Session };

    explicit RendezvousHash(Key key = Key::ClientIp) : _key(key) {}

    void setNodes(const std::vector<LbNode>& nodes) override;
    std::string selectNode(const LbRequest& request) override;
    /// The node `key` maps to among the current nodes (for tests).
    std::string nodeFor(const std::string& key) const;

    static std::uint64_t hash(const std::string& key, const std::string& node);

private:
    struct Peer
    {
        std::string name;
        double weight = 1;
        std::uint64_t seed = 0; ///< hash of the name, mixed with each key
    };
    using Peers = std::vector<Peer>;
    std::string pick(const std::string& key, const LbRequest* request) const;

    Key _key;
    mutable std::mutex _mutex;
    std::shared_ptr<const Peers> _peers = std::make_shared<const Peers>();
};

} // namespace mt::lb
