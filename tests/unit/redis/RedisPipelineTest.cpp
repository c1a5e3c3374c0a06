// The pipelined connection (RedisPipeline.h) against a real redis-server:
// concurrent callers each get their own reply, MULTI ... EXEC blocks stay
// whole, an idle close is not an outage, a stopped or frozen Redis costs at
// most the timeout (and fails every call in flight with it), recovery needs
// no new pipeline, and destroying it releases a blocked caller.
#include "RedisPipeline.h"
#include "RedisProcess.h"
#include "RedisSocket.h"
#include "ServerProcess.h"
#include "TamperingProxy.h"

#include "mt/SessionStoreAdapter.h"

#include <Poco/Logger.h>
#include <Poco/Redis/Array.h>
#include <Poco/Redis/Error.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace mt;
using namespace mt::redis;
using mt::test::RedisProcess;
using mt::test::waitUntil;
using Poco::Redis::Array;
using Poco::Redis::BulkString;
using Poco::Redis::Type;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

/// A reply as RESP text, for messages ("null" for a missing one).
std::string describe(const Reply& reply)
{
    return reply ? reply->toString() : std::string("null");
}

/// The text of a simple or bulk string reply; `fallback` for any other reply.
std::string textOf(const Reply& reply, const std::string& fallback = "<not a string>")
{
    if (auto* simple = dynamic_cast<const Type<std::string>*>(reply.get())) return simple->value();
    if (auto* bulk = dynamic_cast<const Type<BulkString>*>(reply.get()))
        return bulk->value().isNull() ? fallback : bulk->value().value();
    return fallback;
}

/// The value of an integer reply; `fallback` for any other reply.
Poco::Int64 integerOf(const Reply& reply, Poco::Int64 fallback = -1)
{
    return integerValue(reply).value_or(fallback);
}

long long millisSince(Clock::time_point start)
{
    return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

/// Problems seen by worker threads, where a gtest assertion per reply would
/// flood the output: counted, and the first few kept for the failure message.
class Problems
{
public:
    void add(const std::string& what)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_count++ < 5) _first += what + "\n";
    }
    int count() const
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _count;
    }
    std::string first() const
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _first;
    }

private:
    mutable std::mutex _mutex;
    int _count = 0;
    std::string _first;
};

/// How one call in a thread ended: when, and with which StoreUnavailable if any.
struct Outcome
{
    Clock::time_point start;
    Clock::time_point end;
    bool unavailable = false;
    std::string error;

    long long millis() const { return std::chrono::duration_cast<milliseconds>(end - start).count(); }
};

Outcome timedCall(RedisPipeline& pipeline, const std::vector<std::string>& args)
{
    Outcome outcome;
    outcome.start = Clock::now();
    try
    {
        pipeline.call(args);
    }
    catch (const StoreUnavailable& e)
    {
        outcome.unavailable = true;
        outcome.error = e.what();
    }
    catch (const std::exception& e)
    {
        outcome.error = std::string("not a StoreUnavailable: ") + e.what();
    }
    outcome.end = Clock::now();
    return outcome;
}

class RedisPipelineTest : public ::testing::Test
{
protected:
    std::unique_ptr<RedisPipeline> pipeline(int timeoutMs)
    {
        RedisSettings settings;
        settings.port = _redis.port();
        settings.timeoutMs = timeoutMs;
        settings.reconnectMaxMs = 100; // recoveries within the test's patience
        return std::make_unique<RedisPipeline>(settings, Poco::Logger::get("test.redis.pipeline"));
    }
    std::string address() const { return "127.0.0.1:" + std::to_string(_redis.port()); }

    RedisProcess _redis;
};

} // namespace

TEST_F(RedisPipelineTest, ConcurrentCallersEachGetTheirOwnReply)
{
    // A generous timeout: this is about correlation, not speed, on a busy machine.
    auto p = pipeline(10000);
    constexpr int kThreads = 16;
    constexpr int kCalls = 500;
    Problems problems;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            const std::string key = "k" + std::to_string(t);
            for (int i = 0; i < kCalls; ++i)
            {
                // Each thread alone increments its key, so INCR must return
                // exactly its own count: a reply meant for another caller
                // shows at once. ECHO payloads are unique, binary, and now
                // and then large enough to arrive over several reads.
                const std::string payload = "t" + std::to_string(t) + "/" + std::to_string(i) + std::string("\r\n\0", 3) +
                                            std::string(i % 97 == 0 ? 100000 : std::size_t(i % 40), char('a' + t));
                try
                {
                    Reply counted = p->call({"INCR", key});
                    if (integerOf(counted) != i + 1)
                        problems.add("INCR " + key + " #" + std::to_string(i + 1) + " got " + describe(counted));
                    Reply echoed = p->call({"ECHO", payload});
                    if (textOf(echoed) != payload)
                        problems.add("ECHO from thread " + std::to_string(t) + " #" + std::to_string(i) + " got " +
                                     describe(echoed).substr(0, 80));
                }
                catch (const std::exception& e)
                {
                    problems.add(e.what());
                }
            }
        });
    for (auto& thread : threads) thread.join();

    EXPECT_EQ(problems.count(), 0) << problems.first();
    for (int t = 0; t < kThreads; ++t)
        EXPECT_EQ(textOf(p->call({"GET", "k" + std::to_string(t)})), std::to_string(kCalls)) << "thread " << t;
    EXPECT_EQ(p->commands(), std::uint64_t(kThreads * kCalls * 2 + kThreads));
    EXPECT_EQ(p->problem(), "");
}

TEST_F(RedisPipelineTest, MultiExecBlocksFromManyThreadsNeverInterleave)
{
    auto p = pipeline(10000);
    constexpr int kThreads = 8;
    constexpr int kBlocks = 200;
    Problems problems;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            const std::string key = "m" + std::to_string(t);
            for (int i = 0; i < kBlocks; ++i)
            {
                const std::string tag = "block " + std::to_string(t) + "/" + std::to_string(i);
                try
                {
                    // Another caller's command between MULTI and EXEC would
                    // land in this transaction (or a second MULTI would be
                    // "ERR MULTI calls can not be nested").
                    auto replies = p->callAll({{"MULTI"}, {"INCR", key}, {"ECHO", tag}, {"INCR", "total"}, {"EXEC"}});
                    if (replies.size() != 5u)
                    {
                        problems.add(tag + ": " + std::to_string(replies.size()) + " replies");
                        continue;
                    }
                    for (std::size_t r = 0; r < 4; ++r)
                        if (textOf(replies[r]) != (r == 0 ? "OK" : "QUEUED"))
                            problems.add(tag + ": reply " + std::to_string(r) + " is " + describe(replies[r]));
                    auto* exec = dynamic_cast<const Type<Array>*>(replies[4].get());
                    if (!exec || exec->value().isNull() || exec->value().size() != 3u)
                    {
                        problems.add(tag + ": EXEC gave " + describe(replies[4]));
                        continue;
                    }
                    const Array& results = exec->value();
                    const Poco::Int64 counted = results.get<Poco::Int64>(0); // throws if not an integer
                    if (counted != i + 1) problems.add(tag + ": INCR " + key + " gave " + std::to_string(counted));
                    if (results.get<BulkString>(1).value() != tag)
                        problems.add(tag + ": ECHO gave " + results.get<BulkString>(1).value());
                }
                catch (const std::exception& e)
                {
                    problems.add(tag + ": " + e.what());
                }
            }
        });
    for (auto& thread : threads) thread.join();

    EXPECT_EQ(problems.count(), 0) << problems.first();
    for (int t = 0; t < kThreads; ++t)
        EXPECT_EQ(textOf(p->call({"GET", "m" + std::to_string(t)})), std::to_string(kBlocks)) << "thread " << t;
    EXPECT_EQ(textOf(p->call({"GET", "total"})), std::to_string(kThreads * kBlocks));
    EXPECT_EQ(p->roundTrips(), std::uint64_t(kThreads * kBlocks + kThreads + 1)) << "a callAll() is one round trip";
}

TEST_F(RedisPipelineTest, AConnectionRedisClosesWhileIdleIsReplacedWithoutADown)
{
    auto p = pipeline(1000);
    std::atomic<int> connectionEvents{0};
    p->setConnectionListener([&] { ++connectionEvents; });
    ASSERT_EQ(textOf(p->call({"PING"})), "PONG");
    ASSERT_EQ(connectionEvents.load(), 1);

    // Killed by an operator (or a Redis restart): the reader sees the close
    // while nothing is asked.
    _redis.cli({"CLIENT", "KILL", "TYPE", "normal"});
    ASSERT_TRUE(waitUntil([&] { return connectionEvents.load() == 2; }, std::chrono::seconds(5)))
        << "the reader noticed the close";
    // Not a DOWN: no backoff, the very next call reconnects and works.
    EXPECT_EQ(textOf(p->call({"ECHO", "after kill"})), "after kill");
    EXPECT_EQ(connectionEvents.load(), 3);
    EXPECT_EQ(p->problem(), "");

    // Redis' own idle timeout closes it the same way.
    _redis.cli({"CONFIG", "SET", "timeout", "1"});
    ASSERT_TRUE(waitUntil([&] { return connectionEvents.load() == 4; }, std::chrono::seconds(10)))
        << "redis closed the idle connection";
    _redis.cli({"CONFIG", "SET", "timeout", "0"});
    EXPECT_EQ(textOf(p->call({"ECHO", "after timeout"})), "after timeout");
    EXPECT_EQ(p->problem(), "");
}

TEST_F(RedisPipelineTest, RedisStoppedIsAQuickStoreUnavailableAndRecoversWithoutANewPipeline)
{
    constexpr int kTimeoutMs = 1000;
    auto p = pipeline(kTimeoutMs);
    ASSERT_EQ(p->problem(), "");
    _redis.stop();

    const Outcome first = timedCall(*p, {"PING"});
    EXPECT_TRUE(first.unavailable) << first.error;
    EXPECT_NE(first.error.find(address()), std::string::npos) << first.error;
    EXPECT_LT(first.millis(), kTimeoutMs / 2) << "a refused connection is not waited for";

    // DOWN: within the backoff calls fail without touching the network (their
    // message is the remembered error), and each retry after it is refused at once.
    int refusedByBackoff = 0;
    for (int i = 0; i < 20; ++i)
    {
        const Outcome next = timedCall(*p, {"PING"});
        EXPECT_TRUE(next.unavailable) << next.error;
        EXPECT_LT(next.millis(), kTimeoutMs / 5) << "call " << i;
        if (next.error.find("redis " + address() + " unavailable: ") != std::string::npos) ++refusedByBackoff;
    }
    EXPECT_GT(refusedByBackoff, 0) << "the backoff spared Redis some attempts";
    const std::string problem = p->problem();
    EXPECT_NE(problem.find("redis " + address()), std::string::npos) << problem;

    _redis.start();
    ASSERT_TRUE(waitUntil([&] { return p->problem().empty(); }, std::chrono::seconds(5))) << p->problem();
    EXPECT_EQ(textOf(p->call({"ECHO", "back"})), "back");
}

TEST_F(RedisPipelineTest, APausedRedisFailsTheCallAndEveryCallInFlightWithinTheTimeout)
{
    constexpr int kTimeoutMs = 1000;
    constexpr int kOthers = 4;
    auto p = pipeline(kTimeoutMs);
    ASSERT_EQ(p->problem(), "");
    _redis.pause();

    const std::uint64_t before = p->commands();
    const auto firstStarted = Clock::now();
    Outcome first;
    std::thread firstThread([&] { first = timedCall(*p, {"INCR", "paused"}); });
    // The others join half-way through the first call's timeout: they must
    // fail with it, well before their own deadlines, since a reply that late
    // means the connection is stuck for everyone.
    const bool firstQueued = waitUntil([&] { return p->commands() == before + 1; }, std::chrono::seconds(5));
    waitUntil([&] { return Clock::now() >= firstStarted + milliseconds(kTimeoutMs / 2); },
              std::chrono::seconds(5), milliseconds(5));
    std::vector<Outcome> others(kOthers);
    std::vector<std::thread> otherThreads;
    for (int i = 0; i < kOthers; ++i)
        otherThreads.emplace_back([&, i] { others[std::size_t(i)] = timedCall(*p, {"PING"}); });
    const bool othersQueued =
        waitUntil([&] { return p->commands() == before + 1 + kOthers; }, std::chrono::seconds(5), milliseconds(1));
    firstThread.join();
    for (auto& thread : otherThreads) thread.join();
    ASSERT_TRUE(firstQueued);
    ASSERT_TRUE(othersQueued) << "the other calls were in flight";

    EXPECT_TRUE(first.unavailable) << first.error;
    EXPECT_NE(first.error.find("no reply within " + std::to_string(kTimeoutMs) + " ms"), std::string::npos)
        << first.error;
    EXPECT_GE(first.millis(), kTimeoutMs - 5) << "not before its deadline";
    EXPECT_LT(first.millis(), 3 * kTimeoutMs);
    for (const auto& other : others)
    {
        EXPECT_TRUE(other.unavailable) << other.error;
        EXPECT_LT(other.end - first.end, milliseconds(200)) << "failed together with the first call";
        EXPECT_LT(other.millis(), kTimeoutMs * 85 / 100) << "well before its own deadline";
    }

    _redis.resume();
    ASSERT_TRUE(waitUntil([&] { return p->problem().empty(); }, std::chrono::seconds(10))) << p->problem();
    EXPECT_EQ(integerOf(p->call({"INCR", "resumed"})), 1);
}

TEST_F(RedisPipelineTest, TheListenerHearsTheFirstConnectAndEveryDrop)
{
    constexpr int kTimeoutMs = 300;
    auto p = pipeline(kTimeoutMs);
    std::atomic<int> events{0};
    p->setConnectionListener([&] { ++events; });
    EXPECT_EQ(events.load(), 0) << "nothing connects before the first call";

    ASSERT_EQ(textOf(p->call({"PING"})), "PONG");
    EXPECT_EQ(events.load(), 1) << "first connect";

    _redis.cli({"CLIENT", "KILL", "TYPE", "normal"});
    EXPECT_TRUE(waitUntil([&] { return events.load() == 2; }, std::chrono::seconds(5))) << "dropped by redis";
    ASSERT_EQ(textOf(p->call({"PING"})), "PONG");
    EXPECT_EQ(events.load(), 3) << "reconnect";

    _redis.stop();
    EXPECT_TRUE(waitUntil([&] { return events.load() == 4; }, std::chrono::seconds(5))) << "dropped by a stop";
    EXPECT_THROW(p->call({"PING"}), StoreUnavailable);
    EXPECT_EQ(events.load(), 4) << "a refused connect is no connection";

    _redis.start();
    ASSERT_TRUE(waitUntil([&] { return p->problem().empty(); }, std::chrono::seconds(5))) << p->problem();
    EXPECT_EQ(events.load(), 5) << "reconnect after the restart";

    _redis.pause();
    EXPECT_THROW(p->call({"PING"}), StoreUnavailable);
    EXPECT_EQ(events.load(), 6) << "dropped by our own timeout";
    _redis.resume();
    ASSERT_TRUE(waitUntil([&] { return p->problem().empty(); }, std::chrono::seconds(5))) << p->problem();
    EXPECT_EQ(events.load(), 7);
}

TEST_F(RedisPipelineTest, AMalformedReplyFailsEveryCallOnItsConnectionAtOnceAndTheNextConnectionWorks)
{
    mt::redis::test::TamperingProxy proxy(_redis.port());
    RedisSettings settings;
    settings.port = proxy.port();
    settings.timeoutMs = 5000; // far beyond what the failure may take
    settings.reconnectMaxMs = 100;
    RedisPipeline p(settings, Poco::Logger::get("test.redis.pipeline"));
    ASSERT_EQ(textOf(p.call({"SET", "k", "before"})), "OK");

    // The first INCR leaves at once; the others queue behind its reply,
    // which arrives with bytes no Redis sends in front of it.
    proxy.corruptNextReply("?not RESP\r\n");
    constexpr int kCalls = 20;
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::string> outcomes;
    const auto start = Clock::now();
    for (int i = 0; i < kCalls; ++i)
        p.callAllAsync({{"INCR", "n"}}, [&](std::vector<Reply> replies, const std::string& error) {
            std::lock_guard<std::mutex> lock(mutex);
            outcomes.push_back(error.empty() ? "answered " + describe(replies.at(0)) : error);
            changed.notify_all();
        });
    {
        std::unique_lock<std::mutex> lock(mutex);
        ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return outcomes.size() == kCalls; }))
            << outcomes.size() << " of " << kCalls << " calls finished";
    }
    EXPECT_LT(millisSince(start), settings.timeoutMs) << "failed when the reply came, not at the deadline";
    // The offset counts from the connection's first byte: "+OK\r\n" came before.
    for (const std::string& outcome : outcomes)
        EXPECT_NE(outcome.find("malformed RESP reply at byte 5"), std::string::npos) << outcome;
    // What was sent ran (the caller was told it failed: its outcome is
    // unknown to it, as after any lost reply); what was queued never left.
    EXPECT_EQ(_redis.cli({"GET", "n"}), "1");

    // A new connection, after the backoff, is forwarded unchanged.
    ASSERT_TRUE(waitUntil([&] { return p.problem().empty(); }, std::chrono::seconds(5))) << p.problem();
    EXPECT_EQ(textOf(p.call({"GET", "k"})), "before");
    EXPECT_EQ(proxy.connections(), 2);
}

TEST_F(RedisPipelineTest, ACallPastItsDeadlineWhenItCouldBeSentAgainFailsAloneWithoutADown)
{
    // A READONLY makes the pipeline stop sending on that connection and wait
    // for what it sent; the calls Redis did not run then go to the next
    // connection. When that wait ends at a later call's deadline, the calls
    // answered READONLY before are past theirs: each must fail with its
    // timeout. Sent again, such a call fails the new connection, and the
    // store goes DOWN while Redis answers.
    mt::redis::test::TamperingProxy proxy(_redis.port());
    RedisSettings settings;
    settings.port = proxy.port();
    settings.timeoutMs = 1500;
    settings.reconnectMaxMs = 5000; // a DOWN would outlast the checks below
    RedisPipeline p(settings, Poco::Logger::get("test.redis.pipeline"));
    ASSERT_EQ(textOf(p.call({"PING"})), "PONG");

    std::mutex mutex;
    std::condition_variable changed;
    std::map<std::string, std::string> outcomes;
    auto record = [&](const std::string& name) {
        return [&, name](std::vector<Reply> replies, const std::string& error) {
            std::lock_guard<std::mutex> lock(mutex);
            outcomes[name] = error.empty() ? "answered " + describe(replies.at(0)) : error;
            changed.notify_all();
        };
    };
    // Redis holds the first call for 600 ms. The two behind it queue and
    // leave together once it is answered: a SET, whose OK the proxy turns
    // into READONLY, and a call Redis holds past its deadline. The SET's
    // deadline comes 50 ms before the held call's: the scenario, not a wait
    // for something to happen (it holds while the pause ends within the
    // first call's 600 ms).
    proxy.rewriteNext("+OK\r\n", "-READONLY You can't write against a read only replica.\r\n");
    p.callAllAsync({{"XREAD", "BLOCK", "600", "STREAMS", "s", "$"}}, record("first"));
    p.callAllAsync({{"SET", "k", "v"}}, record("set"));
    std::this_thread::sleep_for(milliseconds(50));
    p.callAllAsync({{"XREAD", "BLOCK", "10000", "STREAMS", "s", "$"}}, record("held"));
    {
        std::unique_lock<std::mutex> lock(mutex);
        ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return outcomes.size() == 3; }))
            << outcomes.size() << " of 3 calls finished";
    }
    EXPECT_EQ(outcomes["first"].rfind("answered ", 0), 0u) << outcomes["first"];
    EXPECT_NE(outcomes["set"].find("no reply within 1500 ms"), std::string::npos) << outcomes["set"];
    EXPECT_NE(outcomes["held"].find("no reply within 1500 ms"), std::string::npos) << outcomes["held"];
    EXPECT_EQ(p.problem(), "") << "Redis answers: the store must not be DOWN";
    EXPECT_EQ(textOf(p.call({"PING"})), "PONG");
}

TEST(RedisPollWait, IsNeverNegativeOnceADeadlineHasPassed)
{
    // poll() takes a negative timeout as "for ever".
    EXPECT_EQ(msLeft(Clock::now() - milliseconds(5)), 0);
    EXPECT_EQ(msLeft(Clock::now() - std::chrono::hours(1)), 0);
    const int left = msLeft(Clock::now() + milliseconds(300));
    EXPECT_GT(left, 250);
    EXPECT_LE(left, 300);
}

TEST_F(RedisPipelineTest, DestroyingThePipelineReleasesACallerBlockedOnAPausedRedis)
{
    // A timeout far beyond the test's bound: only the destructor can release
    // the caller. Several rounds, since what the caller does once released
    // races with the rest of the destructor.
    constexpr int kTimeoutMs = 30000;
    constexpr int kRounds = 50;
    _redis.pause(); // the kernel still accepts connections: each call connects, sends and waits
    for (int round = 0; round < kRounds; ++round)
    {
        SCOPED_TRACE("round " + std::to_string(round));
        auto p = pipeline(kTimeoutMs);
        Outcome blocked;
        std::thread caller([&, raw = p.get()] { blocked = timedCall(*raw, {"PING"}); });
        const bool inFlight = waitUntil([&] { return p->commands() == 1u; }, std::chrono::seconds(5), milliseconds(1));

        const auto destroying = Clock::now();
        p.reset();
        const long long destroyMillis = millisSince(destroying);
        caller.join();
        const long long releasedMillis = millisSince(destroying);

        ASSERT_TRUE(inFlight);
        EXPECT_LT(destroyMillis, 1000);
        EXPECT_LT(releasedMillis, 1000) << "the caller did not wait for its own deadline";
        EXPECT_TRUE(blocked.unavailable) << blocked.error;
        EXPECT_NE(blocked.error.find("shutting down"), std::string::npos) << blocked.error;
        if (HasFailure()) return;
    }
}
