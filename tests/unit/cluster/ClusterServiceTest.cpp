#include "cluster/ClusterConfigParser.h"
#include "cluster/ClusterService.h"

#include <Poco/JSON/Array.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <set>
#include <thread>

using namespace mt;

// GET /cluster/nodes while statuses change: each answer is built from one
// consistent snapshot, and the snapshot outlives the loop over it (a
// range-for over `*registry.snapshot()` once crashed nodes in the benchmark).
TEST(ClusterService, NodesJsonIsSafeWhileStatusesChange)
{
    auto config = ClusterConfigParser::parse(R"(<cluster name="t" secret="0123456789abcdef-secret">
  <node name="n1" host="127.0.0.1" httpPort="1" clusterPort="2"/>
  <node name="n2" host="127.0.0.1" httpPort="3" clusterPort="4"/>
  <node name="n3" host="127.0.0.1" httpPort="5" clusterPort="6"/>
</cluster>)",
                                             "t.xml");
    config.localNode = "n1";
    SystemClock clock;
    ClusterService service(config, clock); // not started: no sockets

    std::atomic<bool> done{false};
    std::thread flipper([&] {
        for (int i = 0; i < 20000 && !done; ++i)
            service.registry().setStatus(i % 2 ? "n2" : "n3", i % 3 ? NodeStatus::Up : NodeStatus::Down, 1, i);
    });
    const std::set<std::string> valid{"UNKNOWN", "UP", "SUSPECT", "DOWN", "LEFT"};
    for (int i = 0; i < 3000; ++i)
    {
        auto nodes = service.nodesJson()->getArray("nodes");
        ASSERT_EQ(nodes->size(), 3u);
        for (unsigned j = 0; j < nodes->size(); ++j)
            ASSERT_TRUE(valid.count(nodes->getObject(j)->getValue<std::string>("status")));
    }
    done = true;
    flipper.join();
}

TEST(SteadyWallClock, StartsAtTheWallTimeAndMovesOnlyWithTheMonotonicClock)
{
    TimeMs steady = 500;
    SteadyWallClock clock(1'700'000'000'000, [&] { return steady; });
    EXPECT_EQ(clock.nowMs(), 1'700'000'000'000);
    steady += 1234;
    EXPECT_EQ(clock.nowMs(), 1'700'000'001'234);

    SteadyWallClock real;
    EXPECT_LT(std::llabs(real.nowMs() - SystemClock().nowMs()), 1000) << "made now, it reads as the wall clock";
}
