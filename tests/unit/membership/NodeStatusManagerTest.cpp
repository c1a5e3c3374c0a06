// NodeStatusManager with a real registry and detector, on a ManualClock:
// each scenario drives heartbeats, joins, leaves and evaluations by hand and
// checks the states, the event log, the log lines and the listener calls.

#include "cluster/DefaultFailureDetector.h"
#include "cluster/NodeStatusManager.h"
#include "util/Clock.h"

#include "MembershipTestSupport.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <regex>
#include <thread>

using namespace mt;

namespace {

class NodeStatusManagerTest : public ::testing::Test
{
protected:
    explicit NodeStatusManagerTest(std::size_t capacity = 10'000)
        : config(test::threeNodeConfig("node1")), registry(config.nodes), detector(config),
          logger(test::capturingLogger("membership.test.status", channel)),
          manager(registry, detector, "node1", logger, capacity),
          listener(std::make_shared<test::RecordingListener>())
    {
        manager.addListener(listener);
    }

    NodeStatus status(const std::string& node) const
    {
        ClusterNode n;
        return registry.find(node, n) ? n.status : NodeStatus::Unknown;
    }
    std::uint64_t incarnation(const std::string& node) const
    {
        ClusterNode n;
        registry.find(node, n);
        return n.incarnation;
    }
    /// Heartbeats from node2 every interval for `count` intervals, evaluating each time.
    void beat(int count, std::uint64_t inc = 1)
    {
        for (int i = 0; i < count; ++i)
        {
            clock.advance(200);
            manager.onHeartbeat("node2", inc, clock.nowMs());
            manager.evaluate(clock.nowMs());
        }
    }
    /// Silence: only evaluations, every interval.
    void silence(TimeMs ms)
    {
        for (TimeMs t = 0; t < ms; t += 200)
        {
            clock.advance(200);
            manager.evaluate(clock.nowMs());
        }
    }
    std::vector<NodeEvent> events() const { return manager.eventsSince(0).events; }
    std::vector<std::string> transitions() const
    {
        std::vector<std::string> out;
        for (const auto& e : events()) out.push_back(e.node + " " + toString(e.from) + "->" + toString(e.to));
        return out;
    }

    ClusterConfig config;
    ClusterRegistry registry;
    DefaultFailureDetector detector;
    Poco::AutoPtr<test::CapturingChannel> channel;
    Poco::Logger& logger;
    ManualClock clock{1'795'000'000'000}; // late 2026
    NodeStatusManager manager;
    std::shared_ptr<test::RecordingListener> listener;
};

class SmallEventLog : public NodeStatusManagerTest
{
protected:
    SmallEventLog() : NodeStatusManagerTest(3) {}
};

} // namespace

TEST_F(NodeStatusManagerTest, upSuspectDownUpGivesExactlyThoseEventsInOrder)
{
    beat(10);
    silence(1'200);
    beat(1);
    beat(5);

    EXPECT_EQ(transitions(), (std::vector<std::string>{"node2 UNKNOWN->UP", "node2 UP->SUSPECT", "node2 SUSPECT->DOWN",
                                                       "node2 DOWN->UP"}));
    const auto evs = events();
    for (std::size_t i = 0; i < evs.size(); ++i) EXPECT_EQ(evs[i].sequence, i + 1);
    EXPECT_EQ(status("node2"), NodeStatus::Up);
    EXPECT_EQ(status("node3"), NodeStatus::Unknown) << "never heard: nothing to time out";
    EXPECT_NE(evs[2].reason.find("no heartbeat for 1200 ms, phi"), std::string::npos) << evs[2].reason;
    EXPECT_EQ(evs[3].reason, "heartbeat received after 1400 ms of silence");

    // One line per transition, warning for DOWN, in the documented shape.
    const auto lines = channel->matching("node node2:");
    ASSERT_EQ(lines.size(), 4u);
    const std::regex shape(R"(node node2: SUSPECT -> DOWN \(no heartbeat for 1200 ms, phi \d+\.\d\) at )"
                           R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
    EXPECT_TRUE(std::regex_match(lines[2].text, shape)) << lines[2].text;
    EXPECT_EQ(lines[2].priority, Poco::Message::PRIO_WARNING);
    EXPECT_EQ(lines[1].priority, Poco::Message::PRIO_INFORMATION);
}

TEST_F(NodeStatusManagerTest, evaluateNeverBringsANodeBackUp)
{
    beat(10);
    silence(1'200);
    ASSERT_EQ(status("node2"), NodeStatus::Down);
    // The detector would say Alive here only after a heartbeat; evaluation alone keeps DOWN.
    silence(10'000);
    EXPECT_EQ(status("node2"), NodeStatus::Down);
    EXPECT_EQ(events().size(), 3u);
}

TEST_F(NodeStatusManagerTest, rejoinWithAHigherIncarnationIsUpAtOnce)
{
    beat(5, 1);
    silence(1'200);
    ASSERT_EQ(status("node2"), NodeStatus::Down);

    clock.advance(1);
    manager.onJoin("node2", 2, clock.nowMs());
    EXPECT_EQ(status("node2"), NodeStatus::Up) << "no timeout to wait for";
    EXPECT_EQ(incarnation("node2"), 2u);
    EXPECT_EQ(events().back().reason, "rejoined with incarnation 2 (was 1)");

    // A restart while still UP (faster than the detector) is an event too: listeners must learn of it.
    manager.onJoin("node2", 3, clock.nowMs());
    EXPECT_EQ(transitions().back(), "node2 UP->UP");
    EXPECT_EQ(events().back().incarnation, 3u);
    // The detector history was reset: no stale silence carried over.
    clock.advance(300);
    manager.evaluate(clock.nowMs());
    EXPECT_EQ(status("node2"), NodeStatus::Up);
}

TEST_F(NodeStatusManagerTest, aHeartbeatFromANewIncarnationCountsAsARejoin)
{
    beat(5, 1);
    silence(1'200);
    clock.advance(10);
    manager.onHeartbeat("node2", 2, clock.nowMs()); // its Join was lost
    EXPECT_EQ(status("node2"), NodeStatus::Up);
    EXPECT_NE(events().back().reason.find("new incarnation 2 (was 1)"), std::string::npos) << events().back().reason;
}

TEST_F(NodeStatusManagerTest, staleJoinsLeavesAndHeartbeatsAreIgnored)
{
    manager.onJoin("node2", 5, clock.nowMs());
    const auto before = events().size();
    manager.onJoin("node2", 3, clock.nowMs());
    manager.onLeave("node2", 4, clock.nowMs());
    manager.onHeartbeat("node2", 4, clock.nowMs());
    manager.onJoin("node2", 5, clock.nowMs()); // duplicate while UP
    EXPECT_EQ(events().size(), before);
    EXPECT_EQ(status("node2"), NodeStatus::Up);
    EXPECT_EQ(incarnation("node2"), 5u);
}

TEST_F(NodeStatusManagerTest, leaveIsLeftAtOnceAndEvaluateNeverTurnsItDown)
{
    beat(5);
    manager.onLeave("node2", 1, clock.nowMs());
    EXPECT_EQ(status("node2"), NodeStatus::Left);
    silence(5'000);
    clock.advance(10);
    manager.onHeartbeat("node2", 1, clock.nowMs()); // in flight before the Leave
    manager.onJoin("node2", 1, clock.nowMs());      // a replay of the old Join
    EXPECT_EQ(status("node2"), NodeStatus::Left);
    EXPECT_EQ(transitions(), (std::vector<std::string>{"node2 UNKNOWN->UP", "node2 UP->LEFT"}));

    manager.onJoin("node2", 2, clock.nowMs()); // it comes back as a new life
    EXPECT_EQ(transitions().back(), "node2 LEFT->UP");
}

TEST_F(NodeStatusManagerTest, theLocalNodeAndUnknownNodesAreIgnored)
{
    manager.onHeartbeat("node1", 1, clock.nowMs());
    manager.onJoin("node1", 1, clock.nowMs());
    manager.onHeartbeat("intruder", 1, clock.nowMs());
    manager.onJoin("intruder", 1, clock.nowMs());
    manager.evaluate(clock.nowMs() + 100'000);
    EXPECT_TRUE(events().empty());
}

TEST_F(NodeStatusManagerTest, listenersAreCalledOnceEachInSequenceOrder)
{
    auto second = std::make_shared<test::RecordingListener>();
    manager.addListener(second);
    beat(5);
    silence(1'200);
    beat(1);
    manager.onLeave("node2", 1, clock.nowMs());

    for (const auto& l : {listener, second})
    {
        const auto calls = l->calls();
        std::vector<std::string> kinds;
        for (std::size_t i = 0; i < calls.size(); ++i)
        {
            kinds.push_back(calls[i].kind);
            EXPECT_EQ(calls[i].event.sequence, i + 1);
        }
        EXPECT_EQ(kinds, (std::vector<std::string>{"up", "suspect", "down", "up", "left"}));
    }
}

TEST_F(SmallEventLog, aClientThatFellBehindIsToldTheLogWasTruncated)
{
    beat(2);
    silence(1'200);                          // 1 UP, 2 SUSPECT, 3 DOWN
    beat(1);                                 // 4 UP
    manager.onLeave("node2", 1, clock.nowMs()); // 5 LEFT

    auto page = manager.eventsSince(0);
    EXPECT_TRUE(page.truncated);
    EXPECT_EQ(page.latest, 5u);
    ASSERT_EQ(page.events.size(), 3u);
    EXPECT_EQ(page.events.front().sequence, 3u);

    page = manager.eventsSince(2);
    EXPECT_FALSE(page.truncated) << "event 3 onwards are all still there";
    EXPECT_EQ(page.events.size(), 3u);

    page = manager.eventsSince(3, 1);
    EXPECT_FALSE(page.truncated);
    ASSERT_EQ(page.events.size(), 1u);
    EXPECT_EQ(page.events[0].sequence, 4u);

    page = manager.eventsSince(5);
    EXPECT_FALSE(page.truncated);
    EXPECT_TRUE(page.events.empty());

    NodeEvent leader;
    leader.node = "node3";
    leader.reason = "became raft leader";
    EXPECT_EQ(manager.recordEvent(leader), 6u) << "other events share the sequence";
    EXPECT_EQ(manager.eventsSince(5).events.at(0).reason, "became raft leader");
}

TEST_F(NodeStatusManagerTest, concurrentHeartbeatsAndEvaluationsGiveNoDuplicateOrMissingEvents)
{
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> incarnations{1};
    std::vector<std::thread> threads;
    // Two nodes beat from three threads; node3 stops and restarts now and then.
    for (int t = 0; t < 3; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 3'000; ++i)
            {
                const std::string node = (i + t) % 2 ? "node2" : "node3";
                if (node == "node3" && (i / 200) % 2) continue; // node3 silent half of the time
                if (i % 500 == 499) manager.onJoin(node, ++incarnations, clock.nowMs());
                manager.onHeartbeat(node, incarnations.load(), clock.nowMs());
            }
        });
    threads.emplace_back([&] {
        while (!done)
        {
            clock.advance(150);
            manager.evaluate(clock.nowMs());
            std::this_thread::yield();
        }
    });
    for (int t = 0; t < 3; ++t) threads[static_cast<std::size_t>(t)].join();
    done = true;
    threads.back().join();

    const auto evs = events();
    std::map<std::string, NodeStatus> state;
    for (std::size_t i = 0; i < evs.size(); ++i)
    {
        ASSERT_EQ(evs[i].sequence, i + 1) << "no gaps";
        auto& s = state[evs[i].node];
        EXPECT_EQ(evs[i].from, s) << "each event starts where the previous one for that node ended (seq "
                                  << evs[i].sequence << ")";
        EXPECT_TRUE(evs[i].from != evs[i].to || evs[i].to == NodeStatus::Up) << "no repeated transition";
        s = evs[i].to;
    }
    EXPECT_EQ(state["node2"], status("node2"));
    EXPECT_EQ(state["node3"], status("node3"));
    const auto calls = listener->calls();
    ASSERT_EQ(calls.size(), evs.size()) << "one listener call per event";
    for (std::size_t i = 0; i < calls.size(); ++i) EXPECT_EQ(calls[i].event.sequence, i + 1) << "in order";
    EXPECT_EQ(channel->matching("node node").size(), evs.size()) << "one log line per event";
    std::cout << evs.size() << " events under concurrency" << std::endl;
}
