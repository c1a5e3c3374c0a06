#include "cluster/ClusterRegistry.h"

#include <gtest/gtest.h>

#include <thread>

using namespace mt;

namespace {

ClusterNode node(const std::string& name, unsigned short port)
{
    ClusterNode n;
    n.name = name;
    n.host = "127.0.0.1";
    n.httpPort = port;
    n.clusterPort = static_cast<unsigned short>(port + 100);
    n.roles = {"app"};
    return n;
}

} // namespace

TEST(ClusterRegistry, SnapshotsAreImmutable)
{
    ClusterRegistry registry({node("a", 1), node("b", 2)});
    auto before = registry.snapshot();
    registry.setStatus("a", NodeStatus::Up, 7, 1000);
    EXPECT_EQ((*before)[0].status, NodeStatus::Unknown);
    ClusterNode a;
    ASSERT_TRUE(registry.find("a", a));
    EXPECT_EQ(a.status, NodeStatus::Up);
    EXPECT_EQ(a.incarnation, 7u);
    EXPECT_EQ(a.lastHeard, 1000);
    EXPECT_FALSE(registry.find("zz", a));
}

TEST(ClusterRegistry, ListenersSeeStatusChangesOnceAndInOrder)
{
    ClusterRegistry registry({node("a", 1)});
    std::vector<std::string> seen;
    int id = registry.addListener([&](const ClusterRegistry::Change& c) {
        seen.push_back(std::string(toString(c.before.status)) + "->" + toString(c.after.status));
    });
    registry.setStatus("a", NodeStatus::Up, 1, 1);
    registry.setStatus("a", NodeStatus::Up, 1, 2); // no change, no event
    registry.setStatus("a", NodeStatus::Down, 1, 2);
    EXPECT_EQ(registry.setStatus("unknown", NodeStatus::Up, 1, 1), NodeStatus::Unknown);
    registry.removeListener(id);
    registry.setStatus("a", NodeStatus::Up, 2, 3);
    EXPECT_EQ(seen, (std::vector<std::string>{"UNKNOWN->UP", "UP->DOWN"}));
}

TEST(ClusterRegistry, TopologyChangesKeepStatusAndReportWhatChanged)
{
    ClusterRegistry registry({node("a", 1), node("b", 2)});
    registry.setStatus("a", NodeStatus::Up, 3, 10);
    auto moved = node("a", 5);
    auto changes = registry.setTopology({moved, node("c", 3)});
    ASSERT_EQ(changes.size(), 3u);
    EXPECT_EQ(changes[0].kind, ClusterRegistry::Change::Kind::Updated);
    EXPECT_EQ(changes[1].kind, ClusterRegistry::Change::Kind::Added);
    EXPECT_EQ(changes[1].after.name, "c");
    EXPECT_EQ(changes[2].kind, ClusterRegistry::Change::Kind::Removed);
    EXPECT_EQ(changes[2].before.name, "b");
    ClusterNode a;
    ASSERT_TRUE(registry.find("a", a));
    EXPECT_EQ(a.status, NodeStatus::Up);
    EXPECT_EQ(a.httpPort, 5);
    EXPECT_EQ(a.incarnation, 3u);
    EXPECT_EQ(registry.snapshot()->size(), 2u);
}

TEST(ClusterRegistry, ConcurrentWritersLoseNoUpdate)
{
    ClusterRegistry registry({node("a", 1), node("b", 2)});
    std::thread t1([&] {
        for (int i = 1; i <= 2000; ++i) registry.heard("a", 1, i);
    });
    std::thread t2([&] {
        for (int i = 1; i <= 2000; ++i) registry.heard("b", 1, i);
    });
    t1.join();
    t2.join();
    ClusterNode a, b;
    registry.find("a", a);
    registry.find("b", b);
    EXPECT_EQ(a.lastHeard, 2000);
    EXPECT_EQ(b.lastHeard, 2000);
}
