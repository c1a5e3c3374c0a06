#pragma once
// Redis Cluster as the store uses it: every key of one store (one context)
// carries the same hash tag, so they all live in one slot, on one master —
// the scripts and MULTI blocks that change a session and the expiry index
// together stay valid, and the near cache's tracking and its subscriber are
// on that master too. Different contexts land on different slots, and so
// spread over the masters. Before every connection the store asks the nodes
// it knows (CLUSTER SLOTS) which master serves its slot; a MOVED reply (the
// slot moved, or a failover demoted the master) drops the connection, the
// next one asks again, and the calls MOVED answered are sent again there
// (RedisPipeline).

#include "AskOrder.h"
#include "MasterLocator.h"

#include <cstdint>

namespace mt::redis {

/// The cluster slot of a key: CRC16 (XMODEM) of its hash tag ({...}: what is
/// between the first '{' and the next '}', when not empty), else of the key, mod 16384.
int keySlot(const std::string& key);

/// Finds the master of one slot. The nodes are asked in AskOrder's order;
/// every answer lists the cluster's nodes, which are learnt (up to
/// kMaxEndpoints), so a configured seed that is gone costs nothing once
/// another has answered. Thread-safe.
class ClusterMap : public MasterLocator
{
public:
    ClusterMap(RedisSettings settings, int slot, Poco::Logger& logger);

    Endpoint locate(Deadline deadline) override;
    /// "slot <n>, asking <host:port,...>".
    std::string text() const override;
    std::string master() const override { return "master of slot " + std::to_string(_slot); }
    int slot() const { return _slot; }

private:
    Endpoint askOne(const Endpoint& node, Deadline deadline);

    const RedisSettings _settings;
    const int _slot;
    AskOrder _order;
};

} // namespace mt::redis
