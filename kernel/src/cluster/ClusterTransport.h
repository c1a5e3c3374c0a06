#pragma once
// Node-to-node messaging. Implemented over TCP (TcpClusterTransport) and,
// for deterministic tests, by a simulated network (SimulatedNetwork).
//
// Contract: send() never blocks on the network (messages are queued; a full
// queue drops the oldest and counts it); delivery is best-effort, in order per
// peer while a connection lasts. Received messages were authenticated and
// checked (cluster name, size) before the receiver sees them.
// Thread-safety: all methods may be called from any thread; the receiver is
// called from the transport's own thread(s), never concurrently for one peer.

#include "cluster/ClusterMessage.h"
#include "mt/ClusterNode.h"

#include <functional>
#include <string>
#include <vector>

namespace mt {

class ClusterTransport
{
public:
    using Receiver = std::function<void(const ClusterMessage& message)>;

    virtual ~ClusterTransport() = default;
    /// Set before start().
    virtual void setReceiver(Receiver receiver) = 0;
    /// The peers to connect to (every node but this one). May be called again on topology changes.
    virtual void setPeers(const std::vector<ClusterNode>& peers) = 0;
    virtual void start() = 0;
    /// Flushes what it can within a short bound, then closes everything. Idempotent.
    virtual void stop() = 0;
    virtual void send(const std::string& nodeName, const ClusterMessage& message) = 0;
    /// Counters for monitoring: frames sent, received, dropped by reason...
    virtual std::string statsJson() const { return "{}"; }
};

} // namespace mt
