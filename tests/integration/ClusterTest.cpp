// Membership with real processes: the launcher starts 3 app nodes and the
// balancer; nodes are killed, hung, restarted and stopped under the test.
#include "LocalCluster.h"

#include <gtest/gtest.h>

#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <sstream>
#include <regex>
#include <thread>

using namespace mt::test;
using namespace std::chrono_literals;

namespace {

// Defaults: heartbeat 200 ms, DOWN after 1000 ms of silence. The bound
// allows for a loaded 2-core CI machine.
constexpr auto kDetectionBound = 3s;

int countLines(const std::string& log, const std::string& pattern)
{
    std::regex re(pattern);
    return static_cast<int>(std::distance(std::sregex_iterator(log.begin(), log.end(), re), std::sregex_iterator()));
}

/// The transitions with any SUSPECT step removed: whether a node passes
/// through SUSPECT on its way DOWN depends on timing.
std::vector<std::string> withoutSuspect(const std::vector<std::string>& transitions)
{
    std::vector<std::string> result;
    std::string from;
    for (const auto& t : transitions)
    {
        auto arrow = t.find("->");
        std::string a = t.substr(0, arrow), b = t.substr(arrow + 2);
        if (b == "SUSPECT")
        {
            if (from.empty()) from = a;
            continue;
        }
        result.push_back((from.empty() ? a : from) + "->" + b);
        from.clear();
    }
    return result;
}

} // namespace

TEST(Cluster, LauncherStartsEveryNodeAndReportsThemUp)
{
    LocalCluster cluster(3);
    std::string output;
    ASSERT_EQ(cluster.launcher({"status"}, output), 0) << output;
    for (const auto& node : cluster.nodes())
        EXPECT_NE(output.find(node), std::string::npos) << output;
    EXPECT_EQ(countLines(output, "  UP  \\(sees:"), 4) << output;
    for (const auto& observer : cluster.nodes())
        for (const auto& node : cluster.nodes()) EXPECT_EQ(cluster.statusSeenBy(observer, node), "UP") << observer << " on " << node;
    // Every node printed the cluster table at start.
    EXPECT_NE(cluster.log("node1").find("node2"), std::string::npos);
    EXPECT_NE(cluster.log("node1").find("node1 (self)"), std::string::npos) << cluster.log("node1");
    // top -H and perf tell a node's cluster threads apart; only the main thread is left unnamed.
    for (const auto& node : cluster.nodes())
    {
        // Asking for the status starts the thread that fetches the peers'
        // figures; it carries its creator's name until it has named itself.
        ASSERT_EQ(httpRequest(cluster.httpPort(node), "GET", "/cluster/status").status, 200) << node;
        std::vector<std::string> names;
        auto named = [&](const std::string& name) { return std::count(names.begin(), names.end(), name); };
        EXPECT_TRUE(waitUntil(
            [&] {
                names = threadNamesOf(cluster.pid(node));
                return named("status-peers") == 1;
            },
            std::chrono::seconds(5)))
            << node;
        EXPECT_EQ(named("heartbeat"), 1) << node;
        EXPECT_EQ(named("cluster-io"), 1) << node;
        EXPECT_EQ(named("balancer-tick"), node == "lb" ? 1 : 0) << node;
        EXPECT_EQ(named("microtomcat"), kThreadsNamedAfterTheExecutable) << node;
    }
}

TEST(Cluster, KillNineIsDetectedDownWithinTheBoundByEveryPeer)
{
    LocalCluster cluster(3);
    auto killed = std::chrono::steady_clock::now();
    cluster.kill("node3", SIGKILL);
    for (const auto& observer : {"node1", "node2", "lb"})
    {
        EXPECT_TRUE(waitUntil([&] { return cluster.statusSeenBy(observer, "node3") == "DOWN"; }, kDetectionBound + 2s))
            << observer << " still sees node3 " << cluster.statusSeenBy(observer, "node3");
    }
    auto detected = std::chrono::steady_clock::now() - killed;
    EXPECT_LT(detected, kDetectionBound) << std::chrono::duration_cast<std::chrono::milliseconds>(detected).count() << " ms";
    for (const auto& observer : {"node1", "node2"})
    {
        EXPECT_EQ(withoutSuspect(cluster.transitions(observer, "node3")), (std::vector<std::string>{"UNKNOWN->UP", "UP->DOWN"}))
            << observer;
        EXPECT_EQ(countLines(cluster.log(observer), "node3: (UP|SUSPECT) -> DOWN"), 1) << cluster.log(observer);
    }
}

TEST(Cluster, AHungNodeIsDownAndComesBackUpWhenItResumes)
{
    LocalCluster cluster(3);
    cluster.kill("node2", SIGSTOP);
    EXPECT_TRUE(waitUntil([&] { return cluster.statusSeenBy("node1", "node2") == "DOWN"; }, kDetectionBound + 2s));
    EXPECT_TRUE(waitUntil([&] { return cluster.statusSeenBy("node3", "node2") == "DOWN"; }, 3s));
    cluster.kill("node2", SIGCONT);
    EXPECT_TRUE(waitUntil([&] { return cluster.statusSeenBy("node1", "node2") == "UP"; }, 5s));
    EXPECT_TRUE(waitUntil([&] { return cluster.statusSeenBy("node3", "node2") == "UP"; }, 5s));
    EXPECT_EQ(withoutSuspect(cluster.transitions("node1", "node2")),
              (std::vector<std::string>{"UNKNOWN->UP", "UP->DOWN", "DOWN->UP"}));
    EXPECT_EQ(countLines(cluster.log("node1"), "node2: DOWN -> UP"), 1) << cluster.log("node1");
}

TEST(Cluster, ARestartedNodeRejoinsWithAHigherIncarnation)
{
    LocalCluster cluster(3);
    auto before = cluster.nodeSeenBy("node1", "node3")->getValue<std::uint64_t>("incarnation");
    cluster.kill("node3", SIGKILL);
    ASSERT_TRUE(waitUntil([&] { return cluster.statusSeenBy("node1", "node3") == "DOWN"; }, kDetectionBound + 2s));
    std::string output;
    ASSERT_EQ(cluster.launcher({"start", "node3"}, output), 0) << output;
    EXPECT_TRUE(waitUntil([&] { return cluster.statusSeenBy("node1", "node3") == "UP"; }, 10s)) << cluster.log("node3");
    EXPECT_TRUE(waitUntil([&] { return cluster.statusSeenBy("node2", "node3") == "UP"; }, 5s));
    auto after = cluster.nodeSeenBy("node1", "node3")->getValue<std::uint64_t>("incarnation");
    EXPECT_GT(after, before);
    // The restarted node sees everyone again.
    EXPECT_TRUE(waitUntil([&] { return cluster.statusSeenBy("node3", "node1") == "UP"; }, 5s));
}

TEST(Cluster, AGracefulStopIsLeftAtOnceNotDown)
{
    LocalCluster cluster(3);
    std::string output;
    ASSERT_EQ(cluster.launcher({"stop", "node3"}, output), 0) << output;
    EXPECT_TRUE(waitUntil([&] { return cluster.statusSeenBy("node1", "node3") == "LEFT"; }, 2s));
    EXPECT_TRUE(waitUntil([&] { return cluster.statusSeenBy("node2", "node3") == "LEFT"; }, 2s));
    // Stays LEFT: the detector does not turn a node that left into DOWN.
    auto deadline = std::chrono::steady_clock::now() + 1500ms;
    while (std::chrono::steady_clock::now() < deadline)
    {
        ASSERT_EQ(cluster.statusSeenBy("node1", "node3"), "LEFT");
        std::this_thread::sleep_for(100ms); // sampling over a window, not synchronising
    }
    EXPECT_EQ(cluster.transitions("node1", "node3"), (std::vector<std::string>{"UNKNOWN->UP", "UP->LEFT"}));
    EXPECT_EQ(countLines(cluster.log("node1"), "node3: UP -> LEFT"), 1) << cluster.log("node1");
}

TEST(Cluster, EditingTheClusterFileAndReloadingChangesTheTopologyLive)
{
    LocalCluster cluster(2);
    std::string file = cluster.dir() + "/cluster-config.xml";
    std::string xml;
    {
        std::ifstream in(file);
        std::stringstream s;
        s << in.rdbuf();
        xml = s.str();
    }
    // Add node9 (not running), remove node2.
    std::string edited = xml;
    auto node2 = edited.find("  <node name=\"node2\"");
    ASSERT_NE(node2, std::string::npos) << xml;
    edited.erase(node2, edited.find('\n', node2) - node2 + 1);
    edited = std::regex_replace(edited, std::regex("</cluster>"),
                                "  <node name=\"node9\" host=\"127.0.0.1\" httpPort=\"1\" clusterPort=\"2\" roles=\"app\"/>\n</cluster>");
    std::ofstream(file) << edited;

    auto reply = cluster.reload("node1");
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_NE(reply.body.find("node added: node9"), std::string::npos) << reply.body;
    EXPECT_NE(reply.body.find("node removed: node2"), std::string::npos) << reply.body;
    EXPECT_EQ(cluster.statusSeenBy("node1", "node9"), "UNKNOWN");
    EXPECT_EQ(cluster.nodeSeenBy("node1", "node2"), nullptr);
    EXPECT_EQ(cluster.statusSeenBy("node1", "lb"), "UP");

    // A changed secret needs a restart: refused, nothing changes.
    std::ofstream(file) << std::regex_replace(edited, std::regex("secret=\"[^\"]*\""), "secret=\"another-secret-of-enough-length\"");
    auto refused = cluster.reload("node1");
    EXPECT_EQ(refused.status, 400) << refused.body;
    EXPECT_NE(refused.body.find("need a restart"), std::string::npos) << refused.body;
    auto report = Poco::JSON::Parser().parse(refused.body).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(report->getValue<std::string>("status"), "refused");
    ASSERT_TRUE(report->getArray("changed")) << "a refusal says what changed: nothing";
    EXPECT_EQ(report->getArray("changed")->size(), 0u);
    EXPECT_EQ(cluster.statusSeenBy("node1", "lb"), "UP");

    // Nothing else in that reload applies either: here the balancer's strategy.
    std::ofstream(cluster.dir() + "/lb/server.properties", std::ios::app) << "balancer.strategy=leastconn\n";
    refused = cluster.reload("lb");
    EXPECT_EQ(refused.status, 400) << refused.body;
    auto balancer = httpRequest(cluster.httpPort("lb"), "GET", "/cluster/balancer");
    ASSERT_EQ(balancer.status, 200) << balancer.body;
    EXPECT_EQ(Poco::JSON::Parser().parse(balancer.body).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("strategy"),
              "roundrobin")
        << balancer.body;
}
