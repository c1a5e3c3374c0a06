#include "SessionTestSupport.h"

#include "session/SessionSweeper.h"

#include <gtest/gtest.h>

#include <chrono>

using namespace mt;
using namespace mt::test;
using namespace std::chrono_literals;

TEST(SessionSweeper, SweepsRegisteredManagers)
{
    ManagerFixture one, two;
    for (int i = 0; i < 5; ++i) one.manager.create();
    for (int i = 0; i < 3; ++i) two.manager.create();
    one.clock.advance(1801 * 1000);
    two.clock.advance(1801 * 1000);

    SessionSweeper sweeper(1ms, testLogger(), 2); // small batches: a backlog is worked off in one pass
    sweeper.add(one.manager);
    sweeper.add(two.manager);
    sweeper.start();
    EXPECT_TRUE(one.listener->waitFor("expired ", 5, 10s));
    EXPECT_TRUE(two.listener->waitFor("expired ", 3, 10s));
    sweeper.stop();
    EXPECT_EQ(one.manager.stats().expired, 5u);
    EXPECT_EQ(two.manager.stats().expired, 3u);
}

TEST(SessionSweeper, StopsPromptlyDuringALongInterval)
{
    ManagerFixture f;
    SessionSweeper sweeper(std::chrono::hours(1), testLogger());
    sweeper.add(f.manager);
    sweeper.start();
    const auto start = std::chrono::steady_clock::now();
    sweeper.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    sweeper.stop(); // idempotent
}

TEST(SessionSweeper, RemovedManagerCanBeDestroyedWhileTheSweeperRuns)
{
    SessionSweeper sweeper(1ms, testLogger());
    sweeper.start();
    for (int i = 0; i < 20; ++i)
    {
        auto f = std::make_unique<ManagerFixture>();
        f->manager.create();
        f->clock.advance(1801 * 1000);
        sweeper.add(f->manager);
        if (i % 2 == 0)
        {
            ASSERT_TRUE(f->listener->waitFor("expired ", 1, 10s));
        }
        sweeper.remove(f->manager);
        f.reset(); // must not be touched by the sweeper any more
    }
    const auto passes = sweeper.passes();
    sweeper.stop();
    EXPECT_GE(sweeper.passes(), passes);
}

namespace {

class FailingStore : public RecordingStore
{
public:
    std::vector<SessionData> expire(TimeMs, std::size_t) override { throw StoreUnavailable("down"); }
};

} // namespace

TEST(SessionSweeper, StoreFailureDoesNotStopTheSweeper)
{
    ManualClock clock;
    DistributedSessionManager failing({}, std::make_shared<FailingStore>(), clock, testLogger());
    ManagerFixture ok;
    ok.manager.create();
    ok.clock.advance(1801 * 1000);
    SessionSweeper sweeper(1ms, testLogger());
    sweeper.add(failing);
    sweeper.add(ok.manager);
    sweeper.start();
    EXPECT_TRUE(ok.listener->waitFor("expired ", 1, 10s));
    sweeper.stop();
}
