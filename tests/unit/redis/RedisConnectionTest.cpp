// How the redis store reaches Redis, against a real redis-server: a password
// (requirepass), an ACL user limited to the store's own keys, a database
// other than 0, a Unix socket, TLS (with a client certificate, big replies,
// concurrent callers, a connection Redis drops); and a clear
// StoreUnavailable, never the password, when the login is refused, the
// socket is not there or the certificate is not the one expected. Each case
// runs the near cache too, whose invalidation subscriber logs in on its own
// connection. And a master that becomes a replica under the store's open
// connection: the calls it refuses (READONLY) go to the master the name leads
// to now, none fails; a store left on the replica stays DOWN saying so; a
// stop while the connection drains still finishes every call.
#include "RedisPipeline.h"
#include "CounterSessions.h"
#include "IncrBurst.h"
#include "LogLines.h"
#include "MovingSocket.h"
#include "RedisProcess.h"
#include "RedisSessionStore.h"
#include "RedisSocket.h"
#include "ServerProcess.h"

#include <Poco/AutoPtr.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <Poco/Redis/Type.h>
#include <Poco/Util/MapConfiguration.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <pthread.h>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace mt;
using namespace mt::redis;
using mt::test::RedisOptions;
using mt::test::RedisProcess;
using mt::test::waitUntil;
using namespace mt::redis::test;

namespace {

constexpr const char* kPassword = "s3cret-pass";

RedisSettings baseSettings(const RedisProcess& redis)
{
    RedisSettings s;
    s.port = redis.port();
    s.timeoutMs = 300;
    s.reconnectMaxMs = 100;
    return s;
}

std::unique_ptr<RedisSessionStore> open(const RedisSettings& settings)
{
    return std::make_unique<RedisSessionStore>(settings, "/t", Poco::Logger::get("test.redis"));
}

/// Settings for a TLS Redis: its CA, the name its certificate carries, and
/// the client certificate when asked for.
RedisSettings tlsSettings(const RedisProcess& redis, const std::string& caFile, bool clientCertificate = false,
                          const std::string& serverName = "127.0.0.1")
{
    RedisSettings s = baseSettings(redis);
    TlsOptions options;
    options.caFile = caFile;
    options.serverName = serverName;
    if (clientCertificate)
    {
        options.certFile = redis.clientCertFile();
        options.keyFile = redis.clientKeyFile();
    }
    s.tls = std::make_shared<const TlsClient>(options);
    return s;
}

/// While alive, a SIGPIPE raised on this thread kills the process, as in a
/// host that neither ignores nor blocks it (this test binary starts with it
/// blocked; the server ignores it).
class SigpipeKills
{
public:
    SigpipeKills()
    {
        sigemptyset(&_pipe);
        sigaddset(&_pipe, SIGPIPE);
        const timespec now{};
        while (sigtimedwait(&_pipe, nullptr, &now) > 0) {} // one left pending by another test is not ours
        struct sigaction byDefault{};
        byDefault.sa_handler = SIG_DFL;
        sigaction(SIGPIPE, &byDefault, &_oldAction);
        pthread_sigmask(SIG_UNBLOCK, &_pipe, &_oldMask);
    }
    ~SigpipeKills()
    {
        pthread_sigmask(SIG_SETMASK, &_oldMask, nullptr);
        sigaction(SIGPIPE, &_oldAction, nullptr);
    }

private:
    sigset_t _pipe{}, _oldMask{};
    struct sigaction _oldAction{};
};

/// The store's whole round: create, the cached read-modify-write, and a
/// write by another store (another node) reaching this one's near cache
/// through the invalidation subscriber.
void expectTheStoreWorks(const RedisSettings& settings)
{
    auto node1 = open(settings);
    auto node2 = open(settings);
    ASSERT_TRUE(waitUntil([&] { return node1->nearCacheReady() && node2->nearCacheReady(); }, std::chrono::seconds(5)))
        << "the invalidation subscriber never came up: " << node1->healthProblem();
    ASSERT_TRUE(node1->create(session("c.n1")));
    auto mine = node1->loadOwned("c.n1");
    ASSERT_TRUE(mine);
    ASSERT_TRUE(node1->save(delta("c.n1", "n1", mine->version, "1")));
    auto other = node2->load("c.n1");
    ASSERT_TRUE(other);
    ASSERT_TRUE(node2->save(delta("c.n1", "n2", other->version, "2")));
    EXPECT_TRUE(waitUntil(
        [&] {
            auto seen = node1->loadOwned("c.n1");
            return seen && seen->attributes.count("count") && seen->attributes.at("count") == "2";
        },
        std::chrono::seconds(5)))
        << "node2's write never reached node1's near cache";
    // A day later: the expiry script claims it (a second sweep if the first
    // only moved an index entry older than the last access).
    const TimeMs dayLater = kNow + 24 * 3600 * 1000;
    std::size_t claimed = node1->expire(dayLater, 10).size();
    if (claimed == 0) claimed = node1->expire(dayLater, 10).size();
    EXPECT_EQ(claimed, 1u) << "the expiry script runs too";
    EXPECT_EQ(node1->healthProblem(), "");
}

} // namespace

TEST(RedisConnectionTest, ThePasswordAndADatabaseKeepEverythingInThatDatabase)
{
    RedisProcess redis(RedisOptions{kPassword});
    RedisSettings settings = baseSettings(redis);
    settings.password = kPassword;
    settings.database = 5;
    expectTheStoreWorks(settings);
    auto s = open(settings);
    ASSERT_TRUE(s->create(session("kept.n1")));
    EXPECT_EQ(redis.cli({"-n", "5", "EXISTS", s->hashKey("kept.n1")}), "1");
    EXPECT_EQ(redis.cli({"-n", "0", "DBSIZE"}), "0") << "nothing of the store's lands in database 0";
}

TEST(RedisConnectionTest, AnAclUserLimitedToTheStoresKeysIsEnough)
{
    RedisProcess redis(RedisOptions{kPassword});
    // The least a node needs: its own keys, the invalidation channel, and
    // commands; nothing else (Redis 7 grants no channel by default).
    ASSERT_EQ(redis.cli({"ACL", "SETUSER", "node", "on", ">node-pass", "~mt:default:*", "&__redis__:invalidate",
                         "+@all"}),
              "OK");
    RedisSettings settings = baseSettings(redis);
    settings.username = "node";
    settings.password = "node-pass";
    expectTheStoreWorks(settings);
    EXPECT_EQ(redis.cli({"ACL", "LOG"}), "") << "no command was refused";
}

TEST(RedisConnectionTest, ARefusedLoginIsAStoreUnavailableThatNamesAuthAndNeverThePassword)
{
    RedisProcess redis(RedisOptions{kPassword});
    RedisSettings settings = baseSettings(redis);
    settings.password = "not-the-password";
    auto s = open(settings);
    const std::string why = failureOf([&] { s->create(session("x.n1")); });
    EXPECT_NE(why.find("redis 127.0.0.1:" + std::to_string(redis.port())), std::string::npos) << why;
    EXPECT_NE(why.find("AUTH refused"), std::string::npos) << why;
    EXPECT_NE(why.find("WRONGPASS"), std::string::npos) << why;
    EXPECT_EQ(why.find("not-the-password"), std::string::npos) << why;
    EXPECT_NE(s->healthProblem().find("AUTH refused"), std::string::npos) << s->healthProblem();
    EXPECT_FALSE(s->nearCacheReady());
}

TEST(RedisConnectionTest, NoPasswordForARedisThatWantsOneIsAStoreUnavailableNotAnEmptySession)
{
    RedisProcess redis(RedisOptions{kPassword});
    auto s = open(baseSettings(redis));
    const std::string why = failureOf([&] { s->load("x.n1"); });
    EXPECT_NE(why.find("NOAUTH"), std::string::npos) << why;
    EXPECT_NE(s->healthProblem(), "");
}

TEST(RedisConnectionTest, AUnixSocketCarriesTheStoreAndItsInvalidations)
{
    RedisProcess redis(RedisOptions{"", true});
    RedisSettings settings = baseSettings(redis);
    settings.socket = redis.socketPath();
    expectTheStoreWorks(settings);
    auto s = open(settings);
    ASSERT_TRUE(s->create(session("u.n1")));
    const std::string clients = redis.cli({"CLIENT", "LIST"});
    EXPECT_NE(clients.find("addr=" + redis.socketPath()), std::string::npos) << "the store is on the socket: " << clients;
    redis.stop();
    const std::string why = failureOf([&] { s->load("u.n1"); });
    EXPECT_NE(why.find("redis unix:" + redis.socketPath()), std::string::npos) << why;
    redis.start();
    EXPECT_TRUE(waitUntil([&] { return s->healthProblem().empty(); }, std::chrono::seconds(5))) << s->healthProblem();
    EXPECT_NO_THROW(s->load("u.n1"));
}

TEST(RedisConnectionTest, AMissingSocketIsAQuickStoreUnavailableNamingThePath)
{
    RedisSettings settings;
    settings.socket = "/nonexistent/redis.sock";
    settings.timeoutMs = 300;
    auto s = open(settings);
    const auto start = std::chrono::steady_clock::now();
    const std::string why = failureOf([&] { s->load("x.n1"); });
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
    EXPECT_NE(why.find("redis unix:/nonexistent/redis.sock: connect: No such file or directory"), std::string::npos)
        << why;
}

TEST(RedisConnectionTest, TlsCarriesTheStoreAndItsInvalidationsAndSurvivesARestart)
{
    RedisProcess redis(RedisOptions{"", false, true});
    const RedisSettings settings = tlsSettings(redis, redis.caFile());
    expectTheStoreWorks(settings); // Redis listens on TLS only: this worked over TLS
    auto s = open(settings);
    ASSERT_TRUE(s->create(session("t.n1")));
    redis.stop();
    EXPECT_THROW(s->load("t.n1"), StoreUnavailable);
    redis.start();
    EXPECT_TRUE(waitUntil([&] { return s->healthProblem().empty(); }, std::chrono::seconds(5))) << s->healthProblem();
    EXPECT_NO_THROW(s->load("t.n1"));
}

TEST(RedisConnectionTest, OverTlsBigRepliesAndConcurrentCallersEachGetTheirOwn)
{
    RedisProcess redis(RedisOptions{"", false, true});
    RedisPipeline pipeline(tlsSettings(redis, redis.caFile()), Poco::Logger::get("test.redis"));
    // Megabytes each way: many TLS records, partial writes, and a reader
    // decrypting while callers encrypt on the same connection.
    std::atomic<int> wrong{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t)
        callers.emplace_back([&, t] {
            for (int i = 0; i < 20; ++i)
            {
                const std::string value(std::size_t(64 * 1024 * (1 + (i % 4))), char('a' + t));
                const Reply reply = pipeline.call({"ECHO", value});
                auto* bulk = dynamic_cast<const Poco::Redis::Type<Poco::Redis::BulkString>*>(reply.get());
                if (!bulk || bulk->value().isNull() || bulk->value().value() != value) ++wrong;
            }
        });
    for (auto& caller : callers) caller.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(pipeline.problem(), "");
}

TEST(RedisConnectionTest, ATlsConnectionRedisDropsIsReplacedWithoutADown)
{
    RedisProcess redis(RedisOptions{"", false, true});
    RedisPipeline pipeline(tlsSettings(redis, redis.caFile()), Poco::Logger::get("test.redis"));
    std::atomic<int> connectionEvents{0};
    pipeline.setConnectionListener([&] { ++connectionEvents; });
    ASSERT_EQ(pipeline.problem(), "");
    ASSERT_EQ(connectionEvents.load(), 1);
    redis.cli({"CLIENT", "KILL", "TYPE", "normal"}); // closed without a TLS close_notify
    ASSERT_TRUE(waitUntil([&] { return connectionEvents.load() == 2; }, std::chrono::seconds(5)))
        << "the reader noticed the close";
    EXPECT_EQ(pipeline.problem(), "") << "no DOWN: the next call reconnects at once";
    EXPECT_EQ(connectionEvents.load(), 3);
}

TEST(RedisConnectionTest, WritingTlsToARedisThatHungUpIsAnErrorNotASignal)
{
    // A write after Redis hung up must come back as an error from the stream
    // itself, whatever the host process does with SIGPIPE.
    const SigpipeKills sigpipeKills;
    RedisProcess redis(RedisOptions{"", false, true});
    const auto deadline = [] { return std::chrono::steady_clock::now() + std::chrono::seconds(2); };
    auto stream = openStream(tlsSettings(redis, redis.caFile()), deadline());
    RespParser parser;
    ASSERT_EQ(exchange(*stream, parser, {{"PING"}}, deadline()).size(), 1u);
    redis.stop();
    // The first write after the close draws Redis's reset, the next ones EPIPE.
    const std::string big(1 << 20, 'x');
    std::string error;
    for (int i = 0; i < 5 && error.empty(); ++i)
    {
        try
        {
            stream->sendAll(big, deadline());
        }
        catch (const RedisSocketError& e)
        {
            error = e.what();
        }
    }
    EXPECT_NE(error.find("send: "), std::string::npos) << error;
}

TEST(RedisConnectionTest, AServerCertificateFromAnotherCaIsRefusedSayingSo)
{
    RedisProcess redis(RedisOptions{"", false, true});
    auto s = open(tlsSettings(redis, redis.otherCaFile()));
    const auto start = std::chrono::steady_clock::now();
    const std::string why = failureOf([&] { s->load("x.n1"); });
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
    EXPECT_NE(why.find("TLS handshake: certificate verify failed"), std::string::npos) << why;
    EXPECT_NE(s->healthProblem().find("certificate verify failed"), std::string::npos) << s->healthProblem();
}

TEST(RedisConnectionTest, ACertificateForAnotherNameIsRefusedSayingSo)
{
    RedisProcess redis(RedisOptions{"", false, true});
    auto s = open(tlsSettings(redis, redis.caFile(), false, "redis.example.com"));
    const std::string why = failureOf([&] { s->load("x.n1"); });
    EXPECT_NE(why.find("certificate verify failed: hostname mismatch"), std::string::npos) << why;
    auto byName = open(tlsSettings(redis, redis.caFile(), false, "localhost"));
    EXPECT_NO_THROW(byName->load("x.n1")) << "the DNS name the certificate carries is accepted";
}

TEST(RedisConnectionTest, ARedisThatAsksForAClientCertificateGetsOneOrRefuses)
{
    RedisProcess redis(RedisOptions{"", false, true, true});
    auto without = open(tlsSettings(redis, redis.caFile()));
    const std::string why = failureOf([&] { without->load("x.n1"); });
    // Redis refuses at the first command, which the node sees as TLS's
    // alert or, when its write comes after Redis hung up, as a reset.
    EXPECT_NE(why.find("redis asked for a client certificate and none is configured"), std::string::npos) << why;
    EXPECT_NE(without->healthProblem().find("client certificate"), std::string::npos) << without->healthProblem();
    EXPECT_NE(why.find("redis 127.0.0.1:" + std::to_string(redis.port())), std::string::npos) << why;
    expectTheStoreWorks(tlsSettings(redis, redis.caFile(), true));
}

TEST(RedisConnectionTest, TlsFilesThatCannotBeUsedAreRefusedAtStartNamingTheKey)
{
    RedisProcess redis(RedisOptions{"", false, true});
    const std::string dir = std::filesystem::path(redis.caFile()).parent_path();
    auto refusal = [](std::map<std::string, std::string> values) -> std::string {
        Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
        config->setString("tls", "true");
        for (const auto& [key, value] : values) config->setString(key, value);
        try
        {
            RedisSettings::from(*config);
        }
        catch (const PluginConfigError& e)
        {
            return e.what();
        }
        return "accepted";
    };
    EXPECT_EQ(refusal({{"tlsCaFile", redis.caFile()}}), "accepted");
    EXPECT_NE(refusal({{"tlsCaFile", dir + "/missing.crt"}}).find("store.redis.tlsCaFile: cannot load '" + dir + "/missing.crt'"),
              std::string::npos);
    EXPECT_NE(refusal({{"tlsCaFile", dir + "/ca.key"}}).find("store.redis.tlsCaFile"), std::string::npos)
        << "a key is not a CA bundle";
    EXPECT_NE(refusal({{"tlsCertFile", redis.clientCertFile()}}).find("store.redis.tlsKeyFile: a client certificate needs both"),
              std::string::npos);
    const std::string mismatch = refusal({{"tlsCertFile", redis.clientCertFile()}, {"tlsKeyFile", dir + "/server.key"}});
    EXPECT_NE(mismatch.find("store.redis.tlsKeyFile: cannot load '" + dir + "/server.key'"), std::string::npos) << mismatch;
    EXPECT_NE(mismatch.find("key values mismatch"), std::string::npos) << mismatch;
}

TEST(RedisConnectionTest, AFailoverBehindTheSameAddressIsFollowedByBothConnections)
{
    // What a DNS name or a virtual IP does in a failover, played with a
    // symbolic link to a Unix socket: new connections reach the promoted
    // replica, open ones stay with the old master, which is a replica now.
    RedisProcess master(RedisOptions{"", true});
    RedisOptions replicaOptions{"", true};
    replicaOptions.replicaOf = master.port();
    RedisProcess replica(replicaOptions);
    const MovingSocket name(replica);
    name.pointTo(master);
    RedisSettings settings;
    settings.socket = name.path();
    settings.timeoutMs = 300;
    settings.reconnectMaxMs = 100;
    auto node1 = open(settings);
    auto node2 = open(settings);
    ASSERT_TRUE(waitUntil([&] { return node1->nearCacheReady() && node2->nearCacheReady(); }, std::chrono::seconds(5)));
    ASSERT_TRUE(node1->create(session("v.n1")));
    ASSERT_TRUE(count(*node1, "v.n1", "n1", "1"));
    ASSERT_TRUE(waitUntil([&] { return replica.caughtUpWith(master); }, std::chrono::seconds(10)));

    ASSERT_EQ(replica.cli({"REPLICAOF", "NO", "ONE"}), "OK");
    name.pointTo(replica);
    ASSERT_EQ(master.cli({"REPLICAOF", "127.0.0.1", std::to_string(replica.port())}), "OK");

    // Each store's first write meets READONLY on its old connection, which
    // Redis did not run: the store connects again and sends it there. No
    // request fails.
    EXPECT_EQ(failureOf([&] { EXPECT_TRUE(node1->save(delta("v.n1", "n1", 2, "2"))); }), "no error");
    EXPECT_EQ(replica.cli({"HGET", node1->hashKey("v.n1"), "a:count"}), "2");
    ASSERT_TRUE(waitUntil([&] { return countOf(*node2, "v.n1") == "2"; }, std::chrono::seconds(5)));
    EXPECT_TRUE(count(*node2, "v.n1", "n2", "3")) << node2->healthProblem();
    ASSERT_TRUE(waitUntil([&] { return count(*node2, "v.n1", "n2", "3"); }, std::chrono::seconds(5))) << node2->healthProblem();
    // Both near caches work again, with their subscribers on the new master:
    // one store's write reaches the other's cache.
    ASSERT_TRUE(waitUntil([&] { return node1->nearCacheReady() && node2->nearCacheReady(); }, std::chrono::seconds(10)));
    EXPECT_EQ(master.cli({"CLIENT", "LIST", "TYPE", "pubsub"}), "") << "no subscriber left on the old master";
    EXPECT_TRUE(waitUntil([&] { return countOf(*node1, "v.n1") == "3"; }, std::chrono::seconds(5)))
        << "node2's write never reached node1's near cache";
    ASSERT_TRUE(count(*node1, "v.n1", "n1", "4"));
    EXPECT_TRUE(waitUntil([&] { return countOf(*node2, "v.n1") == "4"; }, std::chrono::seconds(5)))
        << "node1's write never reached node2's near cache";
}

TEST(RedisConnectionTest, ARedisMadeAReplicaKeepsTheStoreDownUntilItIsAMasterAgain)
{
    // A Redis demoted with nothing in front of it to move (or a store
    // configured with a replica's address): after the READONLY, connecting
    // again reaches the same replica. The store must stay DOWN, saying why,
    // rather than look healthy between writes that all fail.
    RedisProcess redis;
    RedisProcess other;
    auto store = open(baseSettings(redis));
    ASSERT_TRUE(store->create(session("r.n1")));
    ASSERT_TRUE(count(*store, "r.n1", "n1", "1"));

    ASSERT_EQ(redis.cli({"REPLICAOF", "127.0.0.1", std::to_string(other.port())}), "OK");
    // The write answered READONLY goes again to a new connection, which finds the same replica.
    const std::string replica = "127.0.0.1:" + std::to_string(redis.port()) + " is a replica, not the master";
    const std::string refused = failureOf([&] { store->create(session("r2.n1")); });
    EXPECT_NE(refused.find(replica + " (it answered READONLY"), std::string::npos) << refused;
    ASSERT_TRUE(waitUntil([&] { return store->healthProblem().find(replica) != std::string::npos; }, std::chrono::seconds(5)))
        << store->healthProblem();
    // Through many backoffs (reconnectMaxMs is 100 ms), never healthy.
    EXPECT_FALSE(waitUntil([&] { return store->healthProblem().find(replica) == std::string::npos; }, std::chrono::seconds(1)))
        << store->healthProblem();
    EXPECT_NE(failureOf([&] { store->load("r.n1"); }).find(replica), std::string::npos) << "reads are refused too";

    ASSERT_EQ(redis.cli({"REPLICAOF", "NO", "ONE"}), "OK");
    ASSERT_TRUE(waitUntil([&] { return store->healthProblem().empty(); }, std::chrono::seconds(5))) << store->healthProblem();
    ASSERT_TRUE(store->create(session("r3.n1")));
    EXPECT_TRUE(count(*store, "r3.n1", "n1", "1"));
}

TEST(RedisConnectionTest, CallsQueuedBehindAReadonlyGoToTheNewMasterNoneFails)
{
    // A burst of writes while the name moves to another master: the first
    // meets READONLY; those sent with it are refused too, those queued
    // behind it are not sent to the old master at all. Every one must land
    // on the new master, once.
    const TwoMastersOneName masters;
    RedisPipeline pipeline(masters.settings(), Poco::Logger::get("test.redis.pipeline"));
    ASSERT_FALSE(pipeline.call({"PING"})->isError());
    const auto connected = pipeline.connectedAt();

    ASSERT_EQ(masters.before.cli({"REPLICAOF", "127.0.0.1", std::to_string(masters.after.port())}), "OK");
    masters.name.pointTo(masters.after);

    constexpr int kWrites = 300;
    const BurstOutcome burst = incrBurst(pipeline, "burst:", kWrites);
    ASSERT_EQ(burst.answered, kWrites) << burst.answered << " of " << kWrites << " answered";
    EXPECT_EQ(burst.failed, 0) << burst.firstError;
    EXPECT_EQ(masters.after.cli({"DBSIZE"}), std::to_string(kWrites));
    EXPECT_EQ(masters.after.cli({"GET", "burst:0"}), "1") << "run once";
    EXPECT_EQ(masters.after.cli({"GET", "burst:" + std::to_string(kWrites - 1)}), "1") << "run once";
    EXPECT_NE(pipeline.connectedAt(), connected) << "the READONLY moved the burst to a new connection";
}

TEST(RedisConnectionTest, DestroyingThePipelineWhileItDrainsFinishesTheCallsSetAsideToo)
{
    // A write refused with READONLY is set aside to be sent again once the
    // connection has drained; a read still blocked on it (XREAD BLOCK, which
    // a replica serves) keeps it draining. A stop then must still finish
    // the write's callback: a response waiting for it would hang.
    RedisProcess redis;
    RedisProcess other;
    Poco::Logger& logger = Poco::Logger::get("test.redis.drain");
    Poco::AutoPtr<mt::test::LogLines> lines(new mt::test::LogLines);
    logger.setChannel(lines);
    logger.setLevel(Poco::Message::PRIO_INFORMATION);
    RedisSettings settings = baseSettings(redis);
    settings.timeoutMs = 5000;
    auto pipeline = std::make_unique<RedisPipeline>(settings, logger);
    ASSERT_FALSE(pipeline->call({"PING"})->isError());
    ASSERT_EQ(redis.cli({"REPLICAOF", "127.0.0.1", std::to_string(other.port())}), "OK");

    std::atomic<int> finished{0};
    std::string writeError;
    std::mutex errorMutex;
    const auto count = [&](std::vector<Reply>, const std::string&) { ++finished; };
    // In flight first, so that the two after it leave together in one write.
    pipeline->callAllAsync({{"XREAD", "BLOCK", "200", "STREAMS", "drain:a", "$"}}, count);
    pipeline->callAllAsync({{"INCR", "drain:n"}}, [&](std::vector<Reply> replies, const std::string& error) {
        std::lock_guard<std::mutex> lock(errorMutex);
        writeError = error.empty() ? (replies.empty() ? "no reply" : replies.front()->toString()) : error;
        ++finished;
    });
    pipeline->callAllAsync({{"XREAD", "BLOCK", "3000", "STREAMS", "drain:b", "$"}}, count);
    ASSERT_TRUE(waitUntil([&] { return lines->contains("answered READONLY"); }, std::chrono::seconds(5)));
    ASSERT_TRUE(waitUntil([&] { return finished >= 1; }, std::chrono::seconds(5))) << "the first read came back";

    const auto start = std::chrono::steady_clock::now();
    pipeline.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2)) << "the stop did not wait for the blocked read";
    EXPECT_EQ(finished.load(), 3) << "every callback ran by the end of the stop";
    std::lock_guard<std::mutex> lock(errorMutex);
    EXPECT_NE(writeError.find("shutting down"), std::string::npos) << writeError;
    logger.setChannel(nullptr);
}
