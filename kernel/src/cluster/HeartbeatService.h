#pragma once
// Sends heartbeats to every peer and feeds what arrives to the status
// manager. DefaultHeartbeatService runs one thread that ticks every
// heartbeat interval: send to all peers, then NodeStatusManager::evaluate.
//
// PUBLIC INTERFACE FIXED; the cluster-core engineer owns the implementation.

#include "cluster/ClusterConfig.h"
#include "cluster/ClusterTransport.h"
#include "cluster/NodeStatusManager.h"
#include "util/Clock.h"

namespace mt {

class HeartbeatService
{
public:
    virtual ~HeartbeatService() = default;
    /// Announces this node (Join with its incarnation) and starts beating.
    virtual void start() = 0;
    /// Sends Leave to every peer (best effort, bounded), then stops. Idempotent.
    virtual void stop() = 0;
    /// Entry point for every message the transport receives.
    virtual void onMessage(const ClusterMessage& message) = 0;
    virtual std::uint64_t incarnation() const = 0;
};

} // namespace mt
