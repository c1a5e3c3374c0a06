#include "cluster/SimulatedNetwork.h"

#include <Poco/Exception.h>

#include <gtest/gtest.h>

#include <map>
#include <sstream>

using namespace mt;

namespace {

ClusterMessage msg(const std::string& sender, std::uint64_t n)
{
    ClusterMessage m;
    m.cluster = "sim";
    m.sender = sender;
    m.incarnation = n;
    return m;
}

// Three nodes; every delivery is appended to `trace` as "time from->to n".
struct SimCluster
{
    explicit SimCluster(std::uint64_t seed) : net(seed)
    {
        for (const char* name : {"a", "b", "c"})
        {
            auto endpoint = net.endpoint(name);
            std::string to = name;
            endpoint->setReceiver([this, to](const ClusterMessage& m) {
                trace.push_back(std::to_string(net.now()) + " " + m.sender + "->" + to + " " +
                                std::to_string(m.incarnation));
            });
            endpoint->start();
            endpoints[name] = std::move(endpoint);
        }
    }

    void sendAll(int rounds)
    {
        for (int i = 0; i < rounds; ++i)
        {
            for (auto& [from, endpoint] : endpoints)
                for (auto& [to, unused] : endpoints)
                    if (from != to) endpoint->send(to, msg(from, i));
            net.advance(5);
        }
        net.advance(1000);
    }

    SimulatedNetwork net;
    std::map<std::string, std::unique_ptr<ClusterTransport>> endpoints;
    std::vector<std::string> trace;
};

SimulatedNetwork::LinkSettings lossy()
{
    SimulatedNetwork::LinkSettings link;
    link.dropProbability = 0.2;
    link.duplicateProbability = 0.1;
    link.delayMinMs = 1;
    link.delayMaxMs = 40;
    return link;
}

} // namespace

TEST(SimulatedNetwork, SameSeedSameTraceOtherSeedOtherTrace)
{
    auto run = [](std::uint64_t seed) {
        SimCluster sim(seed);
        sim.net.setDefaultLink(lossy());
        sim.sendAll(200);
        return sim.trace;
    };
    auto first = run(42), second = run(42), other = run(43);
    ASSERT_GT(first.size(), 500u);
    EXPECT_EQ(first, second);
    EXPECT_NE(first, other);
}

TEST(SimulatedNetwork, RandomDelaysReorder)
{
    SimCluster sim(7);
    sim.net.setDefaultLink(lossy());
    sim.sendAll(100);
    bool reordered = false;
    std::map<std::string, std::uint64_t> last;
    for (const auto& line : sim.trace)
    {
        std::istringstream in(line);
        std::string time, link;
        std::uint64_t n;
        in >> time >> link >> n;
        if (last.count(link) && n < last[link]) reordered = true;
        last[link] = n;
    }
    EXPECT_TRUE(reordered);
}

TEST(SimulatedNetwork, DeliversOnlyWhenDueAndWithinTheDelayBounds)
{
    SimulatedNetwork net(1, 1000);
    SimulatedNetwork::LinkSettings link;
    link.delayMinMs = 10;
    link.delayMaxMs = 20;
    net.setDefaultLink(link);
    auto a = net.endpoint("a"), b = net.endpoint("b");
    std::vector<TimeMs> arrivals;
    b->setReceiver([&](const ClusterMessage&) { arrivals.push_back(net.now()); });
    b->start();
    for (int i = 0; i < 50; ++i) a->send("b", msg("a", i));
    net.advance(9);
    EXPECT_TRUE(arrivals.empty());
    EXPECT_EQ(net.inFlight(), 50u);
    net.runUntil(1020);
    EXPECT_EQ(arrivals.size(), 50u);
    for (TimeMs t : arrivals) EXPECT_TRUE(t >= 1010 && t <= 1020) << t;
    EXPECT_EQ(net.now(), 1020);
}

TEST(SimulatedNetwork, DropAndDuplicateFollowTheirProbabilities)
{
    SimulatedNetwork net(3);
    auto a = net.endpoint("a"), b = net.endpoint("b");
    int received = 0;
    b->setReceiver([&](const ClusterMessage&) { ++received; });
    b->start();

    SimulatedNetwork::LinkSettings link;
    link.dropProbability = 1.0;
    net.setLink("a", "b", link);
    for (int i = 0; i < 100; ++i) a->send("b", msg("a", i));
    net.advance(10);
    EXPECT_EQ(received, 0);

    link.dropProbability = 0.3;
    net.setLink("a", "b", link);
    for (int i = 0; i < 10000; ++i) a->send("b", msg("a", i));
    net.advance(10);
    EXPECT_GT(received, 6500);
    EXPECT_LT(received, 7500);

    received = 0;
    link.dropProbability = 0;
    link.duplicateProbability = 1.0;
    net.setLink("a", "b", link);
    for (int i = 0; i < 100; ++i) a->send("b", msg("a", i));
    net.advance(10);
    EXPECT_EQ(received, 200);
    EXPECT_EQ(net.stats().duplicated, 100u);
}

TEST(SimulatedNetwork, PartitionIsolateAndHeal)
{
    SimCluster sim(5);
    auto& net = sim.net;
    auto count = [&](const std::string& link) {
        int n = 0;
        for (const auto& line : sim.trace)
            if (line.find(" " + link + " ") != std::string::npos) ++n;
        return n;
    };
    net.partition({"a", "b"}, {"c"});
    EXPECT_TRUE(net.connected("a", "b"));
    EXPECT_FALSE(net.connected("a", "c"));
    EXPECT_FALSE(net.connected("c", "b"));
    sim.sendAll(10);
    EXPECT_EQ(count("a->b"), 10);
    EXPECT_EQ(count("b->a"), 10);
    EXPECT_EQ(count("a->c") + count("c->a") + count("b->c") + count("c->b"), 0);

    net.heal();
    sim.trace.clear();
    sim.sendAll(10);
    EXPECT_EQ(count("a->c"), 10);
    EXPECT_EQ(count("c->b"), 10);

    net.isolate("b");
    sim.trace.clear();
    sim.sendAll(10);
    EXPECT_EQ(count("a->c"), 10);
    EXPECT_EQ(count("a->b") + count("b->a") + count("c->b") + count("b->c"), 0);
    net.heal();

    // Messages in flight when the partition starts are lost too.
    SimulatedNetwork::LinkSettings slow;
    slow.delayMinMs = slow.delayMaxMs = 100;
    net.setDefaultLink(slow);
    sim.trace.clear();
    auto cutBefore = net.stats().cut;
    sim.endpoints["a"]->send("c", msg("a", 1));
    net.advance(50);
    net.partition({"a"}, {"c"});
    net.advance(100);
    EXPECT_EQ(count("a->c"), 0);
    EXPECT_EQ(net.stats().cut, cutBefore + 1);
}

TEST(SimulatedNetwork, ReceiversMaySendAndStoppedEndpointsHearNothing)
{
    SimulatedNetwork net(9);
    auto a = net.endpoint("a"), b = net.endpoint("b");
    std::vector<std::string> log;
    ClusterTransport* bp = b.get();
    b->setReceiver([&](const ClusterMessage& m) {
        log.push_back("b got " + std::to_string(m.incarnation));
        if (m.incarnation < 3) bp->send("a", msg("b", m.incarnation + 1));
    });
    ClusterTransport* ap = a.get();
    a->setReceiver([&](const ClusterMessage& m) {
        log.push_back("a got " + std::to_string(m.incarnation));
        ap->send("b", msg("a", m.incarnation + 1));
    });
    a->start();
    b->start();
    a->send("b", msg("a", 0));
    net.advance(100);
    EXPECT_EQ(log, (std::vector<std::string>{"b got 0", "a got 1", "b got 2", "a got 3", "b got 4"}));

    b->stop();
    a->send("b", msg("a", 9));
    net.advance(10);
    EXPECT_EQ(log.size(), 5u);
    EXPECT_EQ(net.stats().undeliverable, 1u);
    EXPECT_THROW(net.endpoint("a"), Poco::InvalidArgumentException);
}
