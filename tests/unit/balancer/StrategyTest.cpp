// The three strategies as pure logic: nginx's smooth WRR sequence, least
// connections preferring the idle node, and consistent hashing moving only
// the keys of the node that left.
#include "LeastConnections.h"
#include "RendezvousHash.h"
#include "SmoothWeightedRoundRobin.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

using namespace mt;

namespace {

LbNode node(const std::string& name, int weight = 100)
{
    LbNode n;
    n.node.name = name;
    n.node.status = NodeStatus::Up;
    n.weight = weight;
    return n;
}

std::string sequence(LoadBalancer& lb, int n)
{
    std::string s;
    LbRequest request;
    for (int i = 0; i < n; ++i) s += lb.selectNode(request);
    return s;
}

} // namespace

TEST(SmoothWeightedRoundRobin, Weights511GiveNginxSequence)
{
    lb::SmoothWeightedRoundRobin rr;
    rr.setNodes({node("a", 5), node("b", 1), node("c", 1)});
    EXPECT_EQ(sequence(rr, 7), "aabacaa");
    EXPECT_EQ(sequence(rr, 7), "aabacaa"); // and it repeats
}

TEST(SmoothWeightedRoundRobin, ScaledWeightsGiveTheSameSequence)
{
    lb::SmoothWeightedRoundRobin rr;
    rr.setNodes({node("a", 500), node("b", 100), node("c", 100)});
    EXPECT_EQ(sequence(rr, 14), "aabacaaaabacaa");
}

TEST(SmoothWeightedRoundRobin, EqualWeightsRotateAndExcludeIsHonoured)
{
    lb::SmoothWeightedRoundRobin rr;
    rr.setNodes({node("a"), node("b"), node("c")});
    EXPECT_EQ(sequence(rr, 6), "abcabc");
    LbRequest request;
    request.exclude = {"a", "b"};
    for (int i = 0; i < 5; ++i) EXPECT_EQ(rr.selectNode(request), "c");
    request.exclude = {"a", "b", "c"};
    EXPECT_EQ(rr.selectNode(request), "");
}

TEST(SmoothWeightedRoundRobin, EmptyGivesNothing)
{
    lb::SmoothWeightedRoundRobin rr;
    EXPECT_EQ(rr.selectNode(LbRequest()), "");
}

TEST(LeastConnections, PrefersTheIdleNode)
{
    lb::LeastConnections lc;
    lc.setNodes({node("a"), node("b"), node("c")});
    lc.requestStarted("a");
    lc.requestStarted("a");
    lc.requestStarted("b");
    for (int i = 0; i < 5; ++i) EXPECT_EQ(lc.selectNode(LbRequest()), "c");
    lc.requestStarted("c");
    lc.requestStarted("c");
    EXPECT_EQ(lc.selectNode(LbRequest()), "b");
    lc.requestFinished("a");
    lc.requestFinished("a");
    EXPECT_EQ(lc.selectNode(LbRequest()), "a");
    EXPECT_EQ(lc.active("a"), 0);
}

TEST(LeastConnections, EqualLoadsTakeTurnsAndWeightsCount)
{
    lb::LeastConnections lc;
    lc.setNodes({node("a"), node("b")});
    std::map<std::string, int> hits;
    for (int i = 0; i < 100; ++i) ++hits[lc.selectNode(LbRequest())];
    EXPECT_EQ(hits["a"], 50);
    EXPECT_EQ(hits["b"], 50);
    // A slow-starting node (weight 10 of 100) with one request counts as far busier.
    lc.setNodes({node("a", 100), node("b", 10)});
    lc.requestStarted("a");
    lc.requestStarted("b");
    EXPECT_EQ(lc.selectNode(LbRequest()), "a");
}

TEST(RendezvousHash, RemovingOneOfFiveMovesOnlyItsKeys)
{
    lb::RendezvousHash hash;
    hash.setNodes({node("n1"), node("n2"), node("n3"), node("n4"), node("n5")});
    const int keys = 100000;
    std::vector<std::string> before(keys);
    std::map<std::string, int> perNode;
    for (int i = 0; i < keys; ++i)
    {
        before[i] = hash.nodeFor("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + "#" + std::to_string(i));
        ++perNode[before[i]];
    }
    for (const auto& [name, count] : perNode) EXPECT_NEAR(count, keys / 5, keys / 50) << name; // balanced within 2 %
    hash.setNodes({node("n1"), node("n2"), node("n4"), node("n5")});
    int moved = 0;
    for (int i = 0; i < keys; ++i)
    {
        std::string after = hash.nodeFor("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + "#" + std::to_string(i));
        if (after != before[i])
        {
            ++moved;
            EXPECT_EQ(before[i], "n3") << "a key of a remaining node moved";
        }
    }
    EXPECT_LE(moved, keys / 5 + keys / 50);
    EXPECT_EQ(moved, perNode["n3"]);
}

TEST(RendezvousHash, SessionKeyAndFallbackToIp)
{
    lb::RendezvousHash bySession(lb::RendezvousHash::Key::Session);
    bySession.setNodes({node("n1"), node("n2"), node("n3")});
    LbRequest r;
    r.clientIp = "127.0.0.1";
    r.sessionId = "abc";
    EXPECT_EQ(bySession.selectNode(r), bySession.nodeFor("abc"));
    r.sessionId.clear();
    EXPECT_EQ(bySession.selectNode(r), bySession.nodeFor("127.0.0.1"));
    // A retry excluding the owner goes to the same second choice every time.
    r.exclude = {bySession.nodeFor("127.0.0.1")};
    std::string second = bySession.selectNode(r);
    EXPECT_NE(second, r.exclude[0]);
    EXPECT_EQ(bySession.selectNode(r), second);
}
