// How the redis store reaches Redis, against a real redis-server: a password
// (requirepass), an ACL user limited to the store's own keys, a database
// other than 0, a Unix socket; and a clear StoreUnavailable, never the
// password, when the login is refused or the socket is not there. Each case
// runs the near cache too, whose invalidation subscriber logs in on its own
// connection.
#include "RedisProcess.h"
#include "RedisSessionStore.h"
#include "ServerProcess.h"

#include <Poco/Logger.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

using namespace mt;
using namespace mt::redis;
using mt::test::RedisOptions;
using mt::test::RedisProcess;
using mt::test::waitUntil;

namespace {

constexpr TimeMs kNow = 1700000000000;
constexpr const char* kPassword = "s3cret-pass";

SessionData session(const std::string& id)
{
    SessionData d;
    d.id = id;
    d.creationTime = kNow;
    d.lastAccessedTime = kNow;
    d.maxInactiveInterval = 1800;
    return d;
}

SessionDelta delta(const std::string& id, const std::string& node, std::uint64_t base, const std::string& count)
{
    SessionDelta d;
    d.id = id;
    d.node = node;
    d.lastAccessedTime = kNow + 10;
    d.baseVersion = base;
    d.setAttributes = {{"count", count}};
    return d;
}

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

/// What a failing call says: the StoreUnavailable's message, or "no error".
template <typename Call>
std::string failureOf(Call call)
{
    try
    {
        call();
    }
    catch (const StoreUnavailable& e)
    {
        return e.what();
    }
    return "no error";
}

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
