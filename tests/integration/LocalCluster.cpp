#include "LocalCluster.h"

#include <Poco/JSON/Array.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/JSON/Parser.h>
#include <Poco/TemporaryFile.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace mt::test {

namespace {

bool rangeFree(unsigned short base, int nodes)
{
    for (int i = 0; i <= nodes; ++i)
        for (int offset : {0, 100})
        {
            try
            {
                Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", static_cast<unsigned short>(base + i + offset)));
            }
            catch (const Poco::Exception&)
            {
                return false;
            }
        }
    return true;
}

/// The first port of the kernel's ephemeral (client) range.
unsigned ephemeralLow()
{
    std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
    unsigned low = 32768;
    in >> low;
    return low;
}

} // namespace

LocalCluster::LocalCluster(int appNodes, const std::vector<std::string>& defines)
{
    _dir = Poco::TemporaryFile::tempName() + "-mt-cluster";
    _nodes.push_back("lb");
    for (int i = 1; i <= appNodes; ++i) _nodes.push_back("node" + std::to_string(i));
    std::mt19937 random(std::random_device{}());
    // Below the kernel's ephemeral range: a port that some other test's client
    // connection holds (even in TIME_WAIT) cannot be bound, and with the
    // suite running two at a time there are thousands of those.
    unsigned lowest = 10000, ceiling = ephemeralLow();
    unsigned slots = ceiling > lowest + 200 + static_cast<unsigned>(appNodes) ? (ceiling - lowest - 200) / 100 : 1;
    std::string output;
    for (int attempt = 0; attempt < 20; ++attempt)
    {
        _basePort = static_cast<unsigned short>(lowest + (random() % slots) * 100);
        if (!rangeFree(_basePort, appNodes))
        {
            output = "no free port range found (last tried base " + std::to_string(_basePort) + ")";
            continue;
        }
        std::vector<std::string> args{"up", std::to_string(appNodes), "--base-port", std::to_string(_basePort)};
        args.insert(args.end(), defines.begin(), defines.end());
        if (launcher(args, output) == 0) return;
        if (output.find("in use") == std::string::npos) break; // a real failure, not a port race
    }
    std::string message = "microtomcat-cluster up failed:\n" + output;
    for (const auto& node : _nodes) message += "\n--- " + node + " ---\n" + log(node);
    launcher({"down"}, output);
    throw std::runtime_error(message);
}

LocalCluster::~LocalCluster()
{
    std::string output;
    for (const auto& node : _nodes) kill(node, SIGCONT); // a stopped process cannot handle SIGTERM
    launcher({"down"}, output);
    for (const auto& node : _nodes) kill(node, SIGKILL);
    std::error_code ignored;
    fs::remove_all(_dir, ignored);
}

unsigned short LocalCluster::httpPort(const std::string& node) const
{
    if (node == "lb") return _basePort;
    return static_cast<unsigned short>(_basePort + std::stoi(node.substr(4)));
}

int LocalCluster::pid(const std::string& node) const
{
    std::ifstream in(_dir + "/" + node + "/pid");
    int pid = -1;
    in >> pid;
    return pid;
}

int LocalCluster::launcher(const std::vector<std::string>& args, std::string& output)
{
    std::vector<std::string> all = args;
    all.push_back("--dir");
    all.push_back(_dir);
    return runCommand(std::string(MT_BUILD_DIR) + "/bin/microtomcat-cluster", all, output, std::chrono::seconds(60));
}

void LocalCluster::kill(const std::string& node, int signal)
{
    int p = pid(node);
    if (p > 0) ::kill(p, signal);
}

Poco::JSON::Object::Ptr LocalCluster::nodeSeenBy(const std::string& observer, const std::string& node)
{
    try
    {
        auto reply = httpRequest(httpPort(observer), "GET", "/cluster/nodes");
        if (reply.status != 200) return nullptr;
        auto nodes = Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>()->getArray("nodes");
        for (std::size_t i = 0; i < nodes->size(); ++i)
        {
            auto entry = nodes->getObject(static_cast<unsigned>(i));
            if (entry->getValue<std::string>("name") == node) return entry;
        }
    }
    catch (const std::exception&)
    {
    }
    return nullptr;
}

std::string LocalCluster::adminToken() const
{
    std::ifstream in(_dir + "/cluster.json");
    std::stringstream text;
    text << in.rdbuf();
    return Poco::JSON::Parser().parse(text.str()).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("adminToken");
}

HttpReply LocalCluster::reload(const std::string& node) const
{
    return httpRequest(httpPort(node), "POST", "/admin/reload", {{"Authorization", "Bearer " + adminToken()}});
}

std::string LocalCluster::statusSeenBy(const std::string& observer, const std::string& node)
{
    auto entry = nodeSeenBy(observer, node);
    return entry ? entry->getValue<std::string>("status") : "";
}

std::vector<std::string> LocalCluster::transitions(const std::string& observer, const std::string& node)
{
    return transitionsSeenAt(httpPort(observer), node);
}

std::string LocalCluster::log(const std::string& observer) const
{
    std::ifstream in(_dir + "/" + observer + "/server.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace mt::test
