#pragma once
// A local cluster for integration tests, started and stopped with the same
// launcher users run (build/bin/microtomcat-cluster), on free loopback ports,
// in a private directory. The destructor stops every process it started.

#include "ServerProcess.h"

#include <Poco/JSON/Object.h>

#include <map>
#include <string>
#include <vector>

namespace mt::test {

class LocalCluster
{
public:
    /// Starts `appNodes` app nodes and the balancer; throws with the launcher's output if that fails.
    explicit LocalCluster(int appNodes, const std::vector<std::string>& defines = {});
    ~LocalCluster();

    const std::string& dir() const { return _dir; }
    unsigned short httpPort(const std::string& node) const;
    int pid(const std::string& node) const;
    std::vector<std::string> nodes() const { return _nodes; }

    /// The admin token the launcher gave every node.
    std::string adminToken() const;
    /// POST /admin/reload to `node`, with that token.
    HttpReply reload(const std::string& node) const;

    /// Runs the launcher with these arguments (plus --dir); returns its exit code.
    int launcher(const std::vector<std::string>& args, std::string& output);
    void kill(const std::string& node, int signal);

    /// What `observer` says of `node`'s status ("" if it does not answer).
    std::string statusSeenBy(const std::string& observer, const std::string& node);
    Poco::JSON::Object::Ptr nodeSeenBy(const std::string& observer, const std::string& node);
    /// The observer's event log entries about `node`: "FROM->TO" in order.
    std::vector<std::string> transitions(const std::string& observer, const std::string& node);
    /// The observer's log file.
    std::string log(const std::string& observer) const;

private:
    std::string _dir;
    unsigned short _basePort = 0;
    std::vector<std::string> _nodes;
};

} // namespace mt::test
