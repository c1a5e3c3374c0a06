#pragma once
// Merges cluster-config.xml with this node's start-up settings: which node it
// is (node.name / --node-name) and single-value overrides from
// server.properties or -D (cluster.heartbeat.*). Checks that this node is in
// the file.

#include "cluster/ClusterConfig.h"
#include "config/ServerConfig.h"

namespace mt {

class ClusterConfigLoader
{
public:
    /// Throws ConfigError naming the file, element and line, or the overriding key.
    static ClusterConfig load(const ServerConfig& server);
    /// Renders the cluster as the table every node prints at start.
    static std::string table(const std::vector<ClusterNode>& nodes, const std::string& localNode);
};

} // namespace mt
