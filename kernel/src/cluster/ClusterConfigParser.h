#pragma once
// Reads cluster-config.xml (Poco's SAX parser, so every problem can name
// its element and line) into a ClusterConfig. Checks the file's own
// consistency; whether this node is in it is ClusterConfigLoader's business.
//
//   <cluster name="local" secret="...">
//     <heartbeat interval="200" suspectTimeout="600" downTimeout="1000" phiThreshold="8"/>
//     <transport maxFrameBytes="1048576" connectTimeout="500" reconnectMin="50" reconnectMax="2000"/>
//     <node name="node1" host="127.0.0.1" httpPort="8081" clusterPort="9081" roles="app" weight="1"/>
//   </cluster>

#include "cluster/ClusterConfig.h"

#include <string>

namespace mt {

class ClusterConfigParser
{
public:
    /// Throws ConfigError listing every problem, each as "file:line: <element>: what is wrong: what is allowed".
    static ClusterConfig parseFile(const std::string& path);
    static ClusterConfig parse(const std::string& xml, const std::string& fileName);
};

} // namespace mt
