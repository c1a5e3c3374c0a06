// The redis store while a real Redis Cluster migrates the store's slot to
// another master, step by step as redis-cli --cluster reshard does it
// (IMPORTING, MIGRATING, MIGRATE key by key, SETSLOT NODE). Held half-way:
// a session already handed over is read and written on the importing node
// (ASK), one not yet on the slot's master, and the near cache serves no
// stale read of either; a session is made, given a new interval, removed
// and renamed although its keys and the index are split (TRYAGAIN), and a
// rename loses no write made while it copies; the expiry sweep claims
// nothing it cannot see whole. Under load: the whole migration fails no
// request and loses no write, and neither does redis-cli --cluster reshard
// moving it.
// And the ASK message, read without Redis.
#include "AskTargets.h"
#include "CounterSessions.h"
#include "RedisCluster.h"
#include "RedisClusterProcesses.h"
#include "RedisPipeline.h"
#include "RedisSessionStore.h"
#include "RedisSocket.h"
#include "ServerProcess.h"

#include <Poco/Logger.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <iostream>
#include <future>
#include <iterator>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace mt;
using namespace mt::redis;
using mt::test::RedisClusterProcesses;
using mt::test::RedisProcess;
using mt::test::SlotMigration;
using mt::test::waitUntil;
using namespace mt::redis::test;

namespace {

constexpr const char* kPassword = "migration-pass";
constexpr TimeMs kAllExpired = kNow + 3600 * 1000; // every session of these tests is idle past its interval by then

RedisSettings clusterSettings(const RedisProcess& seed)
{
    RedisSettings s;
    s.cluster.push_back({"127.0.0.1", seed.port()});
    s.password = kPassword;
    s.timeoutMs = 3000; // a call waiting out a TRYAGAIN lasts until the slot has moved
    s.reconnectMaxMs = 100;
    return s;
}

std::unique_ptr<RedisSessionStore> open(const RedisSettings& settings)
{
    return std::make_unique<RedisSessionStore>(settings, "/t", Poco::Logger::get("test.redis"));
}

/// Threads that count sessions through a store as fast as they can: writer
/// `w` sets the session sessionOf(w, n) to n, for n = 1, 2, ... (a bounded
/// number), each a read-modify-write request as a node makes it, until
/// stop() — at the latest when destroyed, whatever the test did.
class Writers
{
public:
    Writers(RedisSessionStore& store, int count, std::function<std::string(int writer, int n)> sessionOf)
        : _written(std::size_t(count))
    {
        for (int w = 0; w < count; ++w)
            _threads.emplace_back([this, &store, sessionOf, w] {
                for (int n = 1; n <= 500000 && !_stop; ++n)
                {
                    const std::string id = sessionOf(w, n);
                    const std::string why = failureOf([&] {
                        auto data = store.loadOwned(id);
                        if (!data) throw StoreUnavailable("the session is gone");
                        if (!store.save(delta(id, "n1", data->version, std::to_string(n))))
                            throw StoreUnavailable("the session is gone after the write");
                    });
                    if (why == "no error")
                    {
                        _written[std::size_t(w)] = n;
                        ++_writes;
                    }
                    else if (_failures++ == 0)
                    {
                        std::lock_guard<std::mutex> lock(_mutex);
                        _firstFailure = why;
                    }
                }
            });
    }
    ~Writers() { stop(); }

    void stop()
    {
        _stop = true;
        for (auto& thread : _threads)
            if (thread.joinable()) thread.join();
    }

    /// Whether every writer (`each`), or all of them together, wrote `more` times more within 20 s.
    bool wroteMore(int more, bool each)
    {
        std::vector<int> before;
        for (const auto& n : _written) before.push_back(n);
        const int total = _writes;
        return waitUntil(
            [&] {
                if (!each) return _writes >= total + more;
                for (std::size_t w = 0; w < before.size(); ++w)
                    if (_written[w] < before[w] + more) return false;
                return true;
            },
            std::chrono::seconds(20));
    }

    /// The last count writer `w` wrote.
    int written(int w) const { return _written[std::size_t(w)]; }
    int failures() const { return _failures; }
    std::string firstFailure()
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _firstFailure;
    }

private:
    std::atomic<bool> _stop{false};
    std::vector<std::atomic<int>> _written;
    std::atomic<int> _writes{0};
    std::atomic<int> _failures{0};
    std::mutex _mutex;
    std::string _firstFailure;
    std::vector<std::thread> _threads; // last: stopped before the rest goes
};

} // namespace

TEST(RedisMigrationTest, AnAskIsReadForTheNodeItNamesAndNothingElseIsTakenForOne)
{
    const auto node = askTargetIn("ASK 4528 127.0.0.1:7002");
    ASSERT_TRUE(node);
    EXPECT_EQ(node->host, "127.0.0.1");
    EXPECT_EQ(node->port, 7002);
    const auto v6 = askTargetIn("ASK 4528 ::1:7002"); // Redis writes IPv6 unbracketed
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 7002);
    for (const char* other : {"MOVED 4528 127.0.0.1:7002", "ASK 4528", "ASK 4528 127.0.0.1", "ASK 4528 127.0.0.1:",
                              "ASK 4528 127.0.0.1:99999", "ASK 4528 127.0.0.1:70x2", "ASKING", "TRYAGAIN Multiple keys"})
        EXPECT_FALSE(askTargetIn(other)) << other;
}

// Resharding over months, or nodes on new addresses, name more importing
// nodes than the limit: the idle connections make room, not ASK given up.
TEST(RedisMigrationTest, BeyondTheLimitOfImportingNodesTheLeastRecentlyUsedIdleConnectionMakesRoom)
{
    RedisSettings settings;
    settings.timeoutMs = 200;
    AskTargets targets(settings, Poco::Logger::get("mt.test.redis"));
    std::vector<std::shared_ptr<RedisPipeline>> held;
    for (int i = 0; i < int(kMaxEndpoints); ++i)
    {
        auto pipeline = targets.to(Endpoint{"127.0.0.1", 20000 + i});
        ASSERT_TRUE(pipeline) << i;
        held.push_back(pipeline);
    }
    EXPECT_FALSE(targets.to(Endpoint{"127.0.0.1", 30000})) << "every one is in use";
    std::weak_ptr<RedisPipeline> first = held[0], second = held[1];
    held.clear();
    ASSERT_TRUE(targets.to(Endpoint{"127.0.0.1", 20000})); // used again: now the most recent
    auto newcomer = targets.to(Endpoint{"127.0.0.1", 30000});
    ASSERT_TRUE(newcomer);
    EXPECT_TRUE(second.expired()) << "the least recently used went";
    ASSERT_FALSE(first.expired()) << "not the one used again";
    EXPECT_EQ(targets.to(Endpoint{"127.0.0.1", 20000}), first.lock());
}

TEST(RedisMigrationTest, HalfWaySessionsAreServedCreatedAndRemovedWhereTheyAreAndNothingStaleIsRead)
{
    RedisClusterProcesses cluster(kPassword);
    const RedisSettings settings = clusterSettings(*cluster.nodes().front());
    auto a = open(settings);
    auto b = open(settings);
    ASSERT_TRUE(waitUntil([&] { return a->nearCacheReady() && b->nearCacheReady(); }, std::chrono::seconds(5)))
        << a->healthProblem();
    // "m.n1" is handed over first, the others stay for now; all in a's near cache.
    for (const char* id : {"a.n1", "m.n1", "r.n1", "z.n1", "i.n1"})
    {
        ASSERT_TRUE(a->create(session(id)));
        ASSERT_TRUE(count(*a, id, "n1", "1"));
    }
    SessionData forever = session("f.n1");
    forever.maxInactiveInterval = 0;
    ASSERT_TRUE(a->create(forever));
    const std::string moved = a->hashKey("m.n1");
    RedisProcess* from = cluster.holderOf(moved);
    ASSERT_NE(from, nullptr);
    RedisProcess* to = cluster.masterOtherThan(*from);
    ASSERT_NE(to, nullptr);
    SlotMigration migration(cluster, keySlot(moved), *from, *to, kPassword);
    migration.start();
    migration.move(moved);

    // One ASKING covers one command: of a pipelined group, the command
    // answered ASK keeps that answer (the others ran where they were).
    // The test's own cluster client: it follows an ASK, so `read` finds a
    // key wherever it is now (a node's own cli answers ASK or MOVED instead).
    const std::string stays = a->hashKey("a.n1");
    RedisPipeline client(settings, Poco::Logger::get("test.redis"),
                         std::make_shared<ClusterMap>(settings, keySlot(moved), Poco::Logger::get("test.redis")));
    const auto read = [&](const std::vector<std::string>& command) { return bulkText(client.call(command)); };
    const auto group = client.callAll({{"HGET", moved, "a:count"}, {"HGET", stays, "a:count"}});
    ASSERT_EQ(group.size(), 2u);
    EXPECT_EQ(errorMessage(group[0]).rfind("ASK ", 0), 0u) << group[0]->toString();
    EXPECT_EQ(bulkText(group[1]), "1");
    EXPECT_EQ(client.askRedirects(), 0u);
    EXPECT_EQ(read({"HGET", moved, "a:count"}), "1") << "one command follows its ASK";
    EXPECT_EQ(client.askRedirects(), 1u);

    EXPECT_EQ(countOf(*a, "m.n1"), "1") << "read where the session is now";
    EXPECT_TRUE(count(*a, "m.n1", "n1", "2"));
    EXPECT_TRUE(count(*b, "m.n1", "n2", "3")) << "another node writes it there too";
    EXPECT_EQ(countOf(*a, "m.n1"), "3") << "a's near cache answered with what a wrote itself, not b's later write";
    EXPECT_TRUE(count(*a, "m.n1", "n1", "4")) << "a writes on top of b's write";
    bool touched = false;
    EXPECT_EQ(failureOf([&] { touched = a->touch("m.n1", kNow + 20); }), "no error")
        << "a read's access-time refresh needs the session's key alone";
    EXPECT_TRUE(touched);
    EXPECT_TRUE(count(*a, "a.n1", "n1", "2")) << "a session not handed over yet is served by the slot's master";
    EXPECT_EQ(from->cli({"HGET", a->hashKey("a.n1"), "a:count"}), "2");
    EXPECT_GE(a->askRedirects(), 3u);
    EXPECT_GE(b->askRedirects(), 2u);

    // The sweep reads every session it may claim before it writes: one it
    // cannot see (handed over) fails it whole, with "a.n1" untouched.
    EXPECT_NE(failureOf([&] { a->expire(kAllExpired, 10); }), "no error") << "m.n1 is not on the index's node";
    EXPECT_EQ(from->cli({"ZSCORE", a->indexKey(), "a.n1"}).empty(), false) << "a.n1 was claimed: its end is lost";
    EXPECT_EQ(from->cli({"EXISTS", stays}), "1");
    // The index handed over too: a sweep there would see "a.n1" as gone. It
    // does not follow the ASK, and waits for the end.
    migration.move(a->indexKey());
    EXPECT_NE(failureOf([&] { a->expire(kAllExpired, 10); }), "no error");
    EXPECT_NE(read({"ZSCORE", a->indexKey(), "a.n1"}), "") << "a.n1 was claimed while alive";
    EXPECT_EQ(from->cli({"EXISTS", stays}), "1");

    // A new session is made where the slot is going, its key first and its
    // index entry after: the script that does both would be refused.
    bool created = false;
    EXPECT_EQ(failureOf([&] { created = a->create(session("new.n1")); }), "no error") << "a new visitor waits for no migration";
    EXPECT_TRUE(created);
    EXPECT_FALSE(a->create(session("new.n1"))) << "its id is taken";

    // A new interval for "i.n1", on the slot's master, with the index on the
    // other node: its entry is moved earlier first, then the key is written.
    const std::uint64_t tryAgainsBefore = a->tryAgains() + b->tryAgains();
    const auto interval = [&](RedisSessionStore& store, int seconds, bool cached) {
        auto data = cached ? store.loadOwned("i.n1") : store.load("i.n1");
        if (!data) return std::string("gone");
        SessionDelta change = delta("i.n1", "n1", data->version, std::to_string(seconds));
        change.maxInactiveInterval = seconds;
        // As a node saves at the end of a request: without waiting, if the store can.
        auto done = std::make_shared<std::promise<std::exception_ptr>>();
        auto outcome = done->get_future();
        if (!store.saveAsync(change, [done](std::exception_ptr error) { done->set_value(error); }))
            return failureOf([&] { store.save(change); });
        if (outcome.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return std::string("no outcome");
        return failureOf([&] {
            if (auto error = outcome.get()) std::rethrow_exception(error);
        });
    };
    EXPECT_EQ(interval(*a, 60, true), "no error") << "from the near cache";
    EXPECT_EQ(read({"ZSCORE", a->indexKey(), "i.n1"}), std::to_string(kNow + 10 + 60 * 1000));
    EXPECT_EQ(interval(*b, 30, false), "no error") << "with the script, refused, then the block";
    EXPECT_EQ(read({"ZSCORE", a->indexKey(), "i.n1"}), std::to_string(kNow + 10 + 30 * 1000));
    EXPECT_EQ(interval(*a, 1800, true), "no error");
    EXPECT_EQ(read({"HGET", a->hashKey("i.n1"), "maxInactive"}), "1800");
    EXPECT_EQ(read({"ZSCORE", a->indexKey(), "i.n1"}), std::to_string(kNow + 10 + 30 * 1000)) << "moved only earlier";
    EXPECT_EQ(a->tryAgains() + b->tryAgains(), tryAgainsBefore) << "the interval changes waited";

    // "a.n1" is on the slot's master, the index on the other node: the
    // script that takes both is refused (TRYAGAIN). A logout waits for no
    // migration: the key is taken, then its index entry, at once.
    const std::uint64_t tryAgains = a->tryAgains();
    SessionStoreAdapter::DataPtr gone;
    EXPECT_EQ(failureOf([&] { gone = a->remove("a.n1"); }), "no error");
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->attributes.at("count"), "2");
    EXPECT_EQ(a->tryAgains(), tryAgains) << "the removal waited";
    EXPECT_EQ(read({"TYPE", stays}), "none");
    EXPECT_EQ(read({"ZSCORE", a->indexKey(), "a.n1"}), "");
    EXPECT_FALSE(b->remove("a.n1")) << "removed twice: its listeners would fire twice";

    // The index entry cannot go (ZREM refused): the removal still holds, and
    // the entry is dropped before this node sweeps, not claimed as a session
    // whose data the TTL dropped.
    const auto refuseZrem = [&](bool refuse) {
        for (auto& node : cluster.nodes()) node->cli({"ACL", "SETUSER", "default", refuse ? "-zrem" : "+zrem"});
    };
    refuseZrem(true);
    EXPECT_EQ(failureOf([&] { gone = a->remove("z.n1"); }), "no error");
    refuseZrem(false);
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->attributes.at("count"), "1");
    EXPECT_EQ(read({"TYPE", a->hashKey("z.n1")}), "none");
    EXPECT_NE(read({"ZSCORE", a->indexKey(), "z.n1"}), "") << "the test did not keep the entry";

    // A rename (a new id at login, another node's route) needs the old key,
    // the new one and the index at once: the record is copied to the new id,
    // then the old key deleted, unless written since the copy.
    bool renamed = false;
    EXPECT_EQ(failureOf([&] { renamed = a->rename("r.n1", "r.n2"); }), "no error") << "a login waits for no migration";
    EXPECT_TRUE(renamed);
    EXPECT_EQ(read({"TYPE", a->hashKey("r.n1")}), "none");
    EXPECT_EQ(read({"ZSCORE", a->indexKey(), "r.n1"}), "");
    EXPECT_EQ(read({"ZSCORE", a->indexKey(), "r.n2"}), std::to_string(kNow + 10 + 1800 * 1000));
    const auto ttl = integerValue(client.call({"PTTL", a->hashKey("r.n2")})).value_or(-1);
    EXPECT_GT(ttl, 1800 * 1000) << "the copy's TTL: the interval and the grace";
    EXPECT_EQ(countOf(*b, "r.n2"), "1") << "served under its new id";
    EXPECT_TRUE(a->rename("f.n1", "f.n2"));
    EXPECT_EQ(read({"ZSCORE", a->indexKey(), "f.n2"}), "inf") << "a session that never expires stays so";
    EXPECT_FALSE(a->rename("r.n1", "r.n3")) << "renamed twice";
    EXPECT_FALSE(a->rename("i.n1", "r.n2")) << "renamed onto a taken id";
    EXPECT_EQ(read({"HGET", a->hashKey("r.n2"), "a:count"}), "1");
    EXPECT_EQ(read({"HGET", a->hashKey("i.n1"), "a:count"}), "1800") << "a refused rename changed the session";
    EXPECT_EQ(a->tryAgains(), tryAgains) << "the renames waited";

    for (const std::string& key : migration.left()) migration.move(key);
    migration.finish();
    EXPECT_EQ(to->cli({"ZSCORE", a->indexKey(), "new.n1"}), std::to_string(kNow + 1800 * 1000)) << "indexed as create does";

    // The sweep drops the entry left behind first, and ends the other
    // four sessions, each with its data.
    EXPECT_NE(to->cli({"ZSCORE", a->indexKey(), "z.n1"}), "");
    std::vector<SessionData> ended = a->expire(kAllExpired, 10);
    EXPECT_EQ(to->cli({"ZSCORE", a->indexKey(), "z.n1"}), "");
    ASSERT_EQ(ended.size(), 4u);
    for (const SessionData& session : ended)
    {
        EXPECT_NE(session.id, "z.n1") << "a removed session ended again";
        EXPECT_EQ(session.creationTime, kNow) << session.id << " ended without its data";
        if (session.id == "m.n1")
        {
            EXPECT_EQ(session.attributes.at("count"), "4");
        }
    }
}

TEST(RedisMigrationTest, ARenameDuringAMigrationLosesNoWriteMadeWhileItCopies)
{
    // A session is renamed 30 times (copied, the old key deleted unless
    // written since) while another node writes it, one write per ms, each
    // adding an attribute of its own. A write that lands between a copy and
    // the deletion must make the rename copy again: every write the writer
    // saw succeed is in what the last id holds.
    RedisClusterProcesses cluster(kPassword);
    const RedisSettings settings = clusterSettings(*cluster.nodes().front());
    auto a = open(settings);
    auto b = open(settings);
    ASSERT_TRUE(a->create(session("k0.n1")));
    RedisProcess* from = cluster.holderOf(a->indexKey());
    ASSERT_NE(from, nullptr);
    RedisProcess* to = cluster.masterOtherThan(*from);
    ASSERT_NE(to, nullptr);
    SlotMigration migration(cluster, keySlot(a->indexKey()), *from, *to, kPassword);
    migration.start();
    migration.move(a->indexKey()); // every rename is refused whole now (TRYAGAIN)

    std::mutex mutex;
    std::string current = "k0.n1";
    std::atomic<bool> stop{false};
    std::vector<int> written; // under `mutex`
    std::atomic<int> writes{0};
    std::thread writer([&] {
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        for (int n = 1; n <= 100000 && !stop && std::chrono::steady_clock::now() < end; ++n)
        {
            std::string id;
            {
                std::lock_guard<std::mutex> lock(mutex);
                id = current;
            }
            try
            {
                auto data = b->loadOwned(id);
                SessionDelta write = delta(id, "n2", data ? data->version : 0, "");
                write.setAttributes = {{"w" + std::to_string(n), "1"}};
                if (data && b->save(write))
                {
                    std::lock_guard<std::mutex> lock(mutex);
                    written.push_back(n);
                    ++writes;
                }
            }
            catch (const StoreUnavailable&)
            {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1)); // a pace, not a wait for anything
        }
    });
    struct Joiner
    {
        std::thread& thread;
        std::atomic<bool>& stop;
        ~Joiner()
        {
            stop = true;
            if (thread.joinable()) thread.join();
        }
    } joiner{writer, stop};

    int copiedAgain = 0;
    for (int rename = 1; rename <= 30; ++rename)
    {
        ASSERT_TRUE(waitUntil([&] { return writes >= 5 * rename; }, std::chrono::seconds(10))) << "the writer stalled";
        const std::string next = "k" + std::to_string(rename) + ".n1";
        bool renamed = false;
        for (int attempt = 0; attempt < 10 && !renamed; ++attempt)
        {
            const std::string why = failureOf([&] { renamed = a->rename(current, next); });
            if (why != "no error") ++copiedAgain; // written during each of its copies
        }
        ASSERT_TRUE(renamed) << current << " -> " << next;
        std::lock_guard<std::mutex> lock(mutex);
        current = next;
    }
    stop = true;
    writer.join();
    const auto last = a->load(current);
    ASSERT_TRUE(last);
    int lost = 0;
    for (int n : written) lost += last->attributes.count("w" + std::to_string(n)) ? 0 : 1;
    EXPECT_EQ(lost, 0) << "of " << written.size() << " writes made meanwhile, lost during a copy";
    EXPECT_EQ(a->tryAgains(), 0u) << "a rename waited";
    std::cout << "renames that gave up, the session written during each of their copies: " << copiedAgain << "\n";
}

TEST(RedisMigrationTest, AWholeSlotMigrationUnderLoadFailsNoRequestAndLosesNoWrite)
{
    RedisClusterProcesses cluster(kPassword);
    RedisSettings settings = clusterSettings(*cluster.nodes().front());
    auto store = open(settings);
    ASSERT_TRUE(waitUntil([&] { return store->nearCacheReady(); }, std::chrono::seconds(5)));
    constexpr int kWriters = 8;
    for (int i = 0; i < kWriters; ++i) ASSERT_TRUE(store->create(session("w" + std::to_string(i) + ".n1")));
    const std::string first = store->hashKey("w0.n1");
    RedisProcess* from = cluster.holderOf(first);
    ASSERT_NE(from, nullptr);
    RedisProcess* to = cluster.masterOtherThan(*from);
    ASSERT_NE(to, nullptr);

    // Each writer counts its own session; every one gets on between two steps of the migration.
    Writers writers(*store, kWriters, [](int w, int) { return "w" + std::to_string(w) + ".n1"; });
    const auto eachWroteMore = [&] { return writers.wroteMore(20, true); };
    bool wroteThroughout = eachWroteMore();
    SlotMigration migration(cluster, keySlot(first), *from, *to, kPassword);
    migration.start();
    const std::vector<std::string> keys = migration.left();
    for (const std::string& key : keys)
    {
        migration.move(key);
        wroteThroughout = eachWroteMore() && wroteThroughout;
    }
    migration.finish();
    wroteThroughout = eachWroteMore() && wroteThroughout;
    writers.stop();

    EXPECT_EQ(keys.size(), std::size_t(kWriters + 1)) << "the sessions and the index";
    EXPECT_TRUE(wroteThroughout) << "the writers stalled during the migration";
    EXPECT_EQ(writers.failures(), 0) << "requests failed during the migration, the first: " << writers.firstFailure();
    EXPECT_GT(store->askRedirects(), 0u);
    EXPECT_EQ(from->cli({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(keySlot(first))}), "0");
    for (int i = 0; i < kWriters; ++i)
        EXPECT_EQ(to->cli({"HGET", store->hashKey("w" + std::to_string(i) + ".n1"), "a:count"}), std::to_string(writers.written(i)))
            << "writer " << i << ": the new master has its last write";
}

TEST(RedisMigrationTest, RedisCliReshardsTheSlotUnderLoadWithNoRequestFailed)
{
    RedisClusterProcesses cluster(kPassword);
    auto store = open(clusterSettings(*cluster.nodes().front()));
    ASSERT_TRUE(waitUntil([&] { return store->nearCacheReady(); }, std::chrono::seconds(5)));
    constexpr int kSessions = 200;
    constexpr int kWriters = 8;
    for (int i = 0; i < kSessions; ++i) ASSERT_TRUE(store->create(session("s" + std::to_string(i) + ".n1")));
    const std::string first = store->hashKey("s0.n1");
    RedisProcess* from = cluster.holderOf(first);
    ASSERT_NE(from, nullptr);
    RedisProcess* to = cluster.masterOtherThan(*from);
    ASSERT_NE(to, nullptr);
    const int slot = keySlot(first);
    // redis-cli moves a master's slots from its lowest: every one up to the
    // store's goes (all empty but the store's). `from` has one range, the
    // first field after its flags and link state in CLUSTER NODES.
    int lowest = -1;
    {
        std::istringstream lines(from->cli({"CLUSTER", "NODES"}));
        for (std::string line; std::getline(lines, line);)
        {
            if (line.find("myself") == std::string::npos) continue;
            std::istringstream in(line);
            const std::vector<std::string> fields{std::istream_iterator<std::string>(in), {}};
            if (fields.size() > 8) lowest = std::stoi(fields[8].substr(0, fields[8].find('-')));
        }
    }
    ASSERT_GE(lowest, 0);
    ASSERT_LE(lowest, slot);

    // Each writer counts the sessions of its own share.
    Writers writers(*store, kWriters, [](int w, int n) {
        return "s" + std::to_string(w + kWriters * (n % (kSessions / kWriters))) + ".n1";
    });
    const bool wroteBefore = writers.wroteMore(1000, false);
    const std::string out = from->cli({"--cluster", "reshard", from->address(), "--cluster-from",
                                       from->cli({"CLUSTER", "MYID"}), "--cluster-to", to->cli({"CLUSTER", "MYID"}),
                                       "--cluster-slots", std::to_string(slot - lowest + 1), "--cluster-yes"},
                                      std::chrono::seconds(120));
    const bool wroteAfter = writers.wroteMore(1000, false);
    writers.stop();

    ASSERT_TRUE(wroteBefore && wroteAfter) << "the writers stalled";
    ASSERT_EQ(to->cli({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}), std::to_string(kSessions + 1))
        << "redis-cli did not move the slot:\n" << out.substr(out.size() > 2000 ? out.size() - 2000 : 0);
    EXPECT_EQ(writers.failures(), 0) << "requests failed during the resharding, the first: " << writers.firstFailure();
    EXPECT_GT(store->askRedirects(), 0u) << "no request met a session handed over";
}
