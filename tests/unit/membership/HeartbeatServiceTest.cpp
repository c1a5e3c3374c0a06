// Three DefaultHeartbeatService instances on real threads and the system
// clock, wired through a fake transport that calls the receiver directly. A
// node can be "crashed" (its messages dropped both ways, no Leave) or stopped
// gracefully, and restarted with a higher incarnation.

#include "cluster/DefaultFailureDetector.h"
#include "cluster/DefaultHeartbeatService.h"

#include "MembershipTestSupport.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <thread>

using namespace mt;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr int intervalMs = 20;
constexpr int suspectMs = 100;
constexpr int downMs = 200;

class FakeNetwork
{
public:
    void attach(const std::string& name, HeartbeatService* service)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _endpoints[name] = service;
    }
    /// A crashed or hung node: nothing it sends arrives, nothing reaches it.
    void cut(const std::string& name, bool cut)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (cut)
            _cut.insert(name);
        else
            _cut.erase(name);
    }
    void deliver(const std::string& to, const ClusterMessage& message)
    {
        HeartbeatService* target = nullptr;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            ++_sent[to];
            if (_cut.count(message.sender) || _cut.count(to)) return;
            auto it = _endpoints.find(to);
            if (it != _endpoints.end()) target = it->second;
        }
        // Outside the lock: the receiver may answer (a Join gets a Heartbeat back).
        if (target) target->onMessage(message);
    }
    int sentTo(const std::string& name)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _sent[name];
    }

private:
    std::mutex _mutex;
    std::map<std::string, HeartbeatService*> _endpoints;
    std::set<std::string> _cut;
    std::map<std::string, int> _sent;
};

class FakeTransport : public ClusterTransport
{
public:
    explicit FakeTransport(FakeNetwork& network) : _network(network) {}
    void setReceiver(Receiver) override {}
    void setPeers(const std::vector<ClusterNode>&) override {}
    void start() override {}
    void stop() override {}
    void send(const std::string& nodeName, const ClusterMessage& message) override { _network.deliver(nodeName, message); }

private:
    FakeNetwork& _network;
};

/// Everything one node runs, as the server wires it.
struct TestNode
{
    TestNode(FakeNetwork& network, const std::string& name, std::uint64_t incarnation)
        : config(test::threeNodeConfig(name, intervalMs, suspectMs, downMs)), registry(config.nodes),
          detector(config), logger(test::capturingLogger("membership.test.hb." + name + "." + std::to_string(incarnation), channel)),
          status(registry, detector, name, logger), transport(network),
          service(config, transport, status, registry, clock, incarnation, logger)
    {
        network.attach(name, &service);
    }
    ~TestNode() { service.stop(); }

    NodeStatus statusOf(const std::string& node) const
    {
        ClusterNode n;
        return registry.find(node, n) ? n.status : NodeStatus::Unknown;
    }
    std::uint64_t incarnationOf(const std::string& node) const
    {
        ClusterNode n;
        registry.find(node, n);
        return n.incarnation;
    }

    ClusterConfig config;
    ClusterRegistry registry;
    DefaultFailureDetector detector;
    Poco::AutoPtr<test::CapturingChannel> channel;
    Poco::Logger& logger;
    NodeStatusManager status;
    SystemClock clock;
    FakeTransport transport;
    DefaultHeartbeatService service;
};

/// Polls until `condition` holds or the deadline passes; returns how long it took.
std::chrono::milliseconds waitFor(const std::function<bool()>& condition,
                                  std::chrono::milliseconds deadline = std::chrono::milliseconds(3'000))
{
    const auto start = SteadyClock::now();
    while (!condition() && SteadyClock::now() - start < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
}

class HeartbeatServiceTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        for (const char* name : {"node1", "node2", "node3"})
            nodes[name] = std::make_unique<TestNode>(network, name, 1);
        for (auto& n : nodes) n.second->service.start();
    }
    void TearDown() override
    {
        // Every thread stops before any node is destroyed: no call reaches a dead one.
        for (auto& n : nodes) n.second->service.stop();
        for (auto& n : retired) n->service.stop();
    }
    bool allSee(const std::vector<std::string>& observers, const std::string& node, NodeStatus status)
    {
        for (const auto& o : observers)
            if (nodes[o]->statusOf(node) != status) return false;
        return true;
    }
    void waitAllUp()
    {
        auto took = waitFor([&] {
            return allSee({"node2", "node3"}, "node1", NodeStatus::Up) &&
                   allSee({"node1", "node3"}, "node2", NodeStatus::Up) &&
                   allSee({"node1", "node2"}, "node3", NodeStatus::Up);
        });
        ASSERT_TRUE(allSee({"node1", "node2"}, "node3", NodeStatus::Up) &&
                    allSee({"node1", "node3"}, "node2", NodeStatus::Up) &&
                    allSee({"node2", "node3"}, "node1", NodeStatus::Up))
            << "not all UP after " << took.count() << " ms";
    }
    /// The last event about `node` in `observer`'s log.
    NodeEvent lastEvent(const std::string& observer, const std::string& node)
    {
        NodeEvent last;
        for (const auto& e : nodes[observer]->status.eventsSince(0).events)
            if (e.node == node) last = e;
        return last;
    }

    FakeNetwork network;
    std::map<std::string, std::unique_ptr<TestNode>> nodes;
    std::vector<std::unique_ptr<TestNode>> retired; ///< replaced by a restart; kept until teardown
};

} // namespace

TEST_F(HeartbeatServiceTest, everyNodeSeesTheOthersUp)
{
    waitAllUp();
    EXPECT_EQ(nodes["node1"]->statusOf("node1"), NodeStatus::Up) << "its own entry too";
    // The Join was answered at once, so each node is UP in the others' logs as
    // their first event about it.
    EXPECT_EQ(lastEvent("node1", "node2").from, NodeStatus::Unknown);
}

TEST_F(HeartbeatServiceTest, aCrashedNodeIsMarkedDownWithinTheBound)
{
    waitAllUp();
    network.cut("node3", true);
    const auto took = waitFor([&] { return allSee({"node1", "node2"}, "node3", NodeStatus::Down); });
    std::cout << "crashed node3 marked DOWN by both after " << took.count() << " ms (down timeout " << downMs
              << ", interval " << intervalMs << ")" << std::endl;
    ASSERT_TRUE(allSee({"node1", "node2"}, "node3", NodeStatus::Down));
    for (const char* observer : {"node1", "node2"})
    {
        // Measured in the observer's own terms: from the last heartbeat heard to the DOWN event.
        ClusterNode n;
        nodes[observer]->registry.find("node3", n);
        const NodeEvent down = lastEvent(observer, "node3");
        EXPECT_EQ(down.to, NodeStatus::Down);
        EXPECT_GT(down.time - n.lastHeard, downMs);
        EXPECT_LE(down.time - n.lastHeard, downMs + intervalMs + 30) << observer << ": " << down.reason;
    }
    EXPECT_LT(took.count(), downMs + 2 * intervalMs + 200);

    // It comes back (SIGCONT): UP at its next heartbeat, same incarnation.
    network.cut("node3", false);
    waitFor([&] { return allSee({"node1", "node2"}, "node3", NodeStatus::Up); });
    EXPECT_TRUE(allSee({"node1", "node2"}, "node3", NodeStatus::Up));
}

TEST_F(HeartbeatServiceTest, aGracefulStopIsLeftAtOnceAndStaysLeft)
{
    waitAllUp();
    nodes["node2"]->service.stop();
    // The Leave was delivered before stop() returned: no timeout involved.
    EXPECT_TRUE(allSee({"node1", "node3"}, "node2", NodeStatus::Left));
    // Watch for longer than the down timeout: LEFT does not decay into DOWN.
    waitFor([] { return false; }, std::chrono::milliseconds(downMs + 3 * intervalMs));
    EXPECT_TRUE(allSee({"node1", "node3"}, "node2", NodeStatus::Left));
    EXPECT_EQ(lastEvent("node1", "node2").from, NodeStatus::Up);
    nodes["node2"]->service.stop(); // idempotent
}

TEST_F(HeartbeatServiceTest, aRestartWithAHigherIncarnationIsUpAtOnce)
{
    waitAllUp();
    network.cut("node3", true); // kill -9: no Leave
    waitFor([&] { return allSee({"node1", "node2"}, "node3", NodeStatus::Down); });
    ASSERT_TRUE(allSee({"node1", "node2"}, "node3", NodeStatus::Down));
    nodes["node3"]->service.stop();
    retired.push_back(std::move(nodes["node3"]));
    network.cut("node3", false);

    nodes["node3"] = std::make_unique<TestNode>(network, "node3", 2);
    nodes["node3"]->service.start();
    // The Join is handled before start() returns here (direct delivery): UP without any timeout.
    EXPECT_TRUE(allSee({"node1", "node2"}, "node3", NodeStatus::Up));
    EXPECT_EQ(nodes["node1"]->incarnationOf("node3"), 2u);
    EXPECT_EQ(lastEvent("node1", "node3").reason, "rejoined with incarnation 2 (was 1)");
    // And the restarted node learned about the others from their answers to its Join.
    EXPECT_TRUE(nodes["node3"]->statusOf("node1") == NodeStatus::Up && nodes["node3"]->statusOf("node2") == NodeStatus::Up);
}

TEST_F(HeartbeatServiceTest, unknownSendersAreWarnedAboutOnceAndIgnored)
{
    ClusterMessage m;
    m.sender = "intruder";
    m.incarnation = 7;
    for (int i = 0; i < 5; ++i) nodes["node1"]->service.onMessage(m);
    EXPECT_EQ(nodes["node1"]->channel->matching("unknown node 'intruder'").size(), 1u);
    EXPECT_EQ(nodes["node1"]->status.eventsSince(0).events.size(),
              nodes["node1"]->status.eventsSince(0).latest) << "no event for it";
    for (const auto& e : nodes["node1"]->status.eventsSince(0).events) EXPECT_NE(e.node, "intruder");
}

TEST_F(HeartbeatServiceTest, peersComeFromTheRegistryAndEachRoundIsLoggedAtDebug)
{
    TestNode& n1 = *nodes["node1"];
    n1.logger.setLevel(Poco::Message::PRIO_DEBUG);
    auto topology = n1.config.nodes;
    ClusterNode node4 = topology.back();
    node4.name = "node4";
    topology.push_back(node4);
    n1.registry.setTopology(topology); // a reload added node4
    waitFor([&] { return network.sentTo("node4") >= 2; });
    EXPECT_GE(network.sentTo("node4"), 2);
    waitFor([&] { return !n1.channel->matching("sent to 3 peers").empty(); });
    const auto rounds = n1.channel->matching("sent to 3 peers");
    ASSERT_FALSE(rounds.empty());
    EXPECT_NE(rounds.back().text.find("node2 UP phi"), std::string::npos) << rounds.back().text;
    EXPECT_NE(rounds.back().text.find("node4 UNKNOWN never heard"), std::string::npos) << rounds.back().text;
}
