#pragma once
// The validated content of cluster-config.xml (plus start-up overrides).

#include "mt/ClusterNode.h"

#include <string>
#include <vector>

namespace mt {

struct ClusterConfig
{
    std::string file;                 ///< where it came from
    std::string name = "microtomcat"; ///< the cluster's name; frames of another cluster are refused
    std::string secret;               ///< shared secret: HMAC-SHA256 key of every frame
    std::string localNode;            ///< this node's name (must be in `nodes`)

    // Heartbeats and failure detection (milliseconds).
    int heartbeatIntervalMs = 200;
    int suspectTimeoutMs = 600;  ///< silence after which a node is SUSPECT (phi may suspect earlier)
    int downTimeoutMs = 1000;    ///< silence after which a node is DOWN: the detection bound
    double phiThreshold = 8.0;   ///< phi-accrual suspicion level

    // Transport.
    std::size_t maxFrameBytes = 1 << 20;
    int connectTimeoutMs = 500;
    int reconnectMinMs = 50;
    int reconnectMaxMs = 2000;

    std::vector<ClusterNode> nodes; ///< in file order; status Unknown

    const ClusterNode* find(const std::string& nodeName) const
    {
        for (const auto& n : nodes)
            if (n.name == nodeName) return &n;
        return nullptr;
    }
    const ClusterNode& self() const { return *find(localNode); }
};

} // namespace mt
