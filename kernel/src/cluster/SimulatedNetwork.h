#pragma once
// An in-memory network on virtual time for deterministic tests of heartbeats,
// gossip and raft. Each endpoint() is a ClusterTransport; messages sent
// through it are scheduled on their link (drop, delay, duplicate drawn from a
// seeded std::mt19937_64) and handed to the receiver only inside advance() /
// runUntil(), synchronously, ordered by (delivery time, send order). No
// threads, no wall clock: the same seed and the same calls give the same
// deliveries, so a failing seed replays exactly.
//
// Links are directional; partitions and isolation cut both directions and
// also drop messages already in flight when they come due.
// Thread-safety: every method may be called from any thread (one mutex,
// released while a receiver runs, so receivers may send). The network must
// outlive its endpoints.

#include "cluster/ClusterTransport.h"
#include "mt/SessionData.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace mt {

class SimulatedNetwork
{
public:
    struct LinkSettings
    {
        double dropProbability = 0.0;
        double duplicateProbability = 0.0;
        TimeMs delayMinMs = 1;
        TimeMs delayMaxMs = 1;
    };
    struct Stats
    {
        std::uint64_t sent = 0;
        std::uint64_t delivered = 0;
        std::uint64_t dropped = 0;      ///< by the link's drop probability
        std::uint64_t duplicated = 0;
        std::uint64_t cut = 0;          ///< by partitions / isolation
        std::uint64_t undeliverable = 0;///< no such endpoint, or it is stopped
    };

    explicit SimulatedNetwork(std::uint64_t seed, TimeMs start = 0);
    ~SimulatedNetwork();
    SimulatedNetwork(const SimulatedNetwork&) = delete;
    SimulatedNetwork& operator=(const SimulatedNetwork&) = delete;

    /// A transport for `node`; one per node name at a time.
    std::unique_ptr<ClusterTransport> endpoint(const std::string& node);

    TimeMs now() const;
    /// Delivers everything due up to now + ms, then sets the time to now + ms.
    void advance(TimeMs ms);
    /// Delivers everything due up to `time`, then sets the time to it (never backwards).
    void runUntil(TimeMs time);
    std::size_t inFlight() const;

    /// Settings of every link without its own.
    void setDefaultLink(const LinkSettings& settings);
    /// Settings of the link from -> to (one direction).
    void setLink(const std::string& from, const std::string& to, const LinkSettings& settings);
    /// Cuts every link between a node of `side1` and a node of `side2`, both ways. Adds to earlier cuts.
    void partition(const std::vector<std::string>& side1, const std::vector<std::string>& side2);
    /// Cuts `node` from every other node.
    void isolate(const std::string& node);
    /// Removes every cut and isolation (link settings stay).
    void heal();
    bool connected(const std::string& from, const std::string& to) const;

    Stats stats() const;

private:
    class Endpoint;
    struct InFlight
    {
        TimeMs due;
        std::uint64_t order;
        std::string from;
        std::string to;
        ClusterMessage message;
    };
    struct Later
    {
        bool operator()(const InFlight& a, const InFlight& b) const
        {
            return a.due != b.due ? a.due > b.due : a.order > b.order;
        }
    };

    void send(const std::string& from, const std::string& to, const ClusterMessage& message);
    void detach(Endpoint* endpoint);
    const LinkSettings& linkLocked(const std::string& from, const std::string& to) const;
    bool connectedLocked(const std::string& from, const std::string& to) const;
    void deliverUntil(TimeMs time);

    mutable std::mutex _mutex;
    std::mt19937_64 _random;
    TimeMs _now;
    std::uint64_t _order = 0;
    std::priority_queue<InFlight, std::vector<InFlight>, Later> _queue;
    std::map<std::string, Endpoint*> _endpoints;
    LinkSettings _defaultLink;
    std::map<std::pair<std::string, std::string>, LinkSettings> _links;
    std::set<std::pair<std::string, std::string>> _cuts; ///< both directions stored
    std::set<std::string> _isolated;
    Stats _stats;
};

} // namespace mt
