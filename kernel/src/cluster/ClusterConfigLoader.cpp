#include "cluster/ClusterConfigLoader.h"

#include "cluster/ClusterConfigParser.h"

#include <algorithm>
#include <sstream>

namespace mt {

ClusterConfig ClusterConfigLoader::load(const ServerConfig& server)
{
    ClusterConfig config = ClusterConfigParser::parseFile(server.clusterConfigFile);
    config.localNode = server.nodeName;
    std::vector<std::string> errors;
    auto override = [&](const std::string& key, int& target) {
        int value = std::stoi(server.value(key)); // validated by ConfigSchema
        if (value > 0) target = value;
    };
    override("cluster.heartbeat.interval", config.heartbeatIntervalMs);
    override("cluster.heartbeat.suspectTimeout", config.suspectTimeoutMs);
    override("cluster.heartbeat.downTimeout", config.downTimeoutMs);
    if (config.suspectTimeoutMs <= config.heartbeatIntervalMs || config.downTimeoutMs < config.suspectTimeoutMs)
        errors.push_back("cluster.heartbeat.*: after overrides, interval " + std::to_string(config.heartbeatIntervalMs) +
                         " ms < suspectTimeout " + std::to_string(config.suspectTimeoutMs) + " ms <= downTimeout " +
                         std::to_string(config.downTimeoutMs) + " ms does not hold");
    if (!config.find(config.localNode))
    {
        std::string names;
        for (const auto& n : config.nodes) names += (names.empty() ? "" : ", ") + n.name;
        errors.push_back(config.file + ": this node '" + config.localNode + "' (node.name / --node-name) is not one of its <node> elements (" +
                         names + ")");
    }
    if (!errors.empty())
    {
        std::string message = "invalid cluster configuration:";
        for (const auto& e : errors) message += "\n  " + e;
        throw ConfigError(message);
    }
    return config;
}

std::string ClusterConfigLoader::table(const std::vector<ClusterNode>& nodes, const std::string& localNode)
{
    std::vector<std::vector<std::string>> rows{{"NAME", "HTTP", "CLUSTER", "ROLES", "WEIGHT", "STATUS"}};
    for (const auto& n : nodes)
    {
        std::string roles;
        for (const auto& r : n.roles) roles += (roles.empty() ? "" : ",") + r;
        rows.push_back({n.name + (n.name == localNode ? " (self)" : ""), n.host + ":" + std::to_string(n.httpPort),
                        n.host + ":" + std::to_string(n.clusterPort), roles, std::to_string(n.weight),
                        toString(n.status)});
    }
    std::vector<std::size_t> widths(rows[0].size(), 0);
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    std::ostringstream out;
    for (const auto& row : rows)
    {
        for (std::size_t i = 0; i < row.size(); ++i)
        {
            out << row[i];
            if (i + 1 < row.size()) out << std::string(widths[i] - row[i].size() + 2, ' ');
        }
        out << "\n";
    }
    return out.str();
}

} // namespace mt
