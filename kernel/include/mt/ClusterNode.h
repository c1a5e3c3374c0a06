#pragma once
// One member of the cluster as the kernel knows it. A value type: the
// registry hands out immutable snapshots of these.

#include "mt/Api.h"
#include "mt/SessionData.h"

#include <cstdint>
#include <set>
#include <string>

namespace mt {

enum class NodeStatus
{
    Unknown, ///< configured, never heard from
    Up,
    Suspect, ///< heartbeats late: no new work, not yet given up
    Down,
    Left     ///< left gracefully
};

MT_API const char* toString(NodeStatus status);

struct MT_API ClusterNode
{
    std::string name;
    std::string host;
    unsigned short httpPort = 0;
    unsigned short clusterPort = 0;
    std::set<std::string> roles; ///< "app", "balancer"
    int weight = 1;
    NodeStatus status = NodeStatus::Unknown;
    std::uint64_t incarnation = 0; ///< grows each time the node (re)starts
    TimeMs lastHeard = 0;          ///< ms since epoch of the last message from it; 0 never

    bool hasRole(const std::string& role) const { return roles.count(role) > 0; }
    bool isAvailable() const { return status == NodeStatus::Up; }
};

} // namespace mt
