// The redis store on a real Redis Cluster on loopback: three masters, a
// replica each, a password, plain or all on TLS. A store's keys share one
// slot, on the master that serves it, and contexts spread over the masters;
// the store follows a manual failover (its open connection gets MOVED) and a
// crash of its master, with nothing lost and its near cache back, finding
// the cluster through a seed node that is gone by then; a manual failover
// under load fails no request; a Redis without cluster support, or a wrong
// password, is a clear error.
#include "CounterSessions.h"
#include "RedisCluster.h"
#include "RedisClusterProcesses.h"
#include "RedisSessionStore.h"
#include "ServerProcess.h"

#include <Poco/Logger.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace mt;
using namespace mt::redis;
using mt::test::RedisClusterProcesses;
using mt::test::RedisProcess;
using mt::test::waitUntil;
using namespace mt::redis::test;

namespace {

constexpr const char* kPassword = "cluster-pass";

RedisSettings clusterSettings(const std::vector<const RedisProcess*>& seeds)
{
    RedisSettings s;
    for (const RedisProcess* seed : seeds) s.cluster.push_back({"127.0.0.1", seed->port()});
    s.password = kPassword;
    s.timeoutMs = 300;
    s.reconnectMaxMs = 100;
    if (seeds.front()->tls())
    {
        TlsOptions options;
        options.caFile = seeds.front()->caFile(); // no server name: each certificate names the host connected to
        s.tls = std::make_shared<const TlsClient>(options);
    }
    return s;
}

std::unique_ptr<RedisSessionStore> open(const RedisSettings& settings, const std::string& scope = "/t")
{
    return std::make_unique<RedisSessionStore>(settings, scope, Poco::Logger::get("test.redis"));
}

} // namespace

TEST(RedisClusterTest, AStoresKeysShareItsSlotOnTheMasterServingItAndContextsSpreadOverTheMasters)
{
    RedisClusterProcesses cluster(kPassword);
    const RedisSettings settings = clusterSettings({cluster.nodes().front()});
    auto node1 = open(settings);
    auto node2 = open(settings);
    ASSERT_TRUE(waitUntil([&] { return node1->nearCacheReady() && node2->nearCacheReady(); }, std::chrono::seconds(5)))
        << node1->healthProblem();
    ASSERT_TRUE(node1->create(session("k.n1")));
    ASSERT_TRUE(count(*node1, "k.n1", "n1", "1"));
    ASSERT_TRUE(count(*node2, "k.n1", "n2", "2"));
    EXPECT_TRUE(waitUntil([&] { return countOf(*node1, "k.n1") == "2"; }, std::chrono::seconds(5)))
        << "node2's write never reached node1's near cache";

    const std::string key = node1->hashKey("k.n1");
    const std::string slot = cluster.nodes().front()->cli({"CLUSTER", "KEYSLOT", key});
    EXPECT_EQ(slot, std::to_string(keySlot(key))) << "the store computes the slot as Redis does";
    EXPECT_EQ(cluster.nodes().front()->cli({"CLUSTER", "KEYSLOT", node1->indexKey()}), slot) << "the index shares it";
    RedisProcess* holder = cluster.holderOf(key);
    ASSERT_NE(holder, nullptr) << "no master holds " << key;
    EXPECT_EQ(holder->cli({"HGET", key, "a:count"}), "2");
    EXPECT_EQ(holder->cli({"ZSCORE", node1->indexKey(), "k.n1"}).empty(), false);
    // The seed's answer taught it every other node.
    const std::string discovery = node1->discovery();
    EXPECT_EQ(discovery.rfind("slot " + slot + ", asking ", 0), 0u) << discovery;
    for (const RedisProcess* node : cluster.nodes()) EXPECT_NE(discovery.find(node->address()), std::string::npos) << discovery;

    // The expiry sweep's script reaches the sessions it names from the index (same slot).
    const TimeMs dayLater = kNow + 24 * 3600 * 1000;
    std::size_t claimed = node1->expire(dayLater, 10).size();
    if (claimed == 0) claimed = node1->expire(dayLater, 10).size(); // the first may only move an entry older than the last access
    EXPECT_EQ(claimed, 1u);
    EXPECT_EQ(holder->cli({"EXISTS", key}), "0");

    // Other contexts: their own slots, on other masters too.
    std::set<unsigned short> masters{holder->port()};
    for (int i = 0; i < 8; ++i)
    {
        auto other = open(settings, "/context" + std::to_string(i));
        ASSERT_TRUE(other->create(session("c.n1"))) << other->healthProblem();
        RedisProcess* at = cluster.holderOf(other->hashKey("c.n1"));
        ASSERT_NE(at, nullptr);
        masters.insert(at->port());
    }
    EXPECT_EQ(masters.size(), 3u) << "nine contexts on three masters";
    EXPECT_EQ(node1->healthProblem(), "");
}

/// Plain, and everything on TLS: clients, replication and the cluster bus.
class RedisClusterFailover : public ::testing::TestWithParam<bool>
{
};

INSTANTIATE_TEST_SUITE_P(PlainAndTls, RedisClusterFailover, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Tls" : "Plain"; });

TEST_P(RedisClusterFailover, TheStoreFollowsAManualFailoverAndACrashOfItsMasterWithNothingLost)
{
    RedisClusterProcesses cluster(kPassword, GetParam());
    auto node1 = open(clusterSettings({cluster.nodes().front()}));
    ASSERT_TRUE(node1->create(session("f.n1")));
    const std::string key = node1->hashKey("f.n1");
    RedisProcess* first = cluster.holderOf(key);
    ASSERT_NE(first, nullptr);
    RedisProcess* second = cluster.replicaOf(*first);
    ASSERT_NE(second, nullptr);

    // Seeds: the replica first (it becomes the master, and is killed at the
    // end: the stores then find the cluster through the second seed), then
    // the master.
    const RedisSettings settings = clusterSettings({second, first});
    node1 = open(settings);
    auto node2 = open(settings);
    ASSERT_TRUE(waitUntil([&] { return node1->nearCacheReady() && node2->nearCacheReady(); }, std::chrono::seconds(5)));
    ASSERT_TRUE(count(*node1, "f.n1", "n1", "1"));
    ASSERT_TRUE(count(*node2, "f.n1", "n2", "2"));

    // A manual failover (no data lost by design): the old master is a
    // replica now, and answers the stores' open connections with MOVED. The
    // store sends the write again to the new master: no request fails.
    ASSERT_TRUE(waitUntil([&] { return second->caughtUpWith(*first); }, std::chrono::seconds(10)));
    ASSERT_EQ(second->cli({"CLUSTER", "FAILOVER"}), "OK");
    ASSERT_TRUE(waitUntil([&] { return second->cli({"ROLE"}).rfind("master", 0) == 0; }, std::chrono::seconds(10)));
    ASSERT_TRUE(waitUntil([&] { return first->cli({"ROLE"}).rfind("slave", 0) == 0; }, std::chrono::seconds(10)));
    EXPECT_TRUE(count(*node1, "f.n1", "n1", "3")) << "the MOVED write was not sent again: " << node1->healthProblem();
    ASSERT_TRUE(waitUntil([&] { return count(*node1, "f.n1", "n1", "3"); }, std::chrono::seconds(10))) << node1->healthProblem();
    EXPECT_EQ(second->cli({"HGET", key, "a:count"}), "3") << "written on the new master";
    ASSERT_TRUE(waitUntil([&] { return countOf(*node2, "f.n1") == "3"; }, std::chrono::seconds(5)));
    // node2's near cache may serve the read; its write meets MOVED and goes again too.
    EXPECT_TRUE(count(*node2, "f.n1", "n2", "4")) << "the MOVED write was not sent again: " << node2->healthProblem();
    ASSERT_TRUE(waitUntil([&] { return count(*node2, "f.n1", "n2", "4"); }, std::chrono::seconds(10))) << node2->healthProblem();
    ASSERT_TRUE(waitUntil([&] { return node1->nearCacheReady() && node2->nearCacheReady(); }, std::chrono::seconds(10)));
    EXPECT_TRUE(waitUntil([&] { return countOf(*node1, "f.n1") == "4"; }, std::chrono::seconds(5)))
        << "node2's write never reached node1's near cache after the failover";

    // A crash: the new master (also the seed listed first) dies; the cluster
    // promotes its replica, the old master, after the node timeout.
    ASSERT_TRUE(waitUntil([&] { return first->caughtUpWith(*second); }, std::chrono::seconds(10)));
    second->kill();
    ASSERT_TRUE(waitUntil([&] { return count(*node1, "f.n1", "n1", "5"); }, std::chrono::seconds(30)))
        << "no failover followed: " << node1->healthProblem();
    EXPECT_EQ(first->cli({"HGET", key, "a:count"}), "5");
    ASSERT_TRUE(waitUntil([&] { return node1->nearCacheReady() && node2->nearCacheReady(); }, std::chrono::seconds(10)));
    ASSERT_TRUE(waitUntil([&] { return count(*node2, "f.n1", "n2", "6"); }, std::chrono::seconds(10))) << node2->healthProblem();
    EXPECT_TRUE(waitUntil([&] { return countOf(*node1, "f.n1") == "6"; }, std::chrono::seconds(5)))
        << "node2's write never reached node1's near cache after the crash";
    EXPECT_EQ(node1->healthProblem(), "");
}

TEST(RedisClusterTest, ARedisThatIsNoClusterOrAWrongPasswordIsRefusedSayingSo)
{
    RedisProcess plain;
    RedisSettings notACluster;
    notACluster.cluster.push_back({"127.0.0.1", plain.port()});
    notACluster.timeoutMs = 300;
    const std::string why = failureOf([&] { open(notACluster)->create(session("x.n1")); });
    EXPECT_NE(why.find("no cluster node named the master of slot "), std::string::npos) << why;
    EXPECT_NE(why.find(plain.address() + ": CLUSTER refused: ERR This instance has cluster support disabled"), std::string::npos)
        << why;
    EXPECT_EQ(plain.cli({"DBSIZE"}), "0");

    // A node of a cluster (not yet formed: the login comes first).
    mt::test::RedisOptions nodeOptions;
    nodeOptions.clusterNode = true;
    nodeOptions.password = kPassword;
    RedisProcess node(nodeOptions);
    RedisSettings wrongPassword = clusterSettings({&node});
    wrongPassword.password = "not-the-password";
    const std::string refused = failureOf([&] { open(wrongPassword)->create(session("x.n1")); });
    EXPECT_NE(refused.find(node.address() + ": AUTH refused: WRONGPASS"), std::string::npos) << refused;
    EXPECT_EQ(refused.find("not-the-password"), std::string::npos) << refused;
}

TEST(RedisClusterTest, AManualFailoverUnderLoadFailsNoRequestAndLosesNoWrite)
{
    RedisClusterProcesses cluster(kPassword);
    RedisSettings settings = clusterSettings({cluster.nodes().front()});
    // A manual failover pauses the old master's writers until its replica has caught up.
    settings.timeoutMs = 2000;
    auto store = open(settings);
    constexpr int kWriters = 16;
    for (int i = 0; i < kWriters; ++i) ASSERT_TRUE(store->create(session("w" + std::to_string(i) + ".n1")));
    RedisProcess* master = cluster.holderOf(store->hashKey("w0.n1"));
    ASSERT_NE(master, nullptr);
    RedisProcess* replica = cluster.replicaOf(*master);
    ASSERT_NE(replica, nullptr);

    // Each writer counts its own session as fast as it can, a bounded number of times.
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0};
    std::vector<std::atomic<int>> written(kWriters);
    std::vector<std::thread> writers;
    for (int i = 0; i < kWriters; ++i)
        writers.emplace_back([&, i] {
            const std::string id = "w" + std::to_string(i) + ".n1";
            for (int n = 1; n <= 20000 && !stop; ++n)
            {
                if (count(*store, id, "n1", std::to_string(n)))
                    written[i] = n;
                else
                    ++failures;
            }
        });
    const auto eachWrote = [&](int atLeast) {
        for (auto& n : written)
            if (n < atLeast) return false;
        return true;
    };
    ASSERT_TRUE(waitUntil([&] { return eachWrote(50); }, std::chrono::seconds(10)));
    ASSERT_EQ(replica->cli({"CLUSTER", "FAILOVER"}), "OK");
    const bool promoted = waitUntil([&] { return replica->cli({"ROLE"}).rfind("master", 0) == 0; }, std::chrono::seconds(10));
    int after[kWriters];
    for (int i = 0; i < kWriters; ++i) after[i] = written[i];
    const bool wroteOn = waitUntil(
        [&] {
            for (int i = 0; i < kWriters; ++i)
                if (written[i] < after[i] + 50) return false;
            return true;
        },
        std::chrono::seconds(10));
    stop = true;
    for (auto& writer : writers) writer.join();

    ASSERT_TRUE(promoted);
    EXPECT_TRUE(wroteOn) << "the writers did not go on after the failover";
    EXPECT_EQ(failures.load(), 0) << "requests failed across the failover";
    for (int i = 0; i < kWriters; ++i)
        EXPECT_EQ(replica->cli({"HGET", store->hashKey("w" + std::to_string(i) + ".n1"), "a:count"}), std::to_string(written[i]))
            << "writer " << i << ": the new master has its last write";
}
