#include "SessionTestSupport.h"

#include "session/SessionIdGenerator.h"

#include <gtest/gtest.h>

#include <thread>

using namespace mt;
using namespace mt::test;

TEST(DistributedSessionManager, CreateStoresAFreshSessionAndFiresCreatedOnce)
{
    ManagerFixture f;
    auto data = f.manager.create();
    ASSERT_TRUE(data);
    EXPECT_TRUE(SessionIdGenerator::isWellFormed(data->id));
    EXPECT_EQ(data->id.substr(24), ".node1");
    EXPECT_EQ(data->creationTime, f.clock.nowMs());
    EXPECT_EQ(data->maxInactiveInterval, 1800);
    EXPECT_EQ(f.listener->events(), std::vector<std::string>{"created " + data->id});
    EXPECT_EQ(f.manager.find(data->id)->id, data->id);
    EXPECT_EQ(f.manager.stats().created, 1u);
    EXPECT_EQ(f.manager.stats().active, 1u);
    EXPECT_EQ(f.manager.stats().maxActive, 1u);
}

TEST(DistributedSessionManager, CookiesCarryPathHttpOnlySameSiteAndSecureWhenConfigured)
{
    SessionSettings settings;
    settings.contextPath = "/cart";
    ManagerFixture f(settings);
    EXPECT_EQ(f.manager.cookieFor("abc.node1"), "JSESSIONID=abc.node1; Path=/cart; HttpOnly; SameSite=Lax");
    EXPECT_NE(f.manager.expiredCookie().find("JSESSIONID=;"), std::string::npos);
    EXPECT_NE(f.manager.expiredCookie().find("Max-Age=0"), std::string::npos);
    EXPECT_NE(f.manager.expiredCookie().find("Path=/cart"), std::string::npos);

    settings.contextPath = "";
    settings.cookieSecure = true;
    ManagerFixture secure(settings);
    EXPECT_EQ(secure.manager.cookieFor("x"), "JSESSIONID=x; Path=/; HttpOnly; SameSite=Lax; Secure");
    EXPECT_NE(secure.manager.expiredCookie().find("; Secure"), std::string::npos);
}

TEST(DistributedSessionManager, MalformedIdsAreNeverLookedUp)
{
    ManagerFixture f;
    f.store->reset();
    for (std::string id : std::vector<std::string>{"", "x", "../../etc/passwd", std::string(300, 'a'), std::string(24, 'a') + ".no de"})
        EXPECT_FALSE(f.manager.find(id));
    EXPECT_EQ(f.store->loads, 0);
    // Well-formed but unknown: looked up, absent.
    EXPECT_FALSE(f.manager.find(std::string(24, 'a') + ".node1"));
    EXPECT_EQ(f.store->loads, 1);
}

TEST(DistributedSessionManager, AnExpiredSessionFoundOnAccessIsNotServedAndTheSweepDestroysItOnce)
{
    ManagerFixture f;
    auto id = f.manager.create()->id;
    f.clock.advance(1800 * 1000 - 1);
    EXPECT_TRUE(f.manager.find(id));
    f.clock.advance(1);
    EXPECT_FALSE(f.manager.find(id));
    EXPECT_FALSE(f.manager.find(id));
    // The access removes nothing: a removal there would have no claim to
    // survive a lost reply, and no last look at the access time.
    EXPECT_EQ(f.store->removes, 0);
    EXPECT_EQ(f.listener->countPrefix("expired " + id), 0u);
    EXPECT_EQ(f.manager.sweep(), 1u);
    EXPECT_EQ(f.store->count(), 0u);
    EXPECT_EQ(f.listener->countPrefix("expired " + id), 1u);
    EXPECT_EQ(f.manager.stats().expired, 1u);
    EXPECT_EQ(f.manager.stats().totalAliveMs, 1800u * 1000);
}

// Node a's clock is ahead: it finds a session expired that node b (whose
// clock is right) has just used. The session must live on.
TEST(DistributedSessionManager, ASessionFoundExpiredOnANodeWhoseClockIsAheadIsNotRemovedUnderAnotherThatUsesIt)
{
    ManagerFixture b;
    ManualClock aheadClock;
    DistributedSessionManager a(SessionSettings{}, b.store, aheadClock, testLogger());
    auto id = b.manager.create()->id;
    aheadClock.set(b.clock.nowMs() + 1801 * 1000);
    b.clock.advance(1799 * 1000);
    EXPECT_FALSE(a.find(id));
    b.manager.touch(id, b.clock.nowMs());
    EXPECT_EQ(b.manager.sweep(), 0u);
    EXPECT_TRUE(b.manager.find(id));
    EXPECT_EQ(b.listener->countPrefix("expired "), 0u);
}

TEST(DistributedSessionManager, SweepRemovesOnlyExpiredSessions)
{
    ManagerFixture f;
    for (int i = 0; i < 3; ++i) f.manager.create();
    f.clock.advance(1000 * 1000);
    auto young = f.manager.create()->id;
    f.clock.advance(900 * 1000); // the first three are 1900 s idle, the last 900 s

    EXPECT_EQ(f.manager.sweep(2), 2u); // limit honoured
    EXPECT_EQ(f.manager.sweep(), 1u);
    EXPECT_EQ(f.manager.sweep(), 0u);
    EXPECT_EQ(f.listener->countPrefix("expired "), 3u);
    EXPECT_TRUE(f.manager.find(young));
    EXPECT_EQ(f.manager.stats().expired, 3u);
    EXPECT_EQ(f.manager.stats().active, 1u);
    EXPECT_EQ(f.manager.stats().maxActive, 4u);
}

TEST(DistributedSessionManager, NonPositiveMaxInactiveNeverExpires)
{
    SessionSettings settings;
    settings.maxInactiveInterval = 0;
    ManagerFixture f(settings);
    auto id = f.manager.create()->id;
    f.clock.advance(365LL * 24 * 3600 * 1000);
    EXPECT_EQ(f.manager.sweep(), 0u);
    EXPECT_TRUE(f.manager.find(id));
}

TEST(DistributedSessionManager, InvalidateDestroysOnceAndCounts)
{
    ManagerFixture f;
    auto id = f.manager.create()->id;
    f.clock.advance(5000);
    f.manager.invalidate(id);
    f.manager.invalidate(id);
    EXPECT_EQ(f.listener->countPrefix("invalidated " + id), 1u);
    EXPECT_FALSE(f.manager.find(id));
    auto stats = f.manager.stats();
    EXPECT_EQ(stats.invalidated, 1u);
    EXPECT_EQ(stats.totalAliveMs, 5000u);
    EXPECT_EQ(stats.active, 0u);
}

TEST(DistributedSessionManager, ConcurrentInvalidateSweepAndFindDestroyExactlyOnce)
{
    ManagerFixture f;
    for (int round = 0; round < 200; ++round)
    {
        auto id = f.manager.create()->id;
        f.clock.advance(1801 * 1000); // expired: sweep and find may both race invalidate
        std::atomic<bool> go{false};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                while (!go.load()) std::this_thread::yield();
                if (t == 0) f.manager.sweep();
                else if (t == 1) f.manager.find(id);
                else f.manager.invalidate(id);
            });
        go = true;
        for (auto& t : threads) t.join();
        ASSERT_EQ(f.listener->countPrefix("expired " + id) + f.listener->countPrefix("invalidated " + id), 1u)
            << "round " << round;
    }
    auto stats = f.manager.stats();
    EXPECT_EQ(stats.expired + stats.invalidated, 200u);
}

namespace {

struct ThrowingListener : SessionListener
{
    void sessionCreated(const SessionData&) override { throw std::runtime_error("listener bug"); }
    void sessionDestroyed(const SessionData&, DestroyReason) override { throw 42; }
};

class UnavailableStore : public RecordingStore
{
public:
    DataPtr load(const std::string&) override { throw StoreUnavailable("down"); }
};

/// Answers, but refuses writes while `refusing` (Redis out of memory).
class RefusingStore : public RecordingStore
{
public:
    bool create(const SessionData& data) override
    {
        if (refusing) throw StoreUnavailable("OOM command not allowed");
        return RecordingStore::create(data);
    }
    std::atomic<bool> refusing{false};
};

} // namespace

TEST(DistributedSessionManager, ListenerExceptionsAreContained)
{
    ManualClock clock;
    auto recorder = std::make_shared<RecordingListener>();
    DistributedSessionManager manager({}, std::make_shared<RecordingStore>(), clock, testLogger());
    manager.addListener(std::make_shared<ThrowingListener>());
    manager.addListener(recorder);
    std::string id;
    ASSERT_NO_THROW(id = manager.create()->id);
    ASSERT_NO_THROW(manager.invalidate(id));
    EXPECT_EQ(recorder->events().size(), 2u);
}

TEST(DistributedSessionManager, ARefusedWriteIsTheStoresHealthProblemUntilAWriteGoesThrough)
{
    ManualClock clock;
    auto store = std::make_shared<RefusingStore>();
    DistributedSessionManager manager({}, store, clock, testLogger());
    const std::string id = manager.create()->id;
    EXPECT_EQ(manager.refusal(), "");

    store->refusing = true;
    EXPECT_THROW(manager.create(), StoreUnavailable);
    EXPECT_NE(manager.refusal().find("OOM command not allowed"), std::string::npos) << manager.refusal();
    EXPECT_TRUE(manager.find(id)) << "reads work";
    manager.refresh(*manager.find(id), clock.nowMs()); // a read-only request's touch, which a store may skip
    manager.invalidate(id);                            // a delete, which Redis takes even out of memory
    EXPECT_NE(manager.refusal(), "") << "none of them shows that writes work again";

    store->refusing = false;
    manager.create();
    EXPECT_EQ(manager.refusal(), "");
}

TEST(DistributedSessionManager, StoreUnavailableIsCountedAsRejectedAndPropagates)
{
    ManualClock clock;
    DistributedSessionManager manager({}, std::make_shared<UnavailableStore>(), clock, testLogger());
    EXPECT_THROW(manager.find(std::string(24, 'a') + ".node1"), StoreUnavailable);
    EXPECT_EQ(manager.stats().rejected, 1u);
}

namespace {

/// Records acknowledgeExpired() calls; refuses the first `refusals` of them.
class AcknowledgingStore : public RecordingStore
{
public:
    void acknowledgeExpired(const std::vector<std::string>& ids) override
    {
        std::lock_guard<std::mutex> lock(mutex);
        if (refusals > 0)
        {
            --refusals;
            throw StoreUnavailable("redis: no reply in time");
        }
        acknowledged.push_back(ids);
    }
    std::mutex mutex;
    int refusals = 0;
    std::vector<std::vector<std::string>> acknowledged;
};

/// Advances the clock as each destroyed listener runs (a slow listener).
class SlowListener : public SessionListener
{
public:
    explicit SlowListener(ManualClock& clock, TimeMs ms) : _clock(clock), _ms(ms) {}
    void sessionDestroyed(const SessionData&, DestroyReason) override { _clock.advance(_ms); }

private:
    ManualClock& _clock;
    TimeMs _ms;
};

} // namespace

TEST(DistributedSessionManager, ARefusedAcknowledgementIsRetriedAtTheNextSweepNotLost)
{
    ManualClock clock;
    auto store = std::make_shared<AcknowledgingStore>();
    DistributedSessionManager manager(SessionSettings{}, store, clock, testLogger());
    auto id = manager.create()->id;
    clock.advance(1801 * 1000);
    store->refusals = 1;
    EXPECT_EQ(manager.sweep(), 1u); // the listeners ran; the refusal does not escape
    EXPECT_TRUE(store->acknowledged.empty());
    EXPECT_EQ(manager.sweep(), 0u);
    ASSERT_EQ(store->acknowledged.size(), 1u);
    EXPECT_EQ(store->acknowledged[0], std::vector<std::string>{id});
    EXPECT_EQ(manager.sweep(), 0u);
    EXPECT_EQ(store->acknowledged.size(), 1u);
}

TEST(DistributedSessionManager, ALongSweepAcknowledgesAsItGoesNotOnlyAtItsEnd)
{
    ManualClock clock;
    auto store = std::make_shared<AcknowledgingStore>();
    DistributedSessionManager manager(SessionSettings{}, store, clock, testLogger());
    for (int i = 0; i < 250; ++i) manager.create();
    clock.advance(1801 * 1000);
    EXPECT_EQ(manager.sweep(), 250u);
    ASSERT_EQ(store->acknowledged.size(), 3u); // by count: 100, 100, 50
    EXPECT_EQ(store->acknowledged[0].size(), 100u);
    EXPECT_EQ(store->acknowledged[2].size(), 50u);

    // By time: listeners taking 2 s each are acknowledged every 3rd session (5 s).
    store->acknowledged.clear();
    manager.addListener(std::make_shared<SlowListener>(clock, 2000));
    for (int i = 0; i < 6; ++i) manager.create();
    clock.advance(1801 * 1000);
    EXPECT_EQ(manager.sweep(), 6u);
    ASSERT_EQ(store->acknowledged.size(), 2u);
    EXPECT_EQ(store->acknowledged[0].size(), 3u);
    EXPECT_EQ(store->acknowledged[1].size(), 3u);
}
