// The redis store's contract against a real redis-server: deltas, atomicity
// across store instances (two nodes), the minimal commands, the touch
// fraction, exactly-once expiry, unreadable records, and Redis down / slow.
#include "LogLines.h"
#include "RedisProcess.h"
#include "RedisSessionStore.h"
#include "ServerProcess.h"
#include "session/DistributedSessionManager.h"
#include "util/Clock.h"

#include <Poco/AutoPtr.h>
#include <Poco/Logger.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

using namespace mt;
using namespace mt::redis;
using mt::test::RedisProcess;

namespace {

/// Counts the destroyed listeners fired.
struct CountingListener : SessionListener
{
    void sessionDestroyed(const SessionData&, DestroyReason) override { destroyed.fetch_add(1); }
    std::atomic<int> destroyed{0};
};

constexpr TimeMs kNow = 1700000000000;

class RedisStoreTest : public ::testing::Test
{
protected:
    RedisSettings settings(int timeoutMs = 300) const
    {
        RedisSettings s;
        s.port = _redis.port();
        s.timeoutMs = timeoutMs;
        s.reconnectMaxMs = 100;
        if (!_nearCache) s.nearCache = 0;
        return s;
    }
    /// With the near cache, a store that is ready to use it: every contract
    /// test then runs the cached way where it applies, not by chance.
    std::unique_ptr<RedisSessionStore> store(const std::string& scope = "/t", int timeoutMs = 300)
    {
        auto s = std::make_unique<RedisSessionStore>(settings(timeoutMs), scope, Poco::Logger::get("test.redis"));
        if (_nearCache)
        {
            EXPECT_TRUE(mt::test::waitUntil([&] { return s->nearCacheReady(); }, std::chrono::seconds(5)))
                << "client tracking never came up";
        }
        return s;
    }
    static SessionData session(const std::string& id, int maxInactive = 1800, TimeMs at = kNow)
    {
        SessionData d;
        d.id = id;
        d.creationTime = at;
        d.lastAccessedTime = at;
        d.maxInactiveInterval = maxInactive;
        return d;
    }
    static SessionDelta delta(const std::string& id, const std::string& node, std::uint64_t base,
                              std::map<std::string, std::string> set, TimeMs at = kNow + 10)
    {
        SessionDelta d;
        d.id = id;
        d.node = node;
        d.lastAccessedTime = at;
        d.baseVersion = base;
        d.setAttributes = std::move(set);
        return d;
    }
    void resetStats() { _redis.cli({"CONFIG", "RESETSTAT"}); }
    /// A store with no expiry grace, on a Redis whose active expiry is off:
    /// an expired hash goes only when a command touches it, so a cached write
    /// finds its session gone before any invalidation says so.
    std::unique_ptr<RedisSessionStore> lazilyExpiringStore()
    {
        _redis.cli({"DEBUG", "SET-ACTIVE-EXPIRE", "0"});
        RedisSettings noGrace = settings();
        noGrace.expiryGraceSeconds = 0;
        auto s = std::make_unique<RedisSessionStore>(noGrace, "/t", Poco::Logger::get("test.redis"));
        EXPECT_TRUE(mt::test::waitUntil([&] { return s->nearCacheReady(); }, std::chrono::seconds(5)));
        return s;
    }
    /// Waits until Redis' own clock is past `key`'s expiry; false if it has none or that never came.
    bool waitPastExpiry(const std::string& key)
    {
        const long long expiresAt = std::stoll(_redis.cli({"PEXPIRETIME", key}));
        auto redisNowMs = [&] {
            const std::string time = _redis.cli({"TIME"}); // "seconds\nmicroseconds"
            const auto cut = time.find('\n');
            return std::stoll(time.substr(0, cut)) * 1000 + std::stoll(time.substr(cut + 1)) / 1000;
        };
        return expiresAt > 0 && mt::test::waitUntil([&] { return redisNowMs() > expiresAt; }, std::chrono::seconds(5));
    }
    /// A request's read: of an owned session when the near cache is on (the
    /// cached way), a plain load otherwise.
    SessionStoreAdapter::DataPtr get(RedisSessionStore& store, const std::string& id) const
    {
        return _nearCache ? store.loadOwned(id) : store.load(id);
    }

    RedisProcess _redis;
    bool _nearCache = true;
};

/// The store's contract, which holds with the near cache and without.
class RedisStoreContract : public RedisStoreTest, public ::testing::WithParamInterface<bool>
{
protected:
    RedisStoreContract() { _nearCache = GetParam(); }
};

} // namespace

INSTANTIATE_TEST_SUITE_P(NearCache, RedisStoreContract, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) { return info.param ? "On" : "Off"; });

TEST_P(RedisStoreContract, CreateLoadSaveRemoveRoundTrip)
{
    auto s = store();
    ASSERT_TRUE(s->create(session("a.n1")));
    EXPECT_FALSE(s->create(session("a.n1"))) << "an existing id is never overwritten";
    auto loaded = get(*s, "a.n1");
    ASSERT_TRUE(loaded);
    EXPECT_EQ(loaded->creationTime, kNow);
    EXPECT_EQ(loaded->version, 0u);

    auto saved = s->save(delta("a.n1", "n1", 0, {{"x", "1"}, {"y", "\"two\""}}));
    ASSERT_TRUE(saved);
    EXPECT_EQ(saved->version, 1u);
    EXPECT_EQ(saved->versionVector.get("n1"), 1u);
    EXPECT_EQ(saved->attributes.at("y"), "\"two\"");
    EXPECT_EQ(saved->lastAccessedTime, kNow + 10);
    EXPECT_EQ(s->count(), 1u);
    EXPECT_EQ(s->list(), std::vector<std::string>{"a.n1"});

    auto removed = s->remove("a.n1");
    ASSERT_TRUE(removed);
    EXPECT_EQ(removed->attributes.size(), 2u);
    EXPECT_FALSE(s->remove("a.n1")) << "only one caller gets the record";
    EXPECT_FALSE(get(*s, "a.n1"));
    EXPECT_FALSE(s->save(delta("a.n1", "n1", 1, {{"x", "2"}}))) << "a save to a removed session creates nothing";
    EXPECT_EQ(s->count(), 0u);
}

TEST_P(RedisStoreContract, ContextsAndKeysAreSeparate)
{
    auto cart = store("/cart");
    auto shop = store("/shop");
    ASSERT_TRUE(cart->create(session("same.n1")));
    EXPECT_FALSE(get(*shop, "same.n1"));
    EXPECT_EQ(_redis.cli({"EXISTS", "mt:default:/cart:s:same.n1"}), "1");
    EXPECT_NE(_redis.cli({"ZSCORE", "mt:default:/cart:expiry", "same.n1"}), "");
}

TEST_P(RedisStoreContract, ConcurrentDeltasToDifferentAttributesFromTwoNodesBothSurvive)
{
    auto nodeA = store();
    auto nodeB = store();
    ASSERT_TRUE(nodeA->create(session("c.n1")));
    // Both start from version 0 (as two requests that loaded the same record).
    ASSERT_TRUE(nodeA->save(delta("c.n1", "A", 0, {{"item.x", "1"}})));
    auto last = nodeB->save(delta("c.n1", "B", 0, {{"item.y", "1"}}));
    ASSERT_TRUE(last);
    EXPECT_EQ(last->attributes.at("item.x"), "1");
    EXPECT_EQ(last->attributes.at("item.y"), "1");
    EXPECT_EQ(last->version, 2u);
    EXPECT_EQ(last->versionVector.get("A"), 1u);
    EXPECT_EQ(last->versionVector.get("B"), 1u);
    EXPECT_EQ(nodeB->staleWrites(), 1u) << "B wrote on a base that was no longer current";
    EXPECT_EQ(nodeA->staleWrites(), 0u);
}

TEST_P(RedisStoreContract, AStaleSaveThatWritesTheValueAlreadyThereIsCountedAndChangesNothing)
{
    // Two requests read count=1 at version 0 and both write count=2: the
    // second is a lost increment, though its value matches what is there.
    auto nodeA = store();
    auto nodeB = store();
    ASSERT_TRUE(nodeA->create(session("l.n1")));
    ASSERT_TRUE(nodeA->save(delta("l.n1", "A", 0, {{"count", "2"}})));
    auto last = nodeB->save(delta("l.n1", "B", 0, {{"count", "2"}}));
    ASSERT_TRUE(last);
    EXPECT_EQ(nodeB->staleWrites(), 1u);
    EXPECT_EQ(last->version, 1u) << "nothing changed: no new version";
    EXPECT_EQ(last->versionVector.get("B"), 0u);
}

TEST_P(RedisStoreContract, ManyThreadsOnTwoStoresLoseNoAttribute)
{
    auto nodeA = store();
    auto nodeB = store();
    ASSERT_TRUE(nodeA->create(session("m.n1")));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            auto& s = t % 2 ? *nodeB : *nodeA;
            for (int i = 0; i < 50; ++i)
                s.save(delta("m.n1", t % 2 ? "B" : "A", 0, {{"k" + std::to_string(t) + "_" + std::to_string(i), "1"}}));
        });
    for (auto& t : threads) t.join();
    // Both nodes wrote it, so neither owns it: a read from Redis.
    auto data = nodeA->load("m.n1");
    ASSERT_TRUE(data);
    EXPECT_EQ(data->attributes.size(), 200u);
    EXPECT_EQ(data->version, 200u);
}

TEST_F(RedisStoreTest, WithoutTheNearCacheARequestCostsOneReadAndOneScript)
{
    RedisSettings noCache = settings();
    noCache.nearCache = 0;
    RedisSessionStore s(noCache, "/t", Poco::Logger::get("test.redis"));
    SessionData big = session("d.n1");
    for (int i = 0; i < 20; ++i) big.attributes["attr" + std::to_string(i)] = std::to_string(i);
    ASSERT_TRUE(s.create(big));
    auto loaded = s.load("d.n1"); // warm: the script cache and the connection
    ASSERT_TRUE(s.save(delta("d.n1", "n1", loaded->version, {{"attr0", "0"}}))); // loads the script
    resetStats();
    const auto before = s.roundTrips();

    loaded = s.load("d.n1");
    ASSERT_TRUE(s.save(delta("d.n1", "n1", loaded->version, {{"attr3", "33"}}, kNow + 20)));

    EXPECT_EQ(s.roundTrips() - before, 2u) << "2 round trips for a read-modify-write request";
    EXPECT_EQ(_redis.commandCalls("evalsha"), 1);
    EXPECT_EQ(_redis.commandCalls("eval"), 0);
    // Inside the script: the touched fields read once (HMGET), one HSET (the
    // changed attribute, access time, version, vv), no delete, and the whole
    // record read back (this node holds no copy to apply the delta to).
    EXPECT_EQ(_redis.commandCalls("hmget"), 1);
    EXPECT_EQ(_redis.commandCalls("hset"), 1);
    EXPECT_EQ(_redis.commandCalls("hgetall"), 2) << "the load, and the script's read-back";
    EXPECT_EQ(_redis.commandCalls("hdel"), 0);
    EXPECT_EQ(_redis.commandCalls("del"), 0);
}

TEST_F(RedisStoreTest, WithTheNearCacheARequestCostsOneRoundTripAndNoRead)
{
    auto s = store();
    ASSERT_TRUE(mt::test::waitUntil([&] { return s->nearCacheReady(); }, std::chrono::seconds(5)))
        << "client tracking never came up";
    SessionData big = session("d.n1");
    for (int i = 0; i < 20; ++i) big.attributes["attr" + std::to_string(i)] = std::to_string(i);
    ASSERT_TRUE(s->create(big));
    // create() is a script, and Redis 7.0 echoes a script's writes back even
    // to a NOLOOP client: wait for that echo, so it cannot land mid-test.
    ASSERT_TRUE(mt::test::waitUntil([&] { return s->nearCacheStats().invalidations >= 1; }, std::chrono::seconds(5)));
    auto loaded = s->loadOwned("d.n1");
    ASSERT_TRUE(loaded);
    loaded = s->save(delta("d.n1", "n1", loaded->version, {{"attr0", "\"zero\""}}));
    ASSERT_TRUE(loaded);
    resetStats();
    const auto before = s->roundTrips();

    loaded = s->loadOwned("d.n1");
    ASSERT_TRUE(loaded);
    auto saved = s->save(delta("d.n1", "n1", loaded->version, {{"attr3", "33"}}, kNow + 20));
    ASSERT_TRUE(saved);

    EXPECT_EQ(s->roundTrips() - before, 1u) << "the load came from the near cache; the save is one MULTI/EXEC";
    EXPECT_EQ(_redis.commandCalls("hgetall"), 0);
    EXPECT_EQ(_redis.commandCalls("evalsha"), 0);
    EXPECT_EQ(_redis.commandCalls("exec"), 1);
    EXPECT_EQ(saved->attributes.at("attr3"), "33");
    EXPECT_EQ(saved->attributes.at("attr0"), "\"zero\"");
    EXPECT_EQ(saved->version, loaded->version + 1);
    // What this node computed is what Redis holds.
    RedisSettings noCache = settings();
    noCache.nearCache = 0;
    RedisSessionStore fresh(noCache, "/t", Poco::Logger::get("test.redis"));
    auto stored = fresh.load("d.n1");
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->attributes, saved->attributes);
    EXPECT_EQ(stored->version, saved->version);
    EXPECT_EQ(stored->versionVector, saved->versionVector);
    EXPECT_EQ(stored->lastAccessedTime, saved->lastAccessedTime);
}

TEST_F(RedisStoreTest, AReadWaitsForThisNodesWriteInFlightOnTheSameSession)
{
    auto s = store("/t", 3000);
    ASSERT_TRUE(s->create(session("race.n1")));
    ASSERT_TRUE(mt::test::waitUntil([&] { return s->nearCacheStats().invalidations >= 1; }, std::chrono::seconds(5)))
        << "the echo of create()'s script";
    auto before = s->loadOwned("race.n1");
    ASSERT_TRUE(before);
    const auto readsBefore = _redis.commandCalls("hgetall");
    // Redis holds writes for a while: the write below stays in flight.
    _redis.cli({"CLIENT", "PAUSE", "300", "WRITE"});
    std::promise<bool> written;
    ASSERT_TRUE(s->saveAsync(delta("race.n1", "n1", before->version, {{"count", "1"}}),
                             [&](std::exception_ptr error) { written.set_value(!error); }));

    auto read = s->loadOwned("race.n1"); // a second request of the same session
    ASSERT_TRUE(read);
    EXPECT_EQ(read->version, before->version + 1) << "the read waited for the write in flight";
    ASSERT_EQ(read->attributes.count("count"), 1u);
    EXPECT_EQ(read->attributes.at("count"), "1");
    EXPECT_TRUE(written.get_future().get());
    EXPECT_EQ(_redis.commandCalls("hgetall"), readsBefore) << "nothing read again from Redis";
}

TEST_F(RedisStoreTest, AWriteThroughAnotherNodeReachesTheNearCache)
{
    auto a = store();
    auto b = store();
    ASSERT_TRUE(mt::test::waitUntil([&] { return a->nearCacheReady() && b->nearCacheReady(); }, std::chrono::seconds(5)));
    ASSERT_TRUE(a->create(session("x.n1")));
    auto onA = a->loadOwned("x.n1");
    ASSERT_TRUE(onA);
    auto onB = b->load("x.n1");
    ASSERT_TRUE(b->save(delta("x.n1", "n2", onB->version, {{"count", "7"}})));
    // The invalidation travels on A's subscriber connection: poll, do not sleep.
    ASSERT_TRUE(mt::test::waitUntil(
        [&] {
            auto seen = a->loadOwned("x.n1");
            return seen && seen->attributes.count("count") && seen->attributes.at("count") == "7";
        },
        std::chrono::seconds(5)));
    EXPECT_GE(a->nearCacheStats().invalidations, 1u);
    // A's own writes do not invalidate A's copy (NOLOOP): the next load is a hit.
    auto mine = a->loadOwned("x.n1");
    ASSERT_TRUE(a->save(delta("x.n1", "n1", mine->version, {{"count", "8"}}, kNow + 20)));
    const auto hits = a->nearCacheStats().hits;
    const auto trips = a->roundTrips();
    auto again = a->loadOwned("x.n1");
    EXPECT_EQ(again->attributes.at("count"), "8");
    EXPECT_EQ(a->nearCacheStats().hits, hits + 1);
    EXPECT_EQ(a->roundTrips(), trips);
}

TEST_F(RedisStoreTest, FlushAndLostTrackingEmptyTheNearCache)
{
    auto s = store();
    ASSERT_TRUE(mt::test::waitUntil([&] { return s->nearCacheReady(); }, std::chrono::seconds(5)));
    ASSERT_TRUE(s->create(session("f.n1")));
    ASSERT_TRUE(s->loadOwned("f.n1"));
    _redis.cli({"FLUSHALL"});
    ASSERT_TRUE(mt::test::waitUntil([&] { return !s->loadOwned("f.n1"); }, std::chrono::seconds(5)))
        << "a flushed session must not be served from the cache";

    ASSERT_TRUE(s->create(session("g.n1")));
    ASSERT_TRUE(s->loadOwned("g.n1"));
    const auto resets = s->nearCacheStats().resets;
    // Kill the subscriber: this node can no longer hear of changes, so it
    // must stop trusting its copies until tracking is back.
    _redis.cli({"CLIENT", "KILL", "TYPE", "pubsub"});
    ASSERT_TRUE(mt::test::waitUntil([&] { return s->nearCacheStats().resets > resets; }, std::chrono::seconds(5)));
    _redis.cli({"HSET", s->hashKey("g.n1"), "a:k", "\"v\""});
    ASSERT_TRUE(mt::test::waitUntil(
        [&] {
            auto seen = s->loadOwned("g.n1");
            return seen && seen->attributes.count("k") == 1;
        },
        std::chrono::seconds(5)));
    EXPECT_TRUE(mt::test::waitUntil([&] { return s->nearCacheReady(); }, std::chrono::seconds(5))) << "tracking comes back";
}

TEST_F(RedisStoreTest, ASaveToASessionRemovedElsewhereLeavesNothingBehind)
{
    auto a = store();
    auto b = store();
    ASSERT_TRUE(mt::test::waitUntil([&] { return a->nearCacheReady(); }, std::chrono::seconds(5)));
    // Never written since created, and written once: either way the block
    // asks whether the record is there (HEXISTS created).
    for (int writes : {0, 1})
    {
        const std::string id = "z" + std::to_string(writes) + ".n1";
        ASSERT_TRUE(a->create(session(id)));
        auto loaded = a->loadOwned(id);
        ASSERT_TRUE(loaded);
        if (writes) loaded = a->save(delta(id, "n1", loaded->version, {{"w", "1"}}));
        ASSERT_TRUE(loaded);
        ASSERT_EQ(loaded->version, std::uint64_t(writes));
        // Removed through B; A's save may still go the cached way if it beats
        // the invalidation, or the script way: either way, nothing is recreated.
        ASSERT_TRUE(b->remove(id));
        EXPECT_FALSE(a->save(delta(id, "n1", loaded->version, {{"x", "1"}}))) << id;
        EXPECT_EQ(_redis.cli({"EXISTS", a->hashKey(id)}), "0") << id;
        EXPECT_EQ(_redis.cli({"ZSCORE", a->indexKey(), id}), "") << id;
    }
}

TEST_F(RedisStoreTest, ACachedWriteToASessionRedisExpiredLeavesNothingBehind)
{
    // Gone without an invalidation first: with active expiry off, Redis drops
    // the hash only when a command touches it, the cached write's own.
    auto store = lazilyExpiringStore();
    RedisSessionStore& s = *store;
    // Never written since created, and written once: either way the block
    // asks whether the record is there (HEXISTS created).
    for (int writes : {0, 1})
    {
        const std::string id = "x" + std::to_string(writes) + ".n1";
        const auto echoes = s.nearCacheStats().invalidations;
        ASSERT_TRUE(s.create(session(id, 1)));
        ASSERT_TRUE(mt::test::waitUntil([&] { return s.nearCacheStats().invalidations > echoes; }, std::chrono::seconds(5)))
            << "the echo of create()'s script";
        auto loaded = s.loadOwned(id);
        ASSERT_TRUE(loaded);
        if (writes) loaded = s.save(delta(id, "n1", loaded->version, {{"w", "1"}}));
        ASSERT_TRUE(loaded);
        ASSERT_EQ(loaded->version, std::uint64_t(writes));
        ASSERT_TRUE(waitPastExpiry(s.hashKey(id)));
        const auto execs = _redis.commandCalls("exec");
        const auto scripts = _redis.commandCalls("evalsha");

        EXPECT_FALSE(s.save(delta(id, "n1", loaded->version, {{"x", "1"}}))) << id;
        EXPECT_EQ(_redis.commandCalls("exec"), execs + 1) << id << ": the cached way";
        EXPECT_EQ(_redis.commandCalls("evalsha"), scripts + 1) << id << ": then the script, which finds no forwarding";
        EXPECT_EQ(_redis.cli({"EXISTS", s.hashKey(id)}), "0") << id << ": the partial hash the block made is gone";
        EXPECT_EQ(_redis.cli({"ZSCORE", s.indexKey(), id}), "") << id;
    }
}

TEST_P(RedisStoreContract, ASaveWritesOnlyTheFieldsItsDeltaChanges)
{
    auto s = store();
    ASSERT_TRUE(s->create(session("w.n1")));
    ASSERT_TRUE(s->save(delta("w.n1", "n1", 0, {{"x", "1"}, {"y", "1"}})));
    // Another writer changes y behind this node's back; a delta on x must not
    // write y back.
    _redis.cli({"HSET", s->hashKey("w.n1"), "a:y", "99"});
    auto after = s->save(delta("w.n1", "n1", 1, {{"x", "2"}}, kNow + 20));
    ASSERT_TRUE(after);
    EXPECT_EQ(_redis.cli({"HGET", s->hashKey("w.n1"), "a:y"}), "99");
    EXPECT_EQ(after->attributes.at("x"), "2");
    SessionDelta removal = delta("w.n1", "n1", 2, {}, kNow + 30);
    removal.removedAttributes = {"x", "absent"};
    auto removed = s->save(removal);
    ASSERT_TRUE(removed);
    EXPECT_EQ(removed->attributes.count("x"), 0u);
    EXPECT_EQ(removed->version, 3u);
    EXPECT_EQ(_redis.cli({"HEXISTS", s->hashKey("w.n1"), "a:x"}), "0");
}

TEST_P(RedisStoreContract, ALargeDeltaIsWrittenInSlices)
{
    auto s = store();
    ASSERT_TRUE(s->create(session("big.n1")));
    std::map<std::string, std::string> many;
    for (int i = 0; i < 3000; ++i) many["k" + std::to_string(i)] = std::to_string(i);
    auto saved = s->save(delta("big.n1", "n1", 0, many));
    ASSERT_TRUE(saved);
    EXPECT_EQ(saved->attributes.size(), 3000u);
    EXPECT_EQ(saved->version, 1u);
}

TEST_P(RedisStoreContract, AnUnchangedValueIsNotAWrite)
{
    auto s = store();
    ASSERT_TRUE(s->create(session("u.n1")));
    auto first = s->save(delta("u.n1", "n1", 0, {{"x", "1"}}));
    auto again = s->save(delta("u.n1", "n1", first->version, {{"x", "1"}}));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->version, first->version);
}

TEST_P(RedisStoreContract, ReadsWriteTheAccessTimeOnlyOnceTheTouchFractionHasPassed)
{
    auto s = store(); // touchFraction 0.1 of 1800 s = 180 s
    ASSERT_TRUE(s->create(session("r.n1")));
    auto loaded = get(*s, "r.n1");
    ASSERT_TRUE(s->touch("r.n1", kNow)); // loads the script: what follows counts steady-state commands
    const auto before = s->commands();
    EXPECT_TRUE(s->refresh(*loaded, kNow + 1000));
    EXPECT_TRUE(s->refresh(*loaded, kNow + 179000));
    EXPECT_EQ(s->commands(), before) << "reads within the fraction cost no Redis command";
    EXPECT_TRUE(s->refresh(*loaded, kNow + 181000));
    EXPECT_EQ(s->commands(), before + 1);
    EXPECT_EQ(get(*s, "r.n1")->lastAccessedTime, kNow + 181000);
    EXPECT_EQ(_redis.cli({"ZSCORE", s->indexKey(), "r.n1"}), std::to_string(kNow + 181000 + 1800000));
}

TEST_F(RedisStoreTest, CachedWritesSetTtlAndIndexOncePerTouchFraction)
{
    auto s = store(); // touchFraction 0.1 of 1800 s = 180 s; grace 120 s
    ASSERT_TRUE(s->create(session("w.n1")));
    ASSERT_TRUE(mt::test::waitUntil([&] { return s->nearCacheStats().invalidations >= 1; }, std::chrono::seconds(5)))
        << "the echo of create()'s script";
    auto loaded = s->loadOwned("w.n1");
    ASSERT_TRUE(loaded);
    resetStats();
    // The first cached write does not know who set the TTL (create: no margin): it sets it.
    loaded = s->save(delta("w.n1", "n1", loaded->version, {{"n", "1"}}, kNow + 10));
    ASSERT_TRUE(loaded);
    EXPECT_EQ(_redis.commandCalls("exec"), 1);
    EXPECT_EQ(_redis.commandCalls("pexpire"), 1);
    EXPECT_EQ(_redis.commandCalls("zadd"), 1);
    EXPECT_EQ(_redis.cli({"ZSCORE", s->indexKey(), "w.n1"}), std::to_string(kNow + 10 + 1800000));
    const long long ttl = std::stoll(_redis.cli({"PTTL", s->hashKey("w.n1")}));
    EXPECT_GT(ttl, 1800000 + 180000 + 120000 - 5000) << "interval + margin (the fraction) + grace";
    EXPECT_LE(ttl, 1800000 + 180000 + 120000);

    resetStats();
    loaded = s->save(delta("w.n1", "n1", loaded->version, {{"n", "2"}}, kNow + 10 + 179000));
    ASSERT_TRUE(loaded);
    EXPECT_EQ(_redis.commandCalls("exec"), 1);
    EXPECT_EQ(_redis.commandCalls("pexpire"), 0) << "within the fraction: data and access time only";
    EXPECT_EQ(_redis.commandCalls("zadd"), 0);
    EXPECT_EQ(_redis.cli({"HGET", s->hashKey("w.n1"), "accessed"}), std::to_string(kNow + 10 + 179000));
    EXPECT_EQ(_redis.cli({"ZSCORE", s->indexKey(), "w.n1"}), std::to_string(kNow + 10 + 1800000));

    resetStats();
    loaded = s->save(delta("w.n1", "n1", loaded->version, {{"n", "3"}}, kNow + 10 + 180000));
    ASSERT_TRUE(loaded);
    EXPECT_EQ(_redis.commandCalls("pexpire"), 1) << "a fraction after the last refresh";
    EXPECT_EQ(_redis.commandCalls("zadd"), 1);
    EXPECT_EQ(_redis.cli({"ZSCORE", s->indexKey(), "w.n1"}), std::to_string(kNow + 10 + 180000 + 1800000));
    EXPECT_EQ(_redis.commandCalls("hgetall"), 0);
    EXPECT_EQ(_redis.commandCalls("evalsha"), 0);
}

TEST_F(RedisStoreTest, TheExpirySweepMovesAnIndexEntryOlderThanTheLastAccess)
{
    auto s = store(); // 60 s interval: the index is refreshed every 6 s of writes
    ASSERT_TRUE(s->create(session("late.n1", 60)));
    ASSERT_TRUE(s->create(session("idle.n1", 60)));
    ASSERT_TRUE(mt::test::waitUntil([&] { return s->nearCacheStats().invalidations >= 2; }, std::chrono::seconds(5)));
    auto loaded = s->loadOwned("late.n1");
    ASSERT_TRUE(loaded);
    loaded = s->save(delta("late.n1", "n1", loaded->version, {{"n", "1"}}, kNow + 10));
    ASSERT_TRUE(loaded);
    loaded = s->save(delta("late.n1", "n1", loaded->version, {{"n", "2"}}, kNow + 5000));
    ASSERT_TRUE(loaded);
    ASSERT_EQ(_redis.cli({"ZSCORE", s->indexKey(), "late.n1"}), std::to_string(kNow + 10 + 60000))
        << "the second write left the index alone";

    auto swept = s->expire(kNow + 60010, 10);
    ASSERT_EQ(swept.size(), 1u) << "only the idle one has expired";
    EXPECT_EQ(swept[0].id, "idle.n1");
    EXPECT_EQ(_redis.cli({"ZSCORE", s->indexKey(), "late.n1"}), std::to_string(kNow + 5000 + 60000))
        << "moved to its last access + the interval";
    EXPECT_EQ(_redis.cli({"EXISTS", s->hashKey("late.n1")}), "1");

    swept = s->expire(kNow + 5000 + 60000, 10);
    ASSERT_EQ(swept.size(), 1u);
    EXPECT_EQ(swept[0].id, "late.n1");
    EXPECT_EQ(swept[0].attributes.at("n"), "2");
    EXPECT_EQ(s->count(), 0u);
}

TEST_P(RedisStoreContract, TtlIsTheTimeLeftPlusTheGrace)
{
    auto s = store();
    const TimeMs now = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
    ASSERT_TRUE(s->create(session("ttl.n1", 60, now)));
    const long long ttl = std::stoll(_redis.cli({"PTTL", s->hashKey("ttl.n1")}));
    EXPECT_GT(ttl, 60000 + 120000 - 5000);
    EXPECT_LE(ttl, 60000 + 120000);
    ASSERT_TRUE(s->create(session("forever.n1", 0, now)));
    EXPECT_EQ(_redis.cli({"PTTL", s->hashKey("forever.n1")}), "-1");
}

TEST_P(RedisStoreContract, RenameMovesDataTtlAndIndex)
{
    auto s = store();
    ASSERT_TRUE(s->create(session("old.A")));
    ASSERT_TRUE(s->save(delta("old.A", "A", 0, {{"x", "1"}})));
    ASSERT_TRUE(s->create(session("taken.B")));
    EXPECT_FALSE(s->rename("old.A", "taken.B"));
    EXPECT_TRUE(s->rename("old.A", "old.B"));
    EXPECT_FALSE(s->rename("old.A", "old.C")) << "the old id is gone";
    EXPECT_FALSE(get(*s, "old.A"));
    ASSERT_TRUE(get(*s, "old.B"));
    EXPECT_EQ(get(*s, "old.B")->attributes.at("x"), "1");
    EXPECT_EQ(_redis.cli({"ZSCORE", s->indexKey(), "old.A"}), "");
    EXPECT_NE(_redis.cli({"ZSCORE", s->indexKey(), "old.B"}), "");
}

TEST_P(RedisStoreContract, ARenameOfASessionMissingFromTheIndexIndexesItAtItsExpiryNotForEver)
{
    auto s = store();
    ASSERT_TRUE(s->create(session("r.A", 60, kNow)));
    ASSERT_EQ(_redis.cli({"ZREM", s->indexKey(), "r.A"}), "1");
    ASSERT_TRUE(s->rename("r.A", "r.B"));
    EXPECT_EQ(_redis.cli({"ZSCORE", s->indexKey(), "r.B"}), std::to_string(kNow + 60000));
    ASSERT_TRUE(s->create(session("f.A", 0, kNow)));
    ASSERT_EQ(_redis.cli({"ZREM", s->indexKey(), "f.A"}), "1");
    ASSERT_TRUE(s->rename("f.A", "f.B"));
    EXPECT_EQ(_redis.cli({"ZSCORE", s->indexKey(), "f.B"}), "inf");
}

TEST_P(RedisStoreContract, ASaveInFlightUnderTheOldIdFollowsTheSessionAFailoverMoved)
{
    // A request on node A read f.A; meanwhile node B took the session over
    // (f.B), then node C (f.C). A's changes land where the session is now.
    auto a = store();
    auto b = store();
    ASSERT_TRUE(a->create(session("f.A")));
    auto loaded = a->save(delta("f.A", "A", 0, {{"x", "1"}}));
    ASSERT_TRUE(loaded);
    loaded = get(*a, "f.A");
    ASSERT_TRUE(loaded);
    const long long sessionLife = std::stoll(_redis.cli({"PTTL", a->hashKey("f.A")}));
    ASSERT_TRUE(b->rename("f.A", "f.B"));
    ASSERT_TRUE(b->rename("f.B", "f.C"));
    const std::uint64_t stale = a->staleWrites();

    auto saved = a->save(delta("f.A", "A", loaded->version, {{"y", "2"}}, kNow + 20));
    ASSERT_TRUE(saved) << "the change was lost";
    EXPECT_EQ(saved->id, "f.C");
    EXPECT_EQ(saved->attributes.at("x"), "1");
    EXPECT_EQ(saved->attributes.at("y"), "2");
    EXPECT_EQ(saved->version, loaded->version + 1);
    EXPECT_EQ(a->staleWrites(), stale) << "nobody wrote between the read and this save";
    EXPECT_EQ(_redis.cli({"EXISTS", a->hashKey("f.A")}), "0") << "the old id was made again";
    EXPECT_EQ(_redis.cli({"EXISTS", a->hashKey("f.B")}), "0");
    EXPECT_EQ(_redis.cli({"HGET", a->hashKey("f.C"), "a:y"}), "2");
    EXPECT_EQ(_redis.cli({"ZSCORE", a->indexKey(), "f.A"}), "");
    EXPECT_EQ(_redis.cli({"ZSCORE", a->indexKey(), "f.C"}), std::to_string(kNow + 20 + 1800 * 1000));
    EXPECT_EQ(a->list(), std::vector<std::string>{"f.C"}) << "the old ids left the expiry index";
    // An entry lives as long as the session did when it moved (its TTL), at most an hour.
    const long long life = std::stoll(_redis.cli({"PTTL", a->forwardKey("f.A")}));
    EXPECT_NEAR(double(life), double(sessionLife), 5000.0);
    EXPECT_LE(life, 3600000);
    ASSERT_TRUE(a->create(session("forever.A", 0)));
    ASSERT_TRUE(a->rename("forever.A", "forever.B"));
    EXPECT_NEAR(double(std::stoll(_redis.cli({"PTTL", a->forwardKey("forever.A")}))), 3600000.0, 5000.0)
        << "a session without a TTL";
}

TEST_P(RedisStoreContract, ANewIdLeavesNoForwardingSoASaveUnderTheOldOneGoesNowhere)
{
    // changeSessionId (session fixation defence): a request still holding
    // the old id must not write into the session under its new id.
    auto s = store();
    ASSERT_TRUE(s->create(session("fixated.A")));
    ASSERT_TRUE(s->rename("fixated.A", "fresh.A"));
    EXPECT_EQ(_redis.cli({"EXISTS", s->forwardKey("fixated.A")}), "0");
    EXPECT_FALSE(s->save(delta("fixated.A", "A", 0, {{"planted", "1"}})));
    EXPECT_EQ(_redis.cli({"HEXISTS", s->hashKey("fresh.A"), "a:planted"}), "0");
    EXPECT_EQ(_redis.cli({"EXISTS", s->hashKey("fixated.A")}), "0");
}

TEST_P(RedisStoreContract, ANewIdGivenUnderAnIdAFailoverMovedIsGivenWhereTheSessionWent)
{
    // A login (changeSessionId) in a request on node A that read n.A, while
    // node B took the session over (n.B): the request holds the session, so
    // the new id goes to the session where it is now.
    auto a = store();
    auto b = store();
    ASSERT_TRUE(a->create(session("n.A")));
    ASSERT_TRUE(a->save(delta("n.A", "A", 0, {{"x", "1"}})));
    ASSERT_TRUE(b->rename("n.A", "n.B"));
    ASSERT_TRUE(a->rename("n.A", "fresh.A")) << "the login failed";
    auto renamed = get(*a, "fresh.A");
    ASSERT_TRUE(renamed);
    EXPECT_EQ(renamed->attributes.at("x"), "1");
    EXPECT_EQ(_redis.cli({"EXISTS", a->hashKey("n.B")}), "0");
    EXPECT_EQ(a->list(), std::vector<std::string>{"fresh.A"}) << "the expiry index follows";
    EXPECT_FALSE(b->save(delta("n.B", "B", 0, {{"planted", "1"}}))) << "the old id n.B still leads to the session";
    EXPECT_FALSE(a->save(delta("n.A", "A", 0, {{"planted", "1"}}))) << "the old id n.A still leads to the session";
    EXPECT_EQ(_redis.cli({"HEXISTS", a->hashKey("fresh.A"), "a:planted"}), "0");
    // A failover's move does not follow: the node moving it looks again.
    ASSERT_TRUE(a->create(session("m.A")));
    ASSERT_TRUE(b->rename("m.A", "m.B"));
    EXPECT_FALSE(a->rename("m.A", "m.C"));
    EXPECT_TRUE(get(*b, "m.B"));
    EXPECT_FALSE(get(*a, "m.C"));
}

TEST_P(RedisStoreContract, AnInvalidationInFlightUnderTheOldIdRemovesTheSessionWhereItWent)
{
    // A logout on node A, for a session node B took over meanwhile: the
    // session must end, not live on under B's route.
    auto a = store();
    auto b = store();
    ASSERT_TRUE(a->create(session("l.A")));
    ASSERT_TRUE(a->save(delta("l.A", "A", 0, {{"user", "\"ann\""}})));
    ASSERT_TRUE(b->rename("l.A", "l.B"));
    auto removed = a->invalidate("l.A");
    ASSERT_TRUE(removed) << "the session lives on under l.B";
    EXPECT_EQ(removed->id, "l.B") << "the destroyed listeners get the session as it was";
    EXPECT_EQ(removed->attributes.at("user"), "\"ann\"");
    EXPECT_EQ(_redis.cli({"EXISTS", a->hashKey("l.B")}), "0");
    EXPECT_EQ(_redis.cli({"ZSCORE", a->indexKey(), "l.B"}), "");
    EXPECT_FALSE(a->invalidate("l.A")) << "only one caller gets the record";
    EXPECT_FALSE(b->remove("l.B"));
    // A new id (login) is not followed: the old one's removal ends nothing.
    ASSERT_TRUE(a->create(session("before.A")));
    ASSERT_TRUE(a->rename("before.A", "after.A"));
    EXPECT_FALSE(a->invalidate("before.A"));
    EXPECT_TRUE(get(*a, "after.A"));
    // remove() does not follow: a session found expired under its old id may
    // have been taken over because, to the node that took it, it was not.
    ASSERT_TRUE(a->create(session("x.A")));
    ASSERT_TRUE(b->rename("x.A", "x.B"));
    EXPECT_FALSE(a->remove("x.A"));
    EXPECT_TRUE(get(*b, "x.B")) << "removed where it went";
    // Gone without a forwarding entry (Redis' TTL dropped it): its index entry goes.
    _redis.cli({"ZADD", a->indexKey(), "1", "ttl.A"});
    EXPECT_FALSE(a->invalidate("ttl.A"));
    EXPECT_EQ(_redis.cli({"ZSCORE", a->indexKey(), "ttl.A"}), "") << "the sweep would end it again, without its data";
}

TEST_P(RedisStoreContract, AForwardingEntryBringsBackNoRemovedSessionAndACycleEnds)
{
    auto s = store();
    // Moved, then invalidated where it went.
    ASSERT_TRUE(s->create(session("r.A")));
    ASSERT_TRUE(s->rename("r.A", "r.B"));
    ASSERT_TRUE(s->remove("r.B"));
    EXPECT_FALSE(s->save(delta("r.A", "A", 0, {{"x", "1"}})));
    // Moved to B, back to A, then invalidated: the entries point at each other.
    ASSERT_TRUE(s->create(session("c.A")));
    ASSERT_TRUE(s->rename("c.A", "c.B"));
    ASSERT_TRUE(s->rename("c.B", "c.A"));
    ASSERT_EQ(_redis.cli({"GET", s->forwardKey("c.B")}), "c.A");
    ASSERT_TRUE(s->remove("c.A"));
    EXPECT_FALSE(s->save(delta("c.B", "B", 0, {{"x", "1"}})));
    for (const char* id : {"r.A", "r.B", "c.A", "c.B"})
    {
        EXPECT_EQ(_redis.cli({"EXISTS", s->hashKey(id)}), "0") << id;
        EXPECT_EQ(_redis.cli({"ZSCORE", s->indexKey(), id}), "") << id;
    }
    EXPECT_EQ(s->count(), 0u);
}

TEST_F(RedisStoreTest, ACachedWriteToASessionMovedAwayFollowsItSyncAndAsync)
{
    // The cached way (one MULTI/EXEC) finds the session gone before the
    // invalidation of this node's copy arrives: its key expired lazily here
    // (active expiry off), with a forwarding entry to where it went, as a
    // failover's rename leaves. The change must follow it, not be dropped.
    auto store = lazilyExpiringStore();
    RedisSessionStore& s = *store;
    auto other = this->store();
    for (const bool async : {false, true})
    {
        const std::string id = std::string(async ? "y" : "s") + ".n1", movedTo = std::string(async ? "y" : "s") + ".n2";
        const auto echoes = s.nearCacheStats().invalidations;
        ASSERT_TRUE(s.create(session(id, 1)));
        ASSERT_TRUE(mt::test::waitUntil([&] { return s.nearCacheStats().invalidations > echoes; }, std::chrono::seconds(5)));
        auto loaded = s.loadOwned(id);
        ASSERT_TRUE(loaded);
        SessionData there = session(movedTo);
        there.attributes["kept"] = "1";
        ASSERT_TRUE(other->create(there));
        _redis.cli({"SET", s.forwardKey(id), movedTo});
        ASSERT_TRUE(waitPastExpiry(s.hashKey(id)));
        const auto execs = _redis.commandCalls("exec");

        const SessionDelta change = delta(id, "n1", loaded->version, {{"x", "1"}});
        if (async)
        {
            // Two requests that read it before either wrote (a page and its
            // XHR): the second block finds the partial hash the first made
            // before its node deleted it, which is no record either.
            // Redis holds writes until both are sent: else the first one's
            // answer could drop the cached copy before the second starts.
            std::vector<std::future<std::exception_ptr>> outcomes;
            ASSERT_EQ(_redis.cli({"CLIENT", "PAUSE", "5000", "WRITE"}), "OK");
            for (const auto& next : {change, delta(id, "n1", loaded->version, {{"y", "2"}})})
            {
                auto outcome = std::make_shared<std::promise<std::exception_ptr>>();
                outcomes.push_back(outcome->get_future());
                EXPECT_TRUE(s.saveAsync(next, [outcome](std::exception_ptr error) { outcome->set_value(error); }))
                    << "not the asynchronous way";
            }
            ASSERT_EQ(_redis.cli({"CLIENT", "UNPAUSE"}), "OK");
            for (auto& future : outcomes)
            {
                ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
                EXPECT_FALSE(future.get()) << "reported as failed";
            }
            EXPECT_EQ(_redis.cli({"HGET", s.hashKey(movedTo), "a:y"}), "2") << "the second block's change was lost";
        }
        else
        {
            auto saved = s.save(change);
            ASSERT_TRUE(saved) << "the change was lost";
            EXPECT_EQ(saved->id, movedTo);
            EXPECT_EQ(saved->attributes.at("kept"), "1");
        }
        EXPECT_EQ(_redis.commandCalls("exec"), execs + (async ? 2 : 1)) << id << ": the cached way first";
        EXPECT_EQ(_redis.cli({"HGET", s.hashKey(movedTo), "a:x"}), "1") << id << ": the change was lost";
        EXPECT_EQ(_redis.cli({"EXISTS", s.hashKey(id)}), "0") << id << ": the partial hash the block made stayed";
        EXPECT_EQ(_redis.cli({"ZSCORE", s.indexKey(), id}), "") << id;
    }
}

TEST_P(RedisStoreContract, ExpiryClaimsEachSessionOnceAcrossNodes)
{
    auto nodeA = store();
    auto nodeB = store();
    for (int i = 0; i < 300; ++i) ASSERT_TRUE(nodeA->create(session("e" + std::to_string(i) + ".n1", 1, kNow)));
    ASSERT_TRUE(nodeA->create(session("alive.n1", 1800, kNow)));
    std::atomic<int> claimed{0};
    std::set<std::string> ids;
    std::mutex idsMutex;
    auto sweep = [&](RedisSessionStore& s) {
        for (int round = 0; round < 40; ++round)
            for (auto& d : s.expire(kNow + 1000, 7))
            {
                claimed.fetch_add(1);
                EXPECT_EQ(d.maxInactiveInterval, 1) << "the listeners get the record's data";
                std::lock_guard<std::mutex> lock(idsMutex);
                EXPECT_TRUE(ids.insert(d.id).second) << d.id << " claimed twice";
            }
    };
    std::thread a([&] { sweep(*nodeA); });
    std::thread b([&] { sweep(*nodeB); });
    a.join();
    b.join();
    EXPECT_EQ(claimed.load(), 300);
    EXPECT_EQ(nodeA->count(), 1u);
    EXPECT_TRUE(get(*nodeA, "alive.n1"));
    EXPECT_EQ(_redis.cli({"EXISTS", nodeA->hashKey("e1.n1")}), "0");
}

TEST_P(RedisStoreContract, UnreadableRecordsAreSkippedNotFatal)
{
    auto s = store();
    ASSERT_TRUE(s->create(session("ok.n1", 1, kNow)));
    _redis.cli({"HSET", s->hashKey("newer.n1"), "schema", "9", "created", "1", "accessed", "1", "maxInactive", "1", "version", "0"});
    _redis.cli({"HSET", s->hashKey("junk.n1"), "schema", "1", "created", "yesterday"});
    _redis.cli({"ZADD", s->indexKey(), "1", "junk.n1"});
    _redis.cli({"HSET", s->hashKey("badattr.n1"), "schema", "1", "created", "1", "accessed", "1", "maxInactive", "1",
                "version", "0", "a:cart", "{\"items\":["});
    EXPECT_FALSE(get(*s, "newer.n1"));
    EXPECT_FALSE(get(*s, "junk.n1"));
    EXPECT_FALSE(get(*s, "badattr.n1")) << "an attribute that is not JSON reached the application";
    EXPECT_EQ(_redis.cli({"EXISTS", s->hashKey("badattr.n1")}), "1") << "left in place for whoever can repair it";
    EXPECT_FALSE(get(*s, "junk.n1")) << "reported once, still absent";
    auto expired = s->expire(kNow + 5000, 100);
    ASSERT_EQ(expired.size(), 1u) << "the unreadable record is claimed and skipped, the good one returned";
    EXPECT_EQ(expired[0].id, "ok.n1");
}

TEST_P(RedisStoreContract, AKeyOfAnotherTypeIsAnUnreadableRecordAndDoesNotStopTheSweep)
{
    // Written over by something else (an operator's SET, another program
    // sharing the prefix): first in the index, so every sweep meets it first.
    Poco::Logger& logger = Poco::Logger::get("test.redis.wrongtype");
    Poco::AutoPtr<mt::test::LogLines> lines(new mt::test::LogLines);
    logger.setChannel(lines);
    auto s = std::make_unique<RedisSessionStore>(settings(), "/t", logger);
    if (_nearCache)
    {
        ASSERT_TRUE(mt::test::waitUntil([&] { return s->nearCacheReady(); }, std::chrono::seconds(5)));
    }
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(s->create(session("due" + std::to_string(i) + ".n1", 1, kNow)));
    _redis.cli({"SET", s->hashKey("string.n1"), "not a hash"});
    _redis.cli({"ZADD", s->indexKey(), "1", "string.n1"});

    EXPECT_FALSE(get(*s, "string.n1")) << "absent, as any unreadable record: not a 503 for good";
    std::set<std::string> claimed;
    for (const SessionData& d : s->expire(kNow + 5000, 2)) claimed.insert(d.id);
    for (const SessionData& d : s->expire(kNow + 5000, 2)) claimed.insert(d.id);
    EXPECT_EQ(claimed, (std::set<std::string>{"due0.n1", "due1.n1", "due2.n1"}));
    EXPECT_EQ(_redis.cli({"GET", s->hashKey("string.n1")}), "not a hash") << "not the store's to delete";
    EXPECT_EQ(_redis.cli({"ZSCORE", s->indexKey(), "string.n1"}), "") << "out of the index: no sweep meets it again";
    EXPECT_EQ(s->count(), 0u);
    EXPECT_TRUE(lines->contains("unreadable session record " + s->hashKey("string.n1") +
                                " skipped (treated as absent): not a hash (left in place): WRONGTYPE"))
        << lines->text();
    s.reset();
    logger.setChannel(nullptr);
}

TEST_F(RedisStoreTest, ASessionWhoseDataRedisDroppedEndsOnceWithoutAnInventedLifetime)
{
    // Every node stopped for longer than the grace: Redis' TTL dropped the
    // hash, its index entry stayed. The sweep still ends the session, once;
    // how long it lived is not known, and must not count as 56 years.
    ManualClock clock(kNow);
    SessionSettings settings;
    settings.maxInactiveInterval = 60;
    std::shared_ptr<RedisSessionStore> redisStore = store();
    DistributedSessionManager manager(settings, redisStore, clock, Poco::Logger::get("test.redis"));
    const std::string lost = manager.create()->id;
    const std::string kept = manager.create()->id;
    _redis.cli({"DEL", redisStore->hashKey(lost)});

    clock.advance(61 * 1000);
    EXPECT_EQ(manager.sweep(), 2u);
    const SessionStats stats = manager.stats();
    EXPECT_EQ(stats.expired, 2u);
    EXPECT_EQ(stats.totalAliveMs, 61u * 1000) << "only the session whose creation time is known";
    EXPECT_EQ(stats.lifetimes, 1u) << "the average divides by the sessions it sums";
    EXPECT_EQ(_redis.cli({"ZCARD", redisStore->indexKey()}), "0");
}

TEST_P(RedisStoreContract, AClaimNotAcknowledgedIsClaimedAgainWithItsDataAndGoesOnceAcknowledged)
{
    auto nodeA = store();
    auto nodeB = store();
    for (const char* id : {"x.n1", "y.n1", "z.n1"})
    {
        SessionData d = session(id, 1, kNow);
        d.attributes["cart"] = "\"3 items\"";
        ASSERT_TRUE(nodeA->create(d));
    }
    // A's sweep claims them, and its listeners never run (the reply was lost).
    ASSERT_EQ(nodeA->expire(kNow + 1000, 10).size(), 3u);
    EXPECT_EQ(_redis.cli({"ZCARD", nodeA->claimsKey()}), "3");
    EXPECT_EQ(_redis.cli({"EXISTS", nodeA->hashKey("x.n1")}), "0") << "no longer a session anyone loads";
    EXPECT_FALSE(get(*nodeB, "x.n1"));
    EXPECT_TRUE(nodeB->expire(kNow + 2000, 10).empty()) << "a fresh claim is its claimant's";

    // Past the reclaim time, the next sweep (any node's) gets them, data and all.
    const TimeMs later = kNow + 1000 + RedisSessionStore::kReclaimAfterMs + 1;
    auto again = nodeB->expire(later, 10);
    ASSERT_EQ(again.size(), 3u);
    std::vector<std::string> ids;
    for (const auto& d : again)
    {
        EXPECT_EQ(d.attributes.at("cart"), "\"3 items\"") << d.id;
        EXPECT_EQ(d.creationTime, kNow) << d.id;
        ids.push_back(d.id);
    }
    nodeB->acknowledgeExpired(ids);
    EXPECT_EQ(_redis.cli({"ZCARD", nodeA->claimsKey()}), "0");
    EXPECT_EQ(_redis.cli({"KEYS", "*:c:*"}), "") << "the claimed data goes with the claim";
    EXPECT_EQ(_redis.cli({"KEYS", "*:reclaims"}), "") << "and so does its count";
    EXPECT_TRUE(nodeA->expire(later + RedisSessionStore::kReclaimAfterMs + 1, 10).empty());
}

TEST_F(RedisStoreTest, AClaimTakenAgainTooOftenEndsOnceWithoutItsData)
{
    // A session whose reading outlasts every sweep's timeout (hundreds of
    // thousands of attributes) would be claimed, lost and claimed again
    // forever, stalling Redis each time. After kMaxReclaims its data goes.
    auto s = store();
    ASSERT_TRUE(s->create(session("big.n1", 1, kNow)));
    TimeMs at = kNow + 1000;
    ASSERT_EQ(s->expire(at, 10).size(), 1u);
    for (int again = 1; again <= RedisSessionStore::kMaxReclaims; ++again)
    {
        at += RedisSessionStore::kReclaimAfterMs + 1;
        auto claimed = s->expire(at, 10);
        ASSERT_EQ(claimed.size(), 1u) << again;
        EXPECT_EQ(claimed[0].creationTime, kNow) << again << ": still with its data";
    }
    at += RedisSessionStore::kReclaimAfterMs + 1;
    auto last = s->expire(at, 10);
    ASSERT_EQ(last.size(), 1u);
    EXPECT_EQ(last[0].id, "big.n1");
    EXPECT_EQ(last[0].creationTime, 0) << "given up: the id only";
    EXPECT_EQ(_redis.cli({"ZCARD", s->claimsKey()}), "0");
    EXPECT_EQ(_redis.cli({"KEYS", "*:c:*"}), "");
    EXPECT_EQ(_redis.cli({"KEYS", "*:reclaims"}), "") << "no count left behind";
    EXPECT_TRUE(s->expire(at + RedisSessionStore::kReclaimAfterMs + 1, 10).empty());
}

TEST_F(RedisStoreTest, ARedisOutOfMemoryStillLetsTheSweepTakeClaimsAgain)
{
    // Lost replies come with stalls, and stalls with memory trouble: the
    // sweep that re-takes claims must run when Redis refuses to grow.
    auto s = store();
    ASSERT_TRUE(s->create(session("m.n1", 1, kNow)));
    ASSERT_EQ(s->expire(kNow + 1000, 10).size(), 1u); // never acknowledged
    ASSERT_EQ(_redis.cli({"CONFIG", "SET", "maxmemory-policy", "noeviction"}), "OK");
    ASSERT_EQ(_redis.cli({"CONFIG", "SET", "maxmemory", "1"}), "OK");
    std::vector<SessionData> again;
    EXPECT_NO_THROW(again = s->expire(kNow + 1000 + RedisSessionStore::kReclaimAfterMs + 1, 10));
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].id, "m.n1");
    EXPECT_EQ(again[0].creationTime, kNow);
    ASSERT_EQ(_redis.cli({"CONFIG", "SET", "maxmemory", "0"}), "OK");
}

TEST_F(RedisStoreTest, ARedisOutOfMemoryStillLetsTheSweepMoveAnEntryOlderThanTheLastAccess)
{
    // A move is the first entry's fate as often as a claim (between two index
    // refreshes, and always in a cluster): it must not be the sweep's first
    // write, refused, and stay first for every sweep after.
    auto s = store();
    ASSERT_TRUE(s->create(session("busy.n1", 60, kNow - 1000)));
    ASSERT_TRUE(s->create(session("idle.n1", 60, kNow)));
    ASSERT_EQ(_redis.cli({"HSET", s->hashKey("busy.n1"), "accessed", std::to_string(kNow + 30000)}), "0");
    ASSERT_EQ(_redis.cli({"CONFIG", "SET", "maxmemory-policy", "noeviction"}), "OK");
    ASSERT_EQ(_redis.cli({"CONFIG", "SET", "maxmemory", "1"}), "OK");
    std::vector<SessionData> swept;
    EXPECT_NO_THROW(swept = s->expire(kNow + 60001, 10));
    ASSERT_EQ(_redis.cli({"CONFIG", "SET", "maxmemory", "0"}), "OK");
    ASSERT_EQ(swept.size(), 1u);
    EXPECT_EQ(swept[0].id, "idle.n1");
    EXPECT_EQ(_redis.cli({"ZSCORE", s->indexKey(), "busy.n1"}), std::to_string(kNow + 30000 + 60000));
}

TEST_F(RedisStoreTest, AClaimTooBigToReadAgainEndsWithoutItsDataAndTheOthersKeepTheirs)
{
    // One huge session among the claims re-taken together would time out the
    // reply for all of them, three times, and they would all lose their data.
    auto s = store();
    ASSERT_TRUE(s->create(session("huge.n1", 1, kNow)));
    ASSERT_TRUE(s->create(session("small.n1", 1, kNow)));
    std::vector<std::string> hset{"HSET", s->hashKey("huge.n1")};
    for (int i = 0; i <= RedisSessionStore::kMaxReclaimFields; ++i)
    {
        hset.push_back("a:f" + std::to_string(i));
        hset.push_back("1");
    }
    _redis.cli(hset, std::chrono::seconds(30));
    ASSERT_EQ(s->expire(kNow + 1000, 10).size(), 2u); // its reply "lost": never acknowledged
    auto again = s->expire(kNow + 1000 + RedisSessionStore::kReclaimAfterMs + 1, 10);
    ASSERT_EQ(again.size(), 2u);
    for (const auto& d : again)
        EXPECT_EQ(d.creationTime, d.id == "small.n1" ? kNow : 0) << d.id;
    EXPECT_EQ(_redis.cli({"EXISTS", s->claimsKey()}), "1") << "the small one still waits for its acknowledgement";
    EXPECT_EQ(_redis.cli({"ZSCORE", s->claimsKey(), "huge.n1"}), "") << "the huge one is done with";
}

TEST_F(RedisStoreTest, ASweepWhoseReplyIsLostInARedisStallStillFiresEveryListenerOnce)
{
    // Redis stalls past the timeout while running the sweep's script: the
    // node gives up on the reply, Redis runs the script anyway. The sessions
    // it claimed must still end with their listeners: the next sweep after
    // the reclaim time has them, and fires each once.
    ManualClock clock(kNow);
    SessionSettings settings;
    settings.maxInactiveInterval = 60;
    std::shared_ptr<RedisSessionStore> redisStore = store();
    DistributedSessionManager manager(settings, redisStore, clock, Poco::Logger::get("test.redis"));
    auto listener = std::make_shared<CountingListener>();
    manager.addListener(listener);
    for (int i = 0; i < 5; ++i) manager.create();
    EXPECT_EQ(manager.sweep(), 0u); // connected, and the script known to Redis, before the stall

    clock.advance(61 * 1000);
    _redis.pause();
    EXPECT_THROW(manager.sweep(), StoreUnavailable);
    _redis.resume();
    ASSERT_TRUE(mt::test::waitUntil([&] { return _redis.cli({"ZCARD", redisStore->claimsKey()}) == "5"; },
                                    std::chrono::seconds(5)))
        << "Redis ran the script whose reply the node gave up on";
    EXPECT_EQ(listener->destroyed.load(), 0);

    // The store reconnects after its backoff; until then a sweep is refused.
    std::size_t swept = 99;
    ASSERT_TRUE(mt::test::waitUntil(
        [&] {
            try
            {
                swept = manager.sweep();
                return true;
            }
            catch (const StoreUnavailable&)
            {
                return false;
            }
        },
        std::chrono::seconds(10)));
    EXPECT_EQ(swept, 0u) << "claimed a moment ago: still the claimant's";
    clock.advance(RedisSessionStore::kReclaimAfterMs + 1);
    EXPECT_EQ(manager.sweep(), 5u);
    EXPECT_EQ(listener->destroyed.load(), 5);
    EXPECT_EQ(manager.stats().expired, 5u);
    clock.advance(RedisSessionStore::kReclaimAfterMs + 1);
    EXPECT_EQ(manager.sweep(), 0u) << "acknowledged: never again";
    EXPECT_EQ(listener->destroyed.load(), 5);
}

TEST_P(RedisStoreContract, ScriptsSurviveAScriptCacheFlush)
{
    auto s = store();
    ASSERT_TRUE(s->create(session("f.n1")));
    _redis.cli({"SCRIPT", "FLUSH"});
    EXPECT_TRUE(s->save(delta("f.n1", "n1", 0, {{"x", "1"}}))) << "NOSCRIPT falls back to EVAL";
}

TEST_P(RedisStoreContract, RedisDownIsAQuickStoreUnavailableAndHealthSaysWhyThenRecovers)
{
    auto s = store();
    ASSERT_TRUE(s->create(session("h.n1")));
    EXPECT_EQ(s->healthProblem(), "");
    _redis.stop();
    const auto start = std::chrono::steady_clock::now();
    EXPECT_THROW(s->load("h.n1"), StoreUnavailable);
    EXPECT_THROW(s->load("h.n1"), StoreUnavailable);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
    EXPECT_NE(s->healthProblem().find("redis 127.0.0.1:"), std::string::npos);
    _redis.start();
    EXPECT_TRUE(mt::test::waitUntil([&] { return s->healthProblem().empty(); }, std::chrono::seconds(5)));
    EXPECT_TRUE(s->create(session("h2.n1")));
}

TEST_P(RedisStoreContract, ASlowRedisCostsAtMostTheTimeout)
{
    auto s = store("/t", 200);
    ASSERT_TRUE(s->create(session("slow.n1")));
    _redis.pause();
    const auto start = std::chrono::steady_clock::now();
    // A read that must reach Redis (a cached one need not: a paused Redis
    // takes no write from anyone either).
    EXPECT_THROW(s->load("slow.n1"), StoreUnavailable);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, std::chrono::milliseconds(150));
    EXPECT_LT(took, std::chrono::milliseconds(400));
    _redis.resume();
    EXPECT_TRUE(mt::test::waitUntil([&] { return s->healthProblem().empty(); }, std::chrono::seconds(5)));
    EXPECT_TRUE(get(*s, "slow.n1"));
}
