// Membership filtering, stickiness, ejection and slow start, simulated time.
#include "SmoothWeightedRoundRobin.h"
#include "balancer/BalancerCore.h"
#include "balancer/OutlierDetector.h"
#include "balancer/SlowStart.h"

#include "LeastConnections.h"
#include "RendezvousHash.h"

#include <gtest/gtest.h>

#include <map>

using namespace mt;
using namespace mt::balancer;

namespace {

ClusterNode app(const std::string& name, NodeStatus status = NodeStatus::Up)
{
    ClusterNode n;
    n.name = name;
    n.host = "127.0.0.1";
    n.roles = {"app"};
    n.status = status;
    return n;
}

std::unique_ptr<BalancerCore> makeCore(std::shared_ptr<LoadBalancer> strategy = std::make_shared<lb::SmoothWeightedRoundRobin>())
{
    BalancerCore::Settings s;
    s.slowStartMs = 10000;
    s.outlier.consecutiveFailures = 3;
    s.outlier.baseTimeMs = 1000;
    s.outlier.maxPercent = 50;
    auto core = std::make_unique<BalancerCore>(s);
    core->setStrategy(std::move(strategy));
    return core;
}

} // namespace

TEST(BalancerCore, NeverSelectsANodeThatIsNotUp)
{
    for (auto strategy : std::vector<std::shared_ptr<LoadBalancer>>{std::make_shared<lb::SmoothWeightedRoundRobin>(),
                                                                    std::make_shared<lb::LeastConnections>(),
                                                                    std::make_shared<lb::RendezvousHash>()})
    {
        auto corePtr = makeCore(strategy);
        BalancerCore& core = *corePtr;
        ClusterNode balancer = app("lb");
        balancer.roles = {"balancer"};
        core.setMembers({balancer, app("up1"), app("down", NodeStatus::Down), app("suspect", NodeStatus::Suspect),
                         app("left", NodeStatus::Left), app("unknown", NodeStatus::Unknown), app("up2")},
                        1000);
        std::map<std::string, int> hits;
        for (int i = 0; i < 1000; ++i)
        {
            LbRequest r;
            r.clientIp = "10.0.0." + std::to_string(i % 250);
            r.route = i % 2 ? "down" : "suspect"; // even a sticky session does not reach them
            ++hits[core.select(r)];
        }
        EXPECT_EQ(hits.size(), 2u);
        EXPECT_GT(hits["up1"], 0);
        EXPECT_GT(hits["up2"], 0);
    }
}

TEST(BalancerCore, StickyByRouteWhateverTheStrategy)
{
    auto corePtr = makeCore();
    BalancerCore& core = *corePtr;
    core.setMembers({app("node1"), app("node2"), app("node3")}, 1000);
    LbRequest r;
    r.sessionId = "abc";
    r.route = "node2";
    for (int i = 0; i < 50; ++i) EXPECT_EQ(core.select(r), "node2");
    // The route node goes DOWN: another node, and back to it when it is UP again.
    core.setMembers({app("node1"), app("node2", NodeStatus::Down), app("node3")}, 2000);
    for (int i = 0; i < 10; ++i) EXPECT_NE(core.select(r), "node2");
    core.setMembers({app("node1"), app("node2"), app("node3")}, 3000);
    EXPECT_EQ(core.select(r), "node2");
    // A retry that excluded it goes elsewhere; an unknown route is ignored.
    r.exclude = {"node2"};
    EXPECT_NE(core.select(r), "node2");
    r.exclude.clear();
    r.route = "nodeX";
    EXPECT_NE(core.select(r), "");
}

TEST(BalancerCore, DownNodesAreReportedSoTheirConnectionsClose)
{
    auto corePtr = makeCore();
    BalancerCore& core = *corePtr;
    core.setMembers({app("node1"), app("node2")}, 1000);
    auto lost = core.setMembers({app("node1"), app("node2", NodeStatus::Suspect)}, 2000);
    ASSERT_EQ(lost.size(), 1u);
    EXPECT_EQ(lost[0], "node2");
}

TEST(BalancerCore, EjectsAfterConsecutiveFailuresForAGrowingInterval)
{
    auto corePtr = makeCore();
    BalancerCore& core = *corePtr;
    core.setMembers({app("node1"), app("node2"), app("node3")}, 1000);
    EXPECT_FALSE(core.onFailure("node1", 1000));
    core.onSuccess("node1"); // a success resets the count
    EXPECT_FALSE(core.onFailure("node1", 1000));
    EXPECT_FALSE(core.onFailure("node1", 1000));
    EXPECT_TRUE(core.onFailure("node1", 1000));
    EXPECT_TRUE(core.ejected("node1"));
    EXPECT_FALSE(core.selectable("node1"));
    core.tick(1999);
    EXPECT_TRUE(core.ejected("node1"));
    core.tick(2000); // 1 x base
    EXPECT_FALSE(core.ejected("node1"));
    EXPECT_TRUE(core.selectable("node1"));
    for (int i = 0; i < 3; ++i) core.onFailure("node1", 2500);
    EXPECT_TRUE(core.ejected("node1"));
    core.tick(4000);
    EXPECT_TRUE(core.ejected("node1")); // the second one lasts 2 x base
    core.tick(4500);
    EXPECT_FALSE(core.ejected("node1"));
    EXPECT_EQ(core.ejections("node1"), 2);
}

TEST(OutlierDetector, NeverEjectsAllNodes)
{
    for (int maxPercent : {50, 100})
        for (int n : {1, 2, 3, 5})
        {
            OutlierDetector::Settings s;
            s.consecutiveFailures = 1;
            s.maxPercent = maxPercent;
            OutlierDetector detector(s);
            std::vector<std::string> nodes;
            for (int i = 0; i < n; ++i) nodes.push_back("n" + std::to_string(i));
            detector.setNodes(nodes);
            int ejected = 0;
            for (int round = 0; round < 3; ++round)
                for (const auto& name : nodes) ejected += detector.onFailure(name, 1000) ? 1 : 0;
            EXPECT_LT(ejected, n) << n << " nodes, " << maxPercent << "%";
            EXPECT_LE(ejected * 100, n * maxPercent);
        }
}

TEST(SlowStart, RampsLinearlyFromTenPercent)
{
    EXPECT_EQ(SlowStart::weight(1, 0, 5000, 10000), 100); // never left: full
    EXPECT_EQ(SlowStart::weight(1, 1000, 1000, 10000), 10);
    EXPECT_EQ(SlowStart::weight(1, 1000, 6000, 10000), 50);
    EXPECT_EQ(SlowStart::weight(2, 1000, 6000, 10000), 100);
    EXPECT_EQ(SlowStart::weight(1, 1000, 11000, 10000), 100);
    EXPECT_EQ(SlowStart::weight(1, 1000, 1000, 0), 100); // disabled
}

TEST(BalancerCore, ANodeThatComesBackRampsUp)
{
    auto corePtr = makeCore();
    BalancerCore& core = *corePtr;
    core.setMembers({app("node1"), app("node2")}, 1000);
    EXPECT_EQ(core.weight("node2"), 100); // the first UP is not a return
    core.setMembers({app("node1"), app("node2", NodeStatus::Down)}, 2000);
    EXPECT_EQ(core.weight("node2"), 0);
    core.setMembers({app("node1"), app("node2")}, 3000);
    EXPECT_EQ(core.weight("node2"), 10);
    core.tick(8000);
    EXPECT_EQ(core.weight("node2"), 50);
    core.tick(13000);
    EXPECT_EQ(core.weight("node2"), 100);
    // And the strategy sees the ramp: during the first second node2 gets about 10/110 of the picks.
    core.setMembers({app("node1"), app("node2", NodeStatus::Down)}, 14000);
    core.setMembers({app("node1"), app("node2")}, 15000);
    int node2 = 0;
    for (int i = 0; i < 1100; ++i) node2 += core.select(LbRequest()) == "node2" ? 1 : 0;
    EXPECT_EQ(node2, 100);
}
