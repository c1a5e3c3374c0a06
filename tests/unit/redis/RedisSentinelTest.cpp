// The redis store behind Redis Sentinel, against real processes: a master, a
// replica and a sentinel (redis-server --sentinel) on loopback, plain or all
// on TLS. The store
// asks the sentinels where the master is, follows a failover when the master
// dies (the session written before it is still there, and the near cache
// works on the new master), believes no sentinel that names a replica,
// leaves a master that was made a replica behind the sentinels' back,
// keeps its invalidation subscriber on the instance its writes go to, and
// leaves a master that stays up as soon as a sentinel announces another one
// (+switch-master: the connection drains, a reconnection backoff ends, and a
// connection being made to the old master as it is announced is left too),
// or as soon as the watch listens again after an announcement it missed.
#include "CounterSessions.h"
#include "IncrBurst.h"
#include "MasterLocator.h"
#include "MovingSocket.h"
#include "RedisPipeline.h"
#include "RedisProcess.h"
#include "RedisSessionStore.h"
#include "ServerProcess.h"

#include <Poco/Logger.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

using namespace mt;
using namespace mt::redis;
using mt::test::RedisOptions;
using mt::test::RedisProcess;
using mt::test::waitUntil;
using namespace mt::redis::test;

namespace {

constexpr const char* kMaster = "sessions";
constexpr const char* kSentinelPassword = "sentinel-pass";

/// Options for another instance of `master`'s setup: over TLS with its certificates when it is on TLS.
RedisOptions alongside(const RedisProcess& master)
{
    RedisOptions options;
    if (master.tls())
    {
        options.tls = true;
        options.tlsFilesFrom = master.tlsFiles();
    }
    return options;
}

RedisOptions replicaOf(const RedisProcess& master)
{
    RedisOptions options = alongside(master);
    options.replicaOf = master.port();
    return options;
}

/// A sentinel watching `master` as the master named kMaster.
RedisOptions sentinelOf(const RedisProcess& master)
{
    RedisOptions options = alongside(master);
    options.password = kSentinelPassword;
    options.sentinelMaster = kMaster;
    options.sentinelMasterPort = master.port();
    return options;
}

/// The store behind these sentinels; over TLS trusting `tlsOf`'s CA when given.
RedisSettings sentinelSettings(const std::vector<unsigned short>& sentinelPorts, const RedisProcess* tlsOf = nullptr)
{
    RedisSettings s;
    for (auto port : sentinelPorts) s.sentinels.push_back({"127.0.0.1", port});
    s.sentinelMaster = kMaster;
    s.sentinelPassword = kSentinelPassword;
    s.timeoutMs = 300;
    s.reconnectMaxMs = 100;
    if (tlsOf)
    {
        TlsOptions options;
        options.caFile = tlsOf->caFile(); // no server name: each certificate names the host connected to
        s.tls = std::make_shared<const TlsClient>(options);
    }
    return s;
}

std::unique_ptr<RedisSessionStore> open(const RedisSettings& settings)
{
    return std::make_unique<RedisSessionStore>(settings, "/t", Poco::Logger::get("test.redis"));
}

std::string where(unsigned short port)
{
    return "127.0.0.1:" + std::to_string(port);
}

/// Whether the store listens for failovers to exactly these sentinels.
bool listensTo(RedisSessionStore& store, const std::vector<unsigned short>& ports)
{
    std::vector<std::string> expected;
    for (auto port : ports) expected.push_back(where(port));
    std::sort(expected.begin(), expected.end());
    std::string text;
    for (const auto& sentinel : expected) text += (text.empty() ? "" : ", ") + sentinel;
    return store.failoverWatch() == text;
}

RedisOptions refusingDemotion()
{
    RedisOptions options;
    options.refusesDemotion = true;
    return options;
}

/// A master that stays up and stays a master after a failover (it refuses
/// REPLICAOF, as one the sentinels cannot reach would): nothing closes a
/// store's connection to it and no write is refused, so only the sentinels'
/// announcement can tell a store that its writes there would now be lost.
/// With its replica and two sentinels, which know the replica.
struct SurvivingMaster
{
    SurvivingMaster()
    {
        if (!waitUntil([&] { return replica.info("replication", "master_link_status") == "up"; }, std::chrono::seconds(10)))
            throw std::runtime_error("the replica did not connect to its master");
        first = std::make_unique<RedisProcess>(sentinelOf(master));
        second = std::make_unique<RedisProcess>(sentinelOf(master));
        if (!waitUntil([&] { return second->knowsReplica(replica); }, std::chrono::seconds(10)))
            throw std::runtime_error("the sentinel did not learn of the replica");
    }

    /// The second sentinel promotes the replica, once it has every write.
    ::testing::AssertionResult failOver()
    {
        if (!waitUntil([&] { return replica.caughtUpWith(master); }, std::chrono::seconds(10)))
            return ::testing::AssertionFailure() << "the replica did not catch up";
        // NOGOODSLAVE until the sentinel has a fresh enough INFO from the replica.
        if (!waitUntil([&] { return second->cli({"SENTINEL", "FAILOVER", kMaster}) == "OK"; }, std::chrono::seconds(10),
                       std::chrono::milliseconds(200)))
            return ::testing::AssertionFailure() << second->cli({"SENTINEL", "FAILOVER", kMaster});
        if (!waitUntil([&] { return second->cli({"SENTINEL", "GET-MASTER-ADDR-BY-NAME", kMaster}).find(std::to_string(replica.port())) != std::string::npos; },
                       std::chrono::seconds(15)))
            return ::testing::AssertionFailure() << second->cli({"SENTINEL", "MASTER", kMaster});
        return ::testing::AssertionSuccess();
    }

    /// `store`, moved, writes session `id` (counted to 1 before) on the new master only.
    void expectWritesOnTheNewMaster(RedisSessionStore& store, const std::string& id)
    {
        EXPECT_TRUE(waitUntil([&] { return store.connectedTo() != where(master.port()); }, std::chrono::seconds(5)))
            << "the store still writes to the old master";
        ASSERT_TRUE(count(store, id, "n1", "2"));
        EXPECT_EQ(store.connectedTo(), where(replica.port()));
        EXPECT_EQ(replica.cli({"HGET", store.hashKey(id), "a:count"}), "2") << "the write went to the new master";
        EXPECT_EQ(master.cli({"HGET", store.hashKey(id), "a:count"}), "1") << "and not to the old one";
    }

    RedisProcess master{refusingDemotion()};
    RedisProcess replica{replicaOf(master)};
    std::unique_ptr<RedisProcess> first, second;
};

} // namespace

/// Plain, and everything on TLS: the store to the sentinels and to the
/// master, replication, and the sentinels to the instances.
class RedisSentinelFailover : public ::testing::TestWithParam<bool>
{
};

INSTANTIATE_TEST_SUITE_P(PlainAndTls, RedisSentinelFailover, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Tls" : "Plain"; });

TEST_P(RedisSentinelFailover, TheStoreFollowsAFailoverWithNothingLostAndItsNearCacheBack)
{
    RedisOptions masterOptions;
    masterOptions.tls = GetParam();
    RedisProcess master(masterOptions);
    RedisProcess replica(replicaOf(master));
    ASSERT_TRUE(waitUntil([&] { return replica.info("replication", "master_link_status") == "up"; }, std::chrono::seconds(10)));
    RedisProcess sentinel(sentinelOf(master));
    ASSERT_TRUE(waitUntil([&] { return sentinel.knowsReplica(replica); }, std::chrono::seconds(10)))
        << "the sentinel never learned of the replica (it needs one to fail over to)";

    // The first sentinel listed is not there: the store asks the next one.
    const RedisSettings settings = sentinelSettings({mt::test::freePort(), sentinel.port()}, GetParam() ? &master : nullptr);
    auto node1 = open(settings);
    auto node2 = open(settings);
    ASSERT_TRUE(waitUntil([&] { return node1->nearCacheReady() && node2->nearCacheReady(); }, std::chrono::seconds(5)))
        << node1->healthProblem();
    EXPECT_TRUE(waitUntil([&] { return node1->failoverWatch() == where(sentinel.port()); }, std::chrono::seconds(5)))
        << "no sentinel listened to for failovers: '" << node1->failoverWatch() << "'";
    ASSERT_TRUE(node1->create(session("f.n1")));
    ASSERT_TRUE(count(*node1, "f.n1", "n1", "1"));
    ASSERT_TRUE(count(*node2, "f.n1", "n2", "2"));
    ASSERT_EQ(master.cli({"HGET", node1->hashKey("f.n1"), "a:count"}), "2") << "the data is on the master";
    // Replication is asynchronous: the test waits for it, so that what the failover keeps is known.
    ASSERT_TRUE(waitUntil([&] { return replica.caughtUpWith(master); }, std::chrono::seconds(10)));

    master.kill();
    // Until the sentinel promotes the replica, calls fail quickly and clearly.
    const auto start = std::chrono::steady_clock::now();
    const std::string during = failureOf([&] { node1->load("f.n1"); });
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2)) << "bounded by timeoutMs per step";
    EXPECT_NE(during.find("redis master 'sessions' via sentinels"), std::string::npos) << during;
    ASSERT_TRUE(waitUntil([&] { return count(*node1, "f.n1", "n1", "3"); }, std::chrono::seconds(30)))
        << "no failover followed: " << node1->healthProblem() << "\nsentinel: " << sentinel.cli({"SENTINEL", "MASTER", kMaster});
    EXPECT_EQ(replica.cli({"ROLE"}).substr(0, 6), "master") << "the replica was promoted";
    EXPECT_EQ(replica.cli({"HGET", node1->hashKey("f.n1"), "a:count"}), "3") << "the write went to the new master";

    // Both near caches work again, on the new master: a write through one
    // store reaches the other's cache, which must not serve what it held.
    ASSERT_TRUE(waitUntil([&] { return node1->nearCacheReady() && node2->nearCacheReady(); }, std::chrono::seconds(10)));
    EXPECT_EQ(countOf(*node1, "f.n1"), "3");
    ASSERT_TRUE(waitUntil([&] { return countOf(*node2, "f.n1") == "3"; }, std::chrono::seconds(5)));
    ASSERT_TRUE(count(*node2, "f.n1", "n2", "4"));
    EXPECT_TRUE(waitUntil([&] { return countOf(*node1, "f.n1") == "4"; }, std::chrono::seconds(5)))
        << "node2's write never reached node1's near cache after the failover";
    EXPECT_EQ(node1->healthProblem(), "");
    if (GetParam())
    {
        RedisSettings untrusted = settings;
        TlsOptions otherCa;
        otherCa.caFile = master.otherCaFile();
        untrusted.tls = std::make_shared<const TlsClient>(otherCa);
        const std::string why = failureOf([&] { open(untrusted)->load("f.n1"); });
        EXPECT_NE(why.find(where(sentinel.port()) + ": TLS handshake: certificate verify failed"), std::string::npos) << why;
    }
}

TEST(RedisSentinelTest, ASentinelThatNamesAReplicaOrNoMasterIsNotBelieved)
{
    RedisProcess master;
    RedisProcess replica(replicaOf(master));
    ASSERT_TRUE(waitUntil([&] { return replica.info("replication", "master_link_status") == "up"; }, std::chrono::seconds(10)));
    // A sentinel whose idea of the master is a replica: as one that has not
    // caught up with a failover would say.
    RedisProcess sentinel(sentinelOf(replica));
    auto store = open(sentinelSettings({sentinel.port()}));
    const std::string why = failureOf([&] { store->create(session("r.n1")); });
    EXPECT_NE(why.find(where(replica.port()) + " is a replica, not the master"), std::string::npos) << why;
    EXPECT_NE(store->healthProblem().find("is a replica, not the master"), std::string::npos) << store->healthProblem();
    EXPECT_EQ(replica.cli({"DBSIZE"}), "0");

    RedisSettings unknown = sentinelSettings({sentinel.port()});
    unknown.sentinelMaster = "nobody";
    EXPECT_NE(failureOf([&] { open(unknown)->load("r.n1"); })
                  .find("no sentinel named the master: " + where(sentinel.port()) + ": does not monitor a master named 'nobody'"),
              std::string::npos);

    RedisSettings wrongPassword = sentinelSettings({sentinel.port()});
    wrongPassword.sentinelPassword = "not-the-password";
    const std::string refused = failureOf([&] { open(wrongPassword)->load("r.n1"); });
    EXPECT_NE(refused.find(where(sentinel.port()) + ": AUTH refused: WRONGPASS"), std::string::npos) << refused;
    EXPECT_EQ(refused.find("not-the-password"), std::string::npos) << refused;
}

TEST(RedisSentinelTest, AMasterMadeAReplicaBehindTheSentinelsBackIsLeftUntilItIsMasterAgain)
{
    RedisProcess master;
    RedisProcess other;
    RedisProcess sentinel(sentinelOf(master));
    auto store = open(sentinelSettings({sentinel.port()}));
    ASSERT_TRUE(store->create(session("d.n1")));
    ASSERT_TRUE(count(*store, "d.n1", "n1", "1"));

    // Its connection stays open, and Redis refuses its writes (its data is
    // the other's now: empty). The store asks the sentinels again to send
    // the write there; they still name it, and HELLO says it is a replica.
    ASSERT_EQ(master.cli({"REPLICAOF", "127.0.0.1", std::to_string(other.port())}), "OK");
    const std::string demoted = where(master.port()) + " is a replica, not the master";
    const std::string refused = failureOf([&] { store->create(session("d1.n1")); });
    EXPECT_NE(refused.find(demoted), std::string::npos) << refused;
    EXPECT_TRUE(waitUntil([&] { return store->healthProblem().find(demoted) != std::string::npos; },
                          std::chrono::seconds(5)))
        << store->healthProblem();

    ASSERT_EQ(master.cli({"REPLICAOF", "NO", "ONE"}), "OK");
    EXPECT_TRUE(waitUntil([&] { return store->healthProblem().empty(); }, std::chrono::seconds(5))) << store->healthProblem();
    ASSERT_TRUE(store->create(session("d2.n1")));
    EXPECT_TRUE(count(*store, "d2.n1", "n1", "1"));
    EXPECT_EQ(master.cli({"HGET", store->hashKey("d2.n1"), "a:count"}), "1");
}

TEST(RedisSentinelTest, TheInvalidationSubscriberFollowsTheStoreToTheMasterTheSentinelsNameNow)
{
    RedisProcess before;
    RedisProcess after;
    RedisProcess sentinel(sentinelOf(before));
    const RedisSettings settings = sentinelSettings({sentinel.port()});
    auto node1 = open(settings);
    auto node2 = open(settings);
    ASSERT_TRUE(waitUntil([&] { return node1->nearCacheReady() && node2->nearCacheReady(); }, std::chrono::seconds(5)));

    // The sentinels name another master now, and the old one stays up: the
    // store's connections move when they are dropped, the subscribers'
    // (CLIENT KILL TYPE normal spares them) would stay behind.
    ASSERT_EQ(sentinel.cli({"SENTINEL", "REMOVE", kMaster}), "OK");
    ASSERT_EQ(sentinel.cli({"SENTINEL", "MONITOR", kMaster, "127.0.0.1", std::to_string(after.port()), "1"}), "OK");
    ASSERT_NE(before.cli({"CLIENT", "KILL", "TYPE", "normal"}), "0");
    ASSERT_TRUE(waitUntil([&] { return node1->nearCacheReady() && node2->nearCacheReady(); }, std::chrono::seconds(10)))
        << "tracking never came back on the new master";
    EXPECT_EQ(before.cli({"CLIENT", "LIST", "TYPE", "pubsub"}), "") << "no subscriber left on the old master";

    ASSERT_TRUE(node1->create(session("m.n1")));
    ASSERT_TRUE(count(*node1, "m.n1", "n1", "1"));
    EXPECT_EQ(after.cli({"HGET", node1->hashKey("m.n1"), "a:count"}), "1");
    EXPECT_EQ(before.cli({"EXISTS", node1->hashKey("m.n1")}), "0");
    ASSERT_TRUE(count(*node2, "m.n1", "n2", "2"));
    EXPECT_TRUE(waitUntil([&] { return countOf(*node1, "m.n1") == "2"; }, std::chrono::seconds(5)))
        << "node2's write never reached node1's near cache on the new master";
}

namespace {

/// The newest client id among `redis`' clients of `type` (0: none).
long long newestClient(const RedisProcess& redis, const std::string& type)
{
    long long newest = 0;
    const std::string list = redis.cli({"CLIENT", "LIST", "TYPE", type});
    for (std::size_t at = list.find("id="); at != std::string::npos; at = list.find("id=", at + 3))
        newest = std::max(newest, std::stoll(list.substr(at + 3)));
    return newest;
}

/// Drops both of the store's connections to `master` and waits until both
/// are back (each asked the sentinels again).
::testing::AssertionResult reconnected(RedisSessionStore& store, const RedisProcess& master)
{
    const long long before = std::stoll(master.cli({"CLIENT", "ID"}));
    master.cli({"CLIENT", "KILL", "TYPE", "pubsub"});
    master.cli({"CLIENT", "KILL", "TYPE", "normal"});
    // The first PING after the kill fails (its connection is gone): an empty
    // problem means the pipeline connected again.
    if (waitUntil([&] { return newestClient(master, "pubsub") > before && store.healthProblem().empty() && store.nearCacheReady(); },
                  std::chrono::seconds(10)))
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "the store did not reconnect: " << store.healthProblem();
}

} // namespace

TEST(RedisSentinelTest, ASentinelThatHangsCostsItsShareOnceNotAtEveryReconnection)
{
    RedisProcess master;
    RedisProcess sentinel(sentinelOf(master));
    // Listed first: a host that accepts connections and never answers (a
    // frozen Redis). After SIGCONT it accepts what queued meanwhile, and its
    // count of connections tells how often the store tried it.
    RedisProcess hung;
    const long long before = std::stoll(hung.info("stats", "total_connections_received"));
    hung.pause();
    RedisSettings settings = sentinelSettings({hung.port(), sentinel.port()});
    settings.timeoutMs = 1000;
    const auto opened = std::chrono::steady_clock::now();
    auto store = open(settings);
    ASSERT_TRUE(store->create(session("h.n1")));
    ASSERT_TRUE(waitUntil([&] { return store->nearCacheReady(); }, std::chrono::seconds(5))) << store->healthProblem();
    EXPECT_EQ(store->discovery(), where(sentinel.port()) + "," + where(hung.port()));

    for (int round = 0; round < 3; ++round) ASSERT_TRUE(reconnected(*store, master)) << "round " << round;
    ASSERT_TRUE(count(*store, "h.n1", "n1", "1"));

    hung.resume();
    // Its own connection is the last one counted. The failover watch, once
    // answered (with an error: it is no sentinel), connects again after at
    // most reconnectMaxMs, which may come before that count: one more.
    const long long tried = std::stoll(hung.info("stats", "total_connections_received")) - before - 1;
    // The failover watch goes on trying to listen to every sentinel, by
    // design: once per timeout (and its first 50 ms backoff) that passed
    // until the count was read (a try queued just before it counts too).
    const long long watchRetries =
        (std::chrono::steady_clock::now() - opened) / std::chrono::milliseconds(settings.timeoutMs + 50);
    // The store's connection and its subscriber asked it first, and the
    // failover watch tried to listen to it; the connections did not again.
    EXPECT_GE(tried, 1) << "the first connections asked it";
    EXPECT_LE(tried, 3 + watchRetries + 1)
        << "asked again after it had cost a share of the deadline (both connections, 4 times each)";
}

TEST(RedisSentinelTest, SentinelsTheConfiguredOneListsAreAskedWhenItIsGone)
{
    RedisProcess master;
    RedisProcess configured(sentinelOf(master));
    RedisProcess other(sentinelOf(master));
    // Sentinels find each other through the master's hello channel (every 2 s).
    const std::string otherPort = std::to_string(other.port());
    ASSERT_TRUE(waitUntil([&] { return configured.cli({"SENTINEL", "SENTINELS", kMaster}).find(otherPort) != std::string::npos; },
                          std::chrono::seconds(15)));
    auto store = open(sentinelSettings({configured.port()}));
    ASSERT_TRUE(store->create(session("l.n1")));
    EXPECT_EQ(store->discovery(), where(configured.port()) + "," + where(other.port()));

    configured.kill();
    ASSERT_TRUE(reconnected(*store, master));
    EXPECT_EQ(store->discovery(), where(other.port()) + "," + where(configured.port()));
    ASSERT_TRUE(count(*store, "l.n1", "n1", "1"));
}

TEST(RedisSentinelTest, AFailoverTheOldMasterSurvivesMovesTheStoreAsSoonAsASentinelAnnouncesIt)
{
    // The first sentinel hangs, as one cut off with the old master would
    // hear of nothing: the second's announcement is heard all the same, long
    // before the first's silence could be noticed (timeoutMs).
    SurvivingMaster redis;
    RedisSettings settings = sentinelSettings({redis.first->port(), redis.second->port()});
    settings.timeoutMs = 30000;
    auto store = open(settings);
    ASSERT_TRUE(store->create(session("w.n1")));
    ASSERT_TRUE(count(*store, "w.n1", "n1", "1"));
    ASSERT_TRUE(waitUntil([&] { return listensTo(*store, {redis.first->port(), redis.second->port()}); }, std::chrono::seconds(5)))
        << "listening to '" << store->failoverWatch() << "'";
    redis.first->pause();
    ASSERT_EQ(store->connectedTo(), where(redis.master.port()));

    ASSERT_TRUE(redis.failOver());
    EXPECT_EQ(redis.master.cli({"ROLE"}).substr(0, 6), "master") << "both are masters now";
    ASSERT_NO_FATAL_FAILURE(redis.expectWritesOnTheNewMaster(*store, "w.n1"));
    EXPECT_NE(store->failoverWatch().find(where(redis.first->port())), std::string::npos)
        << "the hung sentinel's silence was noticed: the test proves nothing";
}

TEST(RedisSentinelTest, AFailoverAnnouncedWhileTheWatchListenedNowhereIsCaughtUpWithWhenItListensAgain)
{
    // The sentinel listened to dies, and the other refuses the watch's
    // SUBSCRIBE while it makes the failover: its announcement reaches no one.
    // Listening again, the watch asks where the master is, and moves the store.
    SurvivingMaster redis;
    ASSERT_EQ(redis.second->cli({"ACL", "SETUSER", "default", "-subscribe"}), "OK");
    auto store = open(sentinelSettings({redis.first->port(), redis.second->port()}));
    ASSERT_TRUE(store->create(session("w.n1")));
    ASSERT_TRUE(count(*store, "w.n1", "n1", "1"));
    ASSERT_TRUE(waitUntil([&] { return store->failoverWatch() == where(redis.first->port()); }, std::chrono::seconds(5)))
        << "listening to '" << store->failoverWatch() << "'";

    redis.first->kill();
    ASSERT_TRUE(waitUntil([&] { return store->failoverWatch().empty(); }, std::chrono::seconds(5)))
        << "listening to '" << store->failoverWatch() << "'";
    ASSERT_TRUE(redis.failOver());
    EXPECT_EQ(store->failoverWatch(), "") << "the watch heard the announcement: nothing to catch up with";
    EXPECT_EQ(store->connectedTo(), where(redis.master.port())) << "the store left the old master without the watch";

    ASSERT_EQ(redis.second->cli({"ACL", "SETUSER", "default", "+subscribe"}), "OK");
    ASSERT_TRUE(waitUntil([&] { return store->failoverWatch() == where(redis.second->port()); }, std::chrono::seconds(5)));
    ASSERT_NO_FATAL_FAILURE(redis.expectWritesOnTheNewMaster(*store, "w.n1"));
}

TEST(RedisSentinelTest, AFailoverAnnouncementIsReadForItsMasterOnlyAndAMalformedOneSaysWhatCame)
{
    const auto to = switchedMasterIn("sessions 127.0.0.1 6379 10.0.0.2 6380", "sessions");
    ASSERT_TRUE(to.has_value());
    EXPECT_EQ(to->text(), "10.0.0.2:6380");
    EXPECT_EQ(switchedMasterIn("other 127.0.0.1 6379 10.0.0.2 6380", "sessions"), std::nullopt);
    EXPECT_EQ(switchedMasterIn("::1 ::1 6379 ::2 6380", "::1")->text(), "[::2]:6380");
    for (const std::string bad : {"", "sessions 127.0.0.1 6379 10.0.0.2", "sessions a 6379 b 70000", "sessions a 6379 b x"})
    {
        std::string why = "no error";
        try
        {
            switchedMasterIn(bad, "sessions");
        }
        catch (const RedisSocketError& e)
        {
            why = e.what();
        }
        EXPECT_NE(why.find("unexpected +switch-master message: '" + bad + "'"), std::string::npos) << why;
    }
}

TEST(RedisSentinelTest, AnAnnouncedMasterDrainsTheConnectionNoCallFailsOrRunsTwice)
{
    // The pipeline's side of the announcement, in the middle of a burst:
    // what was sent to the old master is answered there, what was queued
    // behind goes to the new one, nothing fails and nothing runs twice. Both
    // stay masters (a name that moved, as the sentinels' answer does).
    const TwoMastersOneName masters;
    RedisPipeline pipeline(masters.settings(), Poco::Logger::get("test.redis.moved"));
    ASSERT_FALSE(pipeline.call({"PING"})->isError());
    const auto connected = pipeline.connectedAt();
    pipeline.masterMoved(pipeline.peer());
    ASSERT_FALSE(pipeline.call({"PING"})->isError());
    EXPECT_EQ(pipeline.connectedAt(), connected) << "the master it is on was announced: nothing to do";

    masters.name.pointTo(masters.after);
    constexpr int kWrites = 300;
    const BurstOutcome burst = incrBurst(pipeline, "moved:", kWrites, [&](int i) {
        if (i == kWrites / 2) pipeline.masterMoved("127.0.0.1:1");
    });
    ASSERT_EQ(burst.answered, kWrites) << burst.answered << " of " << kWrites << " answered";
    EXPECT_EQ(burst.failed, 0) << burst.firstError;
    const std::vector<std::string> sum{"EVAL", "local n = 0 for _, k in ipairs(redis.call('KEYS', 'moved:*')) do n = n + redis.call('GET', k) end return n", "0"};
    EXPECT_EQ(std::stoi(masters.before.cli(sum)) + std::stoi(masters.after.cli(sum)), kWrites) << "each write ran once";
    EXPECT_EQ(std::stoi(masters.before.cli({"DBSIZE"})) + std::stoi(masters.after.cli({"DBSIZE"})), kWrites);
    EXPECT_GE(std::stoi(masters.after.cli({"DBSIZE"})), kWrites / 2) << "those after the announcement went to the new master";
    EXPECT_GE(std::stoi(masters.before.cli({"DBSIZE"})), 1) << "the first, sent at once, was answered by the old master";
}

TEST(RedisSentinelTest, AnAnnouncedMasterEndsTheReconnectionBackoff)
{
    // After a crash the pipeline waits longer and longer between attempts
    // (up to reconnectMaxMs); a promotion announced meanwhile must not wait
    // for the next one.
    RedisProcess redis(RedisOptions{"", true});
    const MovingSocket name(redis);
    RedisSettings settings;
    settings.socket = name.path();
    settings.timeoutMs = 300;
    settings.reconnectMaxMs = 60000;
    RedisPipeline pipeline(settings, Poco::Logger::get("test.redis.moved"));
    // Six attempts in vain (nothing at the path) take the backoff to 1.6 s;
    // calls in between fail without one.
    int attempts = 0;
    ASSERT_TRUE(waitUntil([&] {
        if (pipeline.problem().find(" unavailable: ") == std::string::npos) ++attempts;
        return attempts == 6;
    }, std::chrono::seconds(10)));
    name.pointTo(redis);
    EXPECT_NE(pipeline.problem().find(" unavailable: "), std::string::npos) << "within the backoff";
    pipeline.masterMoved("127.0.0.1:1");
    EXPECT_EQ(pipeline.problem(), "");
}

namespace {

/// Stands in for the sentinels' answers, to time them: names `first` once,
/// when the test lets it answer, and `then` ever after. The instances are
/// real redis-servers.
class GatedLocator : public MasterLocator
{
public:
    GatedLocator(Endpoint first, Endpoint then) : _first(std::move(first)), _then(std::move(then)) {}

    Endpoint locate(Deadline) override
    {
        std::unique_lock<std::mutex> lock(_mutex);
        if (++_asked > 1) return _then;
        _waiting = true;
        _changed.notify_all();
        _changed.wait(lock, [&] { return _open; });
        return _first;
    }
    std::string text() const override { return "gated"; }
    std::string master() const override { return "master 'gated'"; }

    bool waiting()
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _waiting;
    }
    void open()
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _open = true;
        _changed.notify_all();
    }
    int asked()
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _asked;
    }

private:
    const Endpoint _first, _then;
    std::mutex _mutex;
    std::condition_variable _changed;
    int _asked = 0;
    bool _waiting = false, _open = false;
};

} // namespace

TEST(RedisSentinelTest, AMasterAnnouncedWhileAConnectionIsMadeIsWhereTheCallGoes)
{
    // The sentinels were asked just before the failover; the announcement
    // comes while that connection is being made, to the old master.
    RedisProcess before;
    RedisProcess after;
    auto locator = std::make_shared<GatedLocator>(Endpoint{"127.0.0.1", before.port()}, Endpoint{"127.0.0.1", after.port()});
    RedisSettings settings;
    settings.timeoutMs = 5000;
    RedisPipeline pipeline(settings, Poco::Logger::get("test.redis.moved"), locator);
    std::string reply;
    std::thread caller([&] {
        try
        {
            reply = pipeline.call({"INCR", "announced"})->toString();
        }
        catch (const StoreUnavailable& e)
        {
            reply = e.what();
        }
    });
    ASSERT_TRUE(waitUntil([&] { return locator->waiting(); }, std::chrono::seconds(5)));
    pipeline.masterMoved(after.address());
    locator->open();
    caller.join();
    EXPECT_EQ(reply, ":1\r\n") << "INCR answered 1";
    EXPECT_EQ(after.cli({"GET", "announced"}), "1") << "the call went to the announced master";
    EXPECT_EQ(before.cli({"EXISTS", "announced"}), "0");
    EXPECT_EQ(locator->asked(), 2);
}
