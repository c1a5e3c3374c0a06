// Two real microtomcat nodes sharing one real redis-server: a session is
// served by either node, survives the death of the node that made it (and
// moves to the survivor's route), loses no concurrent change, turns into a
// clean 503 while Redis is away and comes back by itself, and expires once
// cluster-wide. Also how a node reaches Redis: an ACL user, a Unix socket,
// TLS, Redis Sentinel through a failover, and a Redis Cluster through a
// crash of the master serving the counter's slot.
#include "RedisClusterProcesses.h"
#include "RedisProcess.h"
#include "ServerProcess.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <csignal>
#include <functional>
#include <future>
#include <map>
#include <set>
#include <thread>

using namespace mt::test;
using namespace std::chrono_literals;

namespace {

std::string nodeConfig(const std::string& name, unsigned short redisPort, const std::string& extra = "")
{
    return "node.name=" + name +
           "\nsession.store=redis\nstore.redis.port=" + std::to_string(redisPort) +
           "\nstore.redis.timeoutMs=300\nstore.redis.reconnectMaxMs=200\nsession.sweepInterval=1\n"
           "contexts=counter,cart,events\n"
           "context.counter.path=/counter\ncontext.counter.app=counter\n"
           "context.cart.path=/cart\ncontext.cart.app=cart\n"
           "context.events.path=/events\ncontext.events.app=events\n"
           "accesslog.enabled=false\n" + extra;
}

/// The id a Set-Cookie header gives, "" if none.
std::string cookieId(const HttpReply& reply)
{
    const std::string cookie = reply.header("Set-Cookie");
    const std::string prefix = "JSESSIONID=";
    if (cookie.rfind(prefix, 0) != 0) return {};
    return cookie.substr(prefix.size(), cookie.find(';') - prefix.size());
}

std::map<std::string, std::string> withCookie(const std::string& id)
{
    return {{"Cookie", "JSESSIONID=" + id}};
}

Poco::JSON::Object::Ptr json(const HttpReply& reply)
{
    Poco::JSON::Parser parser;
    return parser.parse(reply.body).extract<Poco::JSON::Object::Ptr>();
}

/// A Jolokia read of the /counter store's MBean on `node`: every attribute, or `attribute` alone.
HttpReply readCounterStore(const ServerProcess& node, const std::string& attribute = "")
{
    const std::string read = R"({"type":"read","mbean":"mt:type=SessionStore,store=redis,context=/counter")" +
                             (attribute.empty() ? std::string() : R"(,"attribute":")" + attribute + R"(")") + "}";
    return httpRequest(node.port(), "POST", "/jolokia/", {{"Content-Type", "application/json"}}, read);
}

class RedisSessionsTest : public ::testing::Test
{
protected:
    void startNodes(const std::string& extra = "")
    {
        a.writeConfig(nodeConfig("A", redis.port(), extra));
        b.writeConfig(nodeConfig("B", redis.port(), extra));
        a.start();
        b.start();
    }

    /// A failover's race: a session made on A; a request on A (`query`, a
    /// POST /events/set) reads it and holds on while B sets "two" in it,
    /// which moves it to B's route; then A's request goes on. Gives the id
    /// the session was made with, the one B moved it to, and A's answer.
    void holdAWhileBTakesOver(const std::string& query, std::string& id, std::string& moved, HttpReply& answer)
    {
        startNodes();
        const auto made = httpRequest(a.port(), "GET", "/events/new?ttl=600");
        ASSERT_EQ(made.status, 200) << made.body;
        id = made.body;
        ASSERT_EQ(id.substr(id.size() - 2), ".A");
        const std::string started = a.dir() + "/held-started", proceed = a.dir() + "/held-proceed";
        auto held = std::async(std::launch::async, [&] {
            return httpRequest(a.port(), "POST", query + "&started=" + started + "&proceed=" + proceed, withCookie(id));
        });
        ASSERT_TRUE(waitUntil([&] { return std::filesystem::exists(started); }, 10s)) << "A's request never read the session";
        const auto two = httpRequest(b.port(), "POST", "/events/set?name=two&value=2", withCookie(id));
        ASSERT_EQ(two.status, 200) << two.body;
        moved = two.body;
        ASSERT_EQ(moved, id.substr(0, id.size() - 1) + "B") << "B took the session over";
        std::ofstream(proceed).put('\n');
        answer = held.get();
        ASSERT_EQ(answer.status, 200) << answer.body;
    }

    RedisProcess redis;
    ServerProcess a{{MT_EVENTS_PLUGIN}};
    ServerProcess b{{MT_EVENTS_PLUGIN}};
};

} // namespace

TEST_F(RedisSessionsTest, ASessionMadeOnAIsReadAndWrittenOnB)
{
    startNodes();
    auto first = httpRequest(a.port(), "GET", "/counter/");
    const std::string id = cookieId(first);
    ASSERT_EQ(id.substr(id.size() - 2), ".A") << first.body;
    EXPECT_EQ(json(httpRequest(a.port(), "GET", "/counter/", withCookie(id)))->getValue<int>("count"), 2);

    auto onB = httpRequest(b.port(), "GET", "/counter/", withCookie(id));
    ASSERT_EQ(onB.status, 200) << onB.body;
    EXPECT_EQ(json(onB)->getValue<int>("count"), 3) << "B read A's writes and wrote its own";
    const std::string moved = cookieId(onB);
    EXPECT_EQ(moved, id.substr(0, id.size() - 1) + "B") << "same session, B's route";
    EXPECT_EQ(json(httpRequest(b.port(), "GET", "/counter/", withCookie(moved)))->getValue<int>("count"), 4);
    EXPECT_EQ(redis.cli({"EXISTS", "mt:default:/counter:s:" + id}), "0");
}

TEST_F(RedisSessionsTest, WhenAIsKilledBContinuesTheSessionUnderItsOwnRoute)
{
    startNodes();
    auto created = httpRequest(a.port(), "POST", "/cart/add?sku=apple&qty=2");
    const std::string id = cookieId(created);
    ASSERT_FALSE(id.empty()) << created.status << " " << created.body;
    ASSERT_EQ(httpRequest(a.port(), "POST", "/cart/add?sku=pear", withCookie(id)).status, 200);
    a.kill(); // SIGKILL: nothing flushed at exit, nothing needed

    auto onB = httpRequest(b.port(), "GET", "/cart/", withCookie(id));
    ASSERT_EQ(onB.status, 200) << onB.body;
    auto items = json(onB)->getObject("items");
    EXPECT_EQ(items->getValue<int>("apple"), 2);
    EXPECT_EQ(items->getValue<int>("pear"), 1);
    const std::string moved = cookieId(onB);
    ASSERT_EQ(moved, id.substr(0, id.size() - 1) + "B") << "stickiness follows the session to B";

    ASSERT_EQ(httpRequest(b.port(), "POST", "/cart/add?sku=plum", withCookie(moved)).status, 200);
    auto after = json(httpRequest(b.port(), "GET", "/cart/", withCookie(moved)))->getObject("items");
    EXPECT_EQ(after->size(), 3u);
    // A client still holding the old cookie lands on the same session.
    auto stale = httpRequest(b.port(), "GET", "/cart/", withCookie(id));
    EXPECT_EQ(json(stale)->getObject("items")->size(), 3u);
}

TEST_F(RedisSessionsTest, ConcurrentChangesToDifferentAttributesOnTwoNodesAreNeverLost)
{
    // Both nodes serve the same id at once here, which a sticky balancer only
    // does during a failover: keep ids as they are so neither moves it.
    startNodes("session.rewriteRoute=false\n");
    int lost = 0;
    for (int i = 0; i < 1000; ++i)
    {
        const std::string id = cookieId(httpRequest(a.port(), "POST", "/cart/add?sku=base"));
        ASSERT_FALSE(id.empty());
        HttpReply onA, onB;
        std::thread ta([&] { onA = httpRequest(a.port(), "POST", "/cart/add?sku=a" + std::to_string(i), withCookie(id)); });
        std::thread tb([&] { onB = httpRequest(b.port(), "POST", "/cart/add?sku=b" + std::to_string(i), withCookie(id)); });
        ta.join();
        tb.join();
        ASSERT_EQ(onA.status, 200) << onA.body;
        ASSERT_EQ(onB.status, 200) << onB.body;
        auto items = json(httpRequest(b.port(), "GET", "/cart/", withCookie(id)))->getObject("items");
        if (!items->has("a" + std::to_string(i)) || !items->has("b" + std::to_string(i)) || !items->has("base")) ++lost;
    }
    EXPECT_EQ(lost, 0) << "repetitions that lost a change";
}

TEST_F(RedisSessionsTest, AChangeMadeWhileAnotherNodeTookTheSessionOverFollowsItThere)
{
    // A's request reads the session under A's route and is still working
    // when B takes the session over (a client whose requests the balancer
    // sent to two nodes during a failover). A's change must land where the
    // session went, not vanish with a 200.
    std::string id, moved;
    HttpReply answer;
    ASSERT_NO_FATAL_FAILURE(holdAWhileBTakesOver("/events/set?name=one&value=1", id, moved, answer));

    const std::string key = "mt:default:/events:s:" + moved;
    EXPECT_EQ(redis.cli({"HGET", key, "a:two"}), "\"2\"");
    EXPECT_EQ(redis.cli({"HGET", key, "a:one"}), "\"1\"") << "A's change was lost";
    EXPECT_EQ(redis.cli({"EXISTS", "mt:default:/events:s:" + id}), "0") << "A's save made the old id again";
    EXPECT_EQ(redis.cli({"ZCARD", "mt:default:/events:expiry"}), "1");
}

TEST_F(RedisSessionsTest, ALoginWhileAnotherNodeTookTheSessionOverGivesTheNewIdWhereTheSessionWent)
{
    // A's request holds the session and changes its id (a login, the session
    // fixation defence) after B took the session over: the user stays logged
    // in, under a new id, with both changes; no old id leads to the session.
    std::string id, moved;
    HttpReply answer;
    ASSERT_NO_FATAL_FAILURE(holdAWhileBTakesOver("/events/set?name=user&value=ann&login=1", id, moved, answer));

    const std::string fresh = answer.body;
    EXPECT_EQ(cookieId(answer), fresh);
    EXPECT_EQ(fresh.substr(fresh.size() - 2), ".A");
    EXPECT_NE(fresh.substr(0, fresh.find('.')), id.substr(0, id.find('.'))) << "a new id, not another route";
    const std::string key = "mt:default:/events:s:" + fresh;
    EXPECT_EQ(redis.cli({"HGET", key, "a:user"}), "\"ann\"");
    EXPECT_EQ(redis.cli({"HGET", key, "a:two"}), "\"2\"") << "B's change was lost";
    for (const std::string& old : {id, moved})
    {
        EXPECT_EQ(redis.cli({"EXISTS", "mt:default:/events:s:" + old}), "0") << old;
        EXPECT_EQ(httpRequest(b.port(), "POST", "/events/set?name=planted&value=1", withCookie(old)).status, 404)
            << "the old id " << old << " still leads to the session";
    }
    EXPECT_EQ(redis.cli({"HEXISTS", key, "a:planted"}), "0");
    EXPECT_EQ(redis.cli({"ZRANGE", "mt:default:/events:expiry", "0", "-1"}), fresh);
}

TEST_F(RedisSessionsTest, RedisDownIs503AndHealthDownThenRecoversWithoutRestart)
{
    startNodes();
    const std::string id = cookieId(httpRequest(a.port(), "GET", "/counter/"));
    ASSERT_FALSE(id.empty());
    ASSERT_EQ(httpRequest(a.port(), "GET", "/health").status, 200);

    redis.stop();
    auto refused = httpRequest(a.port(), "GET", "/counter/", withCookie(id));
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_FALSE(refused.header("Retry-After").empty());
    EXPECT_EQ(refused.body, "session store unavailable; retry later\n") << "the store's address and error are not the client's";
    EXPECT_EQ(httpRequest(b.port(), "GET", "/counter/").status, 503);
    auto health = httpRequest(a.port(), "GET", "/health");
    EXPECT_EQ(health.status, 503);
    auto stores = json(health)->getObject("components")->getObject("sessionStores");
    EXPECT_EQ(stores->getValue<std::string>("status"), "DOWN");
    auto counter = stores->getObject("details")->getObject("counter");
    EXPECT_EQ(counter->getValue<std::string>("status"), "DOWN");
    EXPECT_NE(counter->getValue<std::string>("reason").find("redis"), std::string::npos);
    EXPECT_EQ(httpRequest(a.port(), "GET", "/ping").status, 200) << "the node itself keeps running";

    // The monitoring views say the store cannot count, rather than "0 sessions".
    auto status = json(httpRequest(a.port(), "GET", "/cluster/status"))->getArray("sessions");
    Poco::JSON::Object::Ptr counterStatus;
    for (std::size_t i = 0; i < status->size(); ++i)
        if (status->getObject(i)->getValue<std::string>("context") == "counter") counterStatus = status->getObject(i);
    ASSERT_TRUE(counterStatus);
    EXPECT_FALSE(counterStatus->getValue<bool>("available"));
    EXPECT_FALSE(counterStatus->has("active"));
    EXPECT_NE(counterStatus->getValue<std::string>("error").find("redis"), std::string::npos);
    EXPECT_EQ(counterStatus->getValue<int>("rejected"), 1) << "this node's own counters still show";
    const std::string metrics = httpRequest(a.port(), "GET", "/metrics").body;
    EXPECT_EQ(metrics.find("mt_sessions_active{context=\"counter\"}"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("mt_sessions_store_available{context=\"counter\"} 0\n"), std::string::npos) << metrics;
    const std::string read = R"({"type":"read","mbean":"Catalina:type=Manager,context=/counter,host=localhost","attribute":"activeSessions"})";
    auto active = json(httpRequest(a.port(), "POST", "/jolokia/", {{"Content-Type", "application/json"}}, read));
    EXPECT_NE(active->getValue<int>("status"), 200) << "not a count of 0";

    redis.start(); // same port, empty: the sessions are gone, the service is back
    for (ServerProcess* node : {&a, &b})
        EXPECT_TRUE(waitUntil([&] { return httpRequest(node->port(), "GET", "/counter/").status == 200; }, 10s));
    EXPECT_TRUE(waitUntil([&] { return httpRequest(a.port(), "GET", "/health").status == 200; }, 10s));
    EXPECT_NE(httpRequest(a.port(), "GET", "/metrics").body.find("mt_sessions_store_available{context=\"counter\"} 1\n"),
              std::string::npos);
    EXPECT_TRUE(a.running());
    EXPECT_TRUE(b.running());
}

TEST_F(RedisSessionsTest, HealthAsksEveryStoreAtOnce)
{
    startNodes(); // three contexts, each with its own connection to the one Redis
    ASSERT_EQ(httpRequest(a.port(), "GET", "/health").status, 200);
    redis.pause();
    const auto start = std::chrono::steady_clock::now();
    auto health = httpRequest(a.port(), "GET", "/health");
    const auto took = std::chrono::steady_clock::now() - start;
    redis.resume();
    EXPECT_EQ(health.status, 503);
    auto details = json(health)->getObject("components")->getObject("sessionStores")->getObject("details");
    for (const char* context : {"counter", "cart", "events"})
        EXPECT_EQ(details->getObject(context)->getValue<std::string>("status"), "DOWN") << context;
    // One store's timeout (300 ms), not one per context (900 ms).
    EXPECT_LT(took, 750ms);
}

TEST_F(RedisSessionsTest, EachStoreNamesItsReplyReaderAndItsInvalidationListener)
{
    startNodes(); // three contexts, each with its own two connections
    auto named = [&](const std::string& name) {
        auto names = a.threadNames();
        return std::count(names.begin(), names.end(), name);
    };
    EXPECT_TRUE(waitUntil([&] { return named("redis-replies") == 3 && named("redis-invalid") == 3; }, 5s))
        << named("redis-replies") << " redis-replies, " << named("redis-invalid") << " redis-invalid";
    EXPECT_EQ(named("microtomcat"), kThreadsNamedAfterTheExecutable) << "only the main thread keeps the executable's name";
}

TEST_F(RedisSessionsTest, HealthProbesAreNamedWhileTheyWaitForTheirStore)
{
    startNodes();
    redis.pause(); // each context's probe now waits out the 300 ms timeout
    auto health = std::async(std::launch::async, [&] { return httpRequest(a.port(), "GET", "/health").status; });
    std::vector<std::string> threads;
    const bool seen = waitUntil(
        [&] {
            threads = a.threadNames();
            return std::count(threads.begin(), threads.end(), "health-probe") == 3;
        },
        2s, 5ms);
    const int status = health.get(); // Redis still paused: the probes time out
    redis.resume();
    EXPECT_TRUE(seen) << "one health-probe per context";
    EXPECT_EQ(status, 503);
}

TEST_F(RedisSessionsTest, ASlowRedisIsA503WithinTheTimeout)
{
    startNodes();
    ASSERT_EQ(httpRequest(a.port(), "GET", "/counter/").status, 200);
    redis.pause();
    const auto start = std::chrono::steady_clock::now();
    auto reply = httpRequest(a.port(), "GET", "/counter/");
    const auto took = std::chrono::steady_clock::now() - start;
    redis.resume();
    EXPECT_EQ(reply.status, 503);
    EXPECT_LT(took, 2s) << "store.redis.timeoutMs=300 bounds the wait";
    EXPECT_TRUE(waitUntil([&] { return httpRequest(a.port(), "GET", "/counter/").status == 200; }, 10s));
}

TEST_F(RedisSessionsTest, RewriteRouteCanBeTurnedOffForOneContext)
{
    startNodes("context.counter.rewriteRoute=false\n");
    const std::string counter = cookieId(httpRequest(a.port(), "GET", "/counter/"));
    const std::string cart = cookieId(httpRequest(a.port(), "POST", "/cart/add?sku=apple"));
    ASSERT_FALSE(counter.empty());
    ASSERT_FALSE(cart.empty());

    auto counterOnB = httpRequest(b.port(), "GET", "/counter/", withCookie(counter));
    ASSERT_EQ(counterOnB.status, 200) << counterOnB.body;
    EXPECT_EQ(json(counterOnB)->getValue<int>("count"), 2);
    EXPECT_EQ(cookieId(counterOnB), "") << "the counter's sessions keep their id (and route) on B";
    // B wrote A's session in place. A copy A may hold (its only /counter
    // session) goes when the invalidation arrives on its own connection: the
    // window the README describes, which a slow machine makes visible.
    EXPECT_TRUE(waitUntil(
        [&] {
            auto reply = readCounterStore(a, "nearCacheEntries");
            return reply.status == 200 && json(reply)->getValue<long>("value") == 0;
        },
        5s));
    EXPECT_EQ(json(httpRequest(a.port(), "GET", "/counter/", withCookie(counter)))->getValue<int>("count"), 3);

    auto cartOnB = httpRequest(b.port(), "GET", "/cart/", withCookie(cart));
    ASSERT_EQ(cartOnB.status, 200) << cartOnB.body;
    EXPECT_EQ(cookieId(cartOnB), cart.substr(0, cart.size() - 1) + "B") << "the cart follows session.rewriteRoute";
}

TEST_F(RedisSessionsTest, AWriteThatFailsAfterTheHandlerRanIsA503AndLeavesNoStaleCopy)
{
    startNodes();
    auto first = httpRequest(a.port(), "GET", "/counter/");
    const std::string id = cookieId(first);
    ASSERT_FALSE(id.empty());
    // A few requests: A keeps the session (its route is A's) and writes it
    // without waiting in a worker (one MULTI/EXEC, answered when stored).
    for (int i = 2; i <= 6; ++i)
        ASSERT_EQ(json(httpRequest(a.port(), "GET", "/counter/", withCookie(id)))->getValue<int>("count"), i);

    redis.pause();
    const auto start = std::chrono::steady_clock::now();
    auto refused = httpRequest(a.port(), "GET", "/counter/", withCookie(id));
    const auto took = std::chrono::steady_clock::now() - start;
    redis.resume();
    // The handler ran on A's copy, but the write never got its answer: the
    // client must not see the new count.
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_FALSE(refused.header("Retry-After").empty());
    EXPECT_EQ(refused.body, "session store unavailable; retry later\n") << "the store's address and error are not the client's";
    EXPECT_LT(took, 2s) << "store.redis.timeoutMs=300 bounds the wait";

    // Whether Redis applied that write late is unknown to A; the next request
    // must start from what Redis holds, not from A's copy.
    ASSERT_TRUE(waitUntil([&] { return httpRequest(a.port(), "GET", "/ping").status == 200; }, 10s));
    HttpReply next;
    ASSERT_TRUE(waitUntil(
        [&] {
            next = httpRequest(a.port(), "GET", "/counter/", withCookie(id));
            return next.status == 200;
        },
        10s));
    const int stored = std::stoi(redis.cli({"HGET", "mt:default:/counter:s:" + id, "a:count"}));
    EXPECT_EQ(json(next)->getValue<int>("count"), stored);
}

TEST_F(RedisSessionsTest, ARedisOutOfMemoryIsA503WhoseCauseTheLogSaysWithoutALinePerRequest)
{
    startNodes();
    const std::string id = cookieId(httpRequest(a.port(), "GET", "/counter/"));
    ASSERT_FALSE(id.empty());
    ASSERT_EQ(redis.cli({"CONFIG", "SET", "maxmemory-policy", "noeviction"}), "OK");
    ASSERT_EQ(redis.cli({"CONFIG", "SET", "maxmemory", "1"}), "OK"); // every write refused: OOM

    // Both ways a request writes: its session's write after the handler
    // (MULTI/EXEC, whose cause is the command refused, not the EXECABORT
    // that follows), and a new session's creation inside the handler.
    constexpr int kRounds = 30;
    for (int i = 0; i < kRounds; ++i)
    {
        auto write = httpRequest(a.port(), "GET", "/counter/", withCookie(id));
        EXPECT_EQ(write.status, 503) << write.body;
        EXPECT_FALSE(write.header("Retry-After").empty());
        EXPECT_EQ(httpRequest(a.port(), "GET", "/counter/").status, 503);
        if (HasFailure()) break;
    }
    const std::string log = a.output();
    EXPECT_NE(log.find("response refused, its session write failed: redis MULTI/EXEC save failed: "), std::string::npos) << log;
    EXPECT_NE(log.find(" refused: OOM command not allowed"), std::string::npos) << log;
    EXPECT_NE(log.find("request /counter/ refused: session store unavailable: redis create script failed: OOM"),
              std::string::npos) << log;
    // One line per way, each repeated at most every 10 s (a slow run may see one more).
    std::size_t lines = 0;
    for (std::size_t at = log.find("OOM command"); at != std::string::npos; at = log.find("OOM command", at + 1)) ++lines;
    EXPECT_GE(lines, 2u) << log;
    EXPECT_LE(lines, 4u) << "not one per refused request: " << log;

    // Each refused request counts, the writes refused after the handler too.
    const std::string metrics = httpRequest(a.port(), "GET", "/metrics").body;
    EXPECT_NE(metrics.find("mt_sessions_rejected_total{context=\"counter\"} " + std::to_string(2 * kRounds) + "\n"),
              std::string::npos)
        << metrics;

    // Redis answers PING all along; /health still says the store is down for its users.
    auto health = httpRequest(a.port(), "GET", "/health");
    EXPECT_EQ(health.status, 503) << health.body;
    auto counter = json(health)->getObject("components")->getObject("sessionStores")->getObject("details")->getObject("counter");
    EXPECT_EQ(counter->getValue<std::string>("status"), "DOWN");
    EXPECT_NE(counter->getValue<std::string>("reason").find("OOM command not allowed"), std::string::npos) << health.body;

    ASSERT_EQ(redis.cli({"CONFIG", "SET", "maxmemory", "0"}), "OK");
    auto next = httpRequest(a.port(), "GET", "/counter/", withCookie(id));
    ASSERT_EQ(next.status, 200) << next.body;
    EXPECT_EQ(httpRequest(a.port(), "GET", "/health").status, 200) << "a write went through: the store is back";
    EXPECT_EQ(json(next)->getValue<int>("count"), 2) << "no refused write left a trace";
}

TEST_F(RedisSessionsTest, AStopWhileAResponseWaitsForItsWriteEndsCleanly)
{
    startNodes();
    const std::string id = cookieId(httpRequest(a.port(), "GET", "/counter/"));
    ASSERT_FALSE(id.empty());
    for (int i = 0; i < 5; ++i) ASSERT_EQ(httpRequest(a.port(), "GET", "/counter/", withCookie(id)).status, 200);

    // The write of this request hangs in a paused Redis while A is told to
    // stop: the drain waits for it (it counts as in flight), its answer is a
    // 503 when the write times out, and A exits normally, crash-free.
    redis.pause();
    HttpReply waiting;
    std::thread client([&] { waiting = httpRequest(a.port(), "GET", "/counter/", withCookie(id)); });
    // Stop only once the request is in flight (Jolokia's figure needs no
    // session store; the read counts itself too). The thread is joined
    // before anything is asserted.
    const std::string read =
        R"({"type":"read","mbean":"Catalina:type=GlobalRequestProcessor,*","attribute":"activeRequests"})";
    const bool inFlight = waitUntil(
        [&] {
            auto reply = httpRequest(a.port(), "POST", "/jolokia/", {{"Content-Type", "application/json"}}, read);
            if (reply.status != 200) return false;
            auto value = json(reply)->getObject("value");
            for (const auto& [name, figures] : *value)
                if (figures.extract<Poco::JSON::Object::Ptr>()->getValue<int>("activeRequests") >= 2) return true;
            return false;
        },
        5s);
    const auto stopAt = std::chrono::steady_clock::now();
    const int code = a.stop(10s);
    client.join();
    redis.resume();
    ASSERT_TRUE(inFlight) << "the request never reached A";
    EXPECT_EQ(code, 0) << a.output();
    EXPECT_LT(std::chrono::steady_clock::now() - stopAt, 5s);
    EXPECT_EQ(waiting.status, 503) << waiting.body;
    EXPECT_FALSE(waiting.header("Retry-After").empty());
    EXPECT_EQ(a.output().find("Segmentation"), std::string::npos);
}

TEST_F(RedisSessionsTest, TheStoreReportsItsLoadAndItsNearCacheOverJolokia)
{
    startNodes();
    auto readStore = [&] {
        auto reply = readCounterStore(a);
        EXPECT_EQ(reply.status, 200) << reply.body;
        return reply.status == 200 ? json(reply)->getObject("value") : nullptr;
    };
    const std::string id = cookieId(httpRequest(a.port(), "GET", "/counter/"));
    ASSERT_FALSE(id.empty());
    // The store connects at its first use; its near cache turns on at a
    // request once the tracking connection is up, which on a busy machine
    // may take a moment more.
    ASSERT_TRUE(waitUntil(
        [&] {
            httpRequest(a.port(), "GET", "/counter/", withCookie(id));
            auto v = readStore();
            return v && v->getValue<bool>("nearCacheActive");
        },
        10s));
    for (int i = 0; i < 10; ++i) ASSERT_EQ(httpRequest(a.port(), "GET", "/counter/", withCookie(id)).status, 200);

    auto value = readStore();
    ASSERT_TRUE(value);
    EXPECT_NE(value->getValue<std::string>("address").find(std::to_string(redis.port())), std::string::npos);
    EXPECT_EQ(value->getValue<std::string>("connectedTo"), "127.0.0.1:" + std::to_string(redis.port()));
    EXPECT_GE(value->getValue<long>("commands"), value->getValue<long>("roundTrips"));
    EXPECT_GT(value->getValue<long>("roundTrips"), 0);
    EXPECT_TRUE(value->getValue<bool>("nearCacheActive"));
    EXPECT_GE(value->getValue<long>("nearCacheHits"), 5) << "A owns the session: most reads need no Redis";
    EXPECT_EQ(value->getValue<long>("nearCacheWaits"), 0) << "a response leaves after its write: sequential requests never wait";
    EXPECT_EQ(value->getValue<long>("staleWrites"), 0);
}

TEST_F(RedisSessionsTest, ExpiryFiresTheDestroyedListenerOnceClusterWide)
{
    startNodes();
    std::set<std::string> made;
    for (int i = 0; i < 15; ++i)
        for (ServerProcess* node : {&a, &b})
        {
            auto reply = httpRequest(node->port(), "GET", "/events/new?ttl=1");
            ASSERT_EQ(reply.status, 200) << reply.body;
            made.insert(reply.body);
        }
    ASSERT_EQ(made.size(), 30u);

    std::multiset<std::string> destroyed;
    auto collect = [&] {
        destroyed.clear();
        for (ServerProcess* node : {&a, &b})
        {
            auto expired = json(httpRequest(node->port(), "GET", "/events/destroyed"))->getArray("expired");
            for (std::size_t i = 0; i < expired->size(); ++i) destroyed.insert(expired->getElement<std::string>(i));
        }
    };
    // Both sweepers run every second; once Redis holds nothing for the
    // context there is nothing left that could fire a second time.
    ASSERT_TRUE(waitUntil(
        [&] {
            collect();
            return destroyed.size() >= made.size() && redis.cli({"ZCARD", "mt:default:/events:expiry"}) == "0";
        },
        15s, 100ms))
        << destroyed.size() << " destroyed events";
    collect();
    EXPECT_EQ(destroyed.size(), made.size());
    for (const auto& id : made) EXPECT_EQ(destroyed.count(id), 1u) << id;
    EXPECT_EQ(redis.cli({"KEYS", "mt:default:/events:s:*"}), "");
}

TEST_F(RedisSessionsTest, ANodeThatCannotListenExitsWithTheReasonAndNothingWorse)
{
    // The contexts, and their Redis store with its MBean, exist before the
    // listener fails: they must go while what they registered with is alive.
    Poco::Net::ServerSocket taken(Poco::Net::SocketAddress("127.0.0.1", 0));
    a.writeConfig(nodeConfig("A", redis.port(), "http.port=" + std::to_string(taken.address().port()) + "\n"));
    std::string output;
    const int code = a.runToExit({"--config", a.configPath()}, output, 20s);
    EXPECT_EQ(code, 70) << "EX_SOFTWARE, not a crash: " << output;
    EXPECT_NE(output.find("cannot start"), std::string::npos) << output;
    EXPECT_NE(output.find(std::to_string(taken.address().port())), std::string::npos) << output;
}

namespace {

/// One node with the counter app on the Redis store, reached as `store` (store.redis.* lines) says.
std::string counterNodeConfig(const std::string& store, const std::string& name = "A")
{
    return "node.name=" + name + "\nsession.store=redis\n" + store +
           "contexts=counter\ncontext.counter.path=/counter\ncontext.counter.app=counter\naccesslog.enabled=false\n";
}

/// Two counter requests on one new session through the node: the second
/// must count 2. Returns the session's id ("" after a failure).
std::string countTwice(ServerProcess& node)
{
    const std::string id = cookieId(httpRequest(node.port(), "GET", "/counter/"));
    if (id.empty())
    {
        ADD_FAILURE() << "no session: " << node.output();
        return {};
    }
    auto second = httpRequest(node.port(), "GET", "/counter/", withCookie(id));
    if (second.status != 200)
    {
        ADD_FAILURE() << second.status << " " << second.body;
        return {};
    }
    EXPECT_EQ(json(second)->getValue<int>("count"), 2);
    EXPECT_EQ(httpRequest(node.port(), "GET", "/health").status, 200);
    return id;
}

HttpReply reload(ServerProcess& node)
{
    return httpRequest(node.port(), "POST", "/admin/reload", {{"Authorization", "Bearer " + node.adminToken()}});
}

/// The address the /counter store's MBean gives, or why there is none.
std::string counterStoreAddress(ServerProcess& node)
{
    auto bean = readCounterStore(node, "address");
    if (bean.status != 200 || !json(bean)->has("value")) return "no MBean: " + std::to_string(bean.status) + " " + bean.body;
    return json(bean)->getValue<std::string>("value");
}

} // namespace

TEST(RedisReloadTest, ANewRedisAddressOnReloadMovesTheContextToIt)
{
    // An operator moving the node to another Redis: the reload says the
    // change applies live, so it must, and from then on only the new one is used.
    RedisProcess before;
    RedisProcess after;
    ServerProcess node;
    node.writeConfig(counterNodeConfig("store.redis.port=" + std::to_string(before.port()) + "\n"));
    node.start();
    const std::string old = countTwice(node);
    ASSERT_FALSE(old.empty());

    node.writeConfig(counterNodeConfig("store.redis.port=" + std::to_string(after.port()) + "\n"));
    auto reply = reload(node);
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto contexts = json(reply)->getObject("contexts");
    ASSERT_EQ(contexts->getArray("redeployed")->size(), 1u) << reply.body;
    EXPECT_EQ(contexts->getArray("redeployed")->getElement<std::string>(0), "counter");
    EXPECT_EQ(reply.body.find("restart required"), std::string::npos) << reply.body;

    const std::string moved = countTwice(node);
    ASSERT_FALSE(moved.empty());
    EXPECT_EQ(after.cli({"EXISTS", "mt:default:/counter:s:" + moved}), "1");
    EXPECT_EQ(before.cli({"EXISTS", "mt:default:/counter:s:" + moved}), "0");
    // The old Redis keeps what it had: this node no longer reads it.
    EXPECT_EQ(before.cli({"EXISTS", "mt:default:/counter:s:" + old}), "1");
    EXPECT_EQ(json(httpRequest(node.port(), "GET", "/counter/", withCookie(old)))->getValue<bool>("new"), true);
    // The store's MBean is the new store's (the old one's going does not take it along).
    EXPECT_EQ(counterStoreAddress(node), "127.0.0.1:" + std::to_string(after.port()));
}

TEST(RedisReloadTest, ARefusedReloadLeavesTheStoresAndTheirMBeansAsTheyWere)
{
    // The new Redis address would redeploy both contexts; the second cannot
    // be (no such application), so nothing may change, not even half-way.
    RedisProcess before;
    RedisProcess after;
    ServerProcess node;
    const std::string contexts = "contexts=counter,cart\ncontext.counter.path=/counter\ncontext.counter.app=counter\n"
                                 "context.cart.path=/cart\ncontext.cart.app=";
    node.writeConfig("node.name=A\nsession.store=redis\naccesslog.enabled=false\nstore.redis.port=" +
                     std::to_string(before.port()) + "\n" + contexts + "cart\n");
    node.start();
    node.writeConfig("node.name=A\nsession.store=redis\naccesslog.enabled=false\nstore.redis.port=" +
                     std::to_string(after.port()) + "\n" + contexts + "no-such-app\n");
    auto reply = reload(node);
    ASSERT_EQ(reply.status, 400) << reply.body;
    EXPECT_EQ(json(reply)->getValue<std::string>("status"), "refused") << reply.body;
    ASSERT_TRUE(json(reply)->getArray("changed")) << reply.body;
    EXPECT_EQ(json(reply)->getArray("changed")->size(), 0u) << "a refused reload changes nothing";

    const std::string id = countTwice(node);
    ASSERT_FALSE(id.empty());
    EXPECT_EQ(before.cli({"EXISTS", "mt:default:/counter:s:" + id}), "1") << "still on the Redis it had";
    EXPECT_EQ(counterStoreAddress(node), "127.0.0.1:" + std::to_string(before.port()));
}

TEST(RedisReloadTest, JolokiaReadsOfTheStoreWhileReloadsReplaceItAreAnsweredAndNothingCrashes)
{
    // A monitoring system polls the store's MBean while an operator moves the
    // node between two Redis servers: each reload destroys a store whose
    // MBean a read may be inside of at that moment.
    RedisProcess first;
    RedisProcess second;
    ServerProcess node;
    auto configFor = [&](const RedisProcess& redis) {
        return counterNodeConfig("store.redis.port=" + std::to_string(redis.port()) + "\n");
    };
    node.writeConfig(configFor(first));
    node.start();
    ASSERT_FALSE(countTwice(node).empty());

    std::atomic<bool> stop{false};
    std::atomic<int> answered{0};
    std::vector<std::future<std::string>> readers;
    for (int r = 0; r < 2; ++r)
        readers.push_back(std::async(std::launch::async, [&] {
            for (int i = 0; i < 20000 && !stop; ++i)
            {
                HttpReply reply;
                try
                {
                    reply = readCounterStore(node);
                }
                catch (const std::exception& e)
                {
                    return std::string("read ") + std::to_string(i) + " failed: " + e.what();
                }
                // 404 while no store has the name, between a store's going and the next one's coming.
                if (reply.status != 200 || (json(reply)->getValue<int>("status") != 200 && json(reply)->getValue<int>("status") != 404))
                    return "read " + std::to_string(i) + ": " + std::to_string(reply.status) + " " + reply.body;
                ++answered;
            }
            return std::string();
        }));
    for (int i = 0; i < 40 && node.running(); ++i)
    {
        node.writeConfig(configFor(i % 2 ? first : second));
        auto reply = reload(node);
        ASSERT_EQ(reply.status, 200) << reply.body;
        const int at = answered.load();
        ASSERT_TRUE(waitUntil([&] { return answered.load() > at + 5 || !node.running(); }, 10s));
    }
    stop = true;
    for (auto& reader : readers) EXPECT_EQ(reader.get(), "");
    ASSERT_TRUE(node.running()) << node.output();
    EXPECT_FALSE(countTwice(node).empty());
    EXPECT_EQ(counterStoreAddress(node), "127.0.0.1:" + std::to_string(first.port()));
}

TEST(RedisLoginTest, ANodeLogsInAsAnAclUserOverAUnixSocketToItsDatabase)
{
    RedisProcess redis(RedisOptions{"admin-pass", true});
    ASSERT_EQ(redis.cli({"ACL", "SETUSER", "node", "on", ">node-pass", "~mt:default:*", "&__redis__:invalidate", "+@all"}),
              "OK");
    ServerProcess node;
    node.writeConfig(counterNodeConfig("store.redis.socket=" + redis.socketPath() +
                                       "\nstore.redis.username=node\nstore.redis.password=node-pass\nstore.redis.database=2\n"));
    node.start();
    const std::string id = countTwice(node);
    ASSERT_FALSE(id.empty());
    EXPECT_EQ(redis.cli({"-n", "2", "EXISTS", "mt:default:/counter:s:" + id}), "1");
}

TEST(RedisLoginTest, ARefusedLoginIsA503AndHealthSaysSoWithoutThePassword)
{
    RedisProcess redis(RedisOptions{"admin-pass"});
    ServerProcess node{{MT_EVENTS_PLUGIN}};
    node.writeConfig(nodeConfig("A", redis.port(), "store.redis.password=not-the-password\n"));
    node.start();
    auto refused = httpRequest(node.port(), "GET", "/counter/");
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_FALSE(refused.header("Retry-After").empty());
    auto health = httpRequest(node.port(), "GET", "/health");
    EXPECT_EQ(health.status, 503);
    auto counter = json(health)->getObject("components")->getObject("sessionStores")->getObject("details")->getObject("counter");
    EXPECT_EQ(counter->getValue<std::string>("status"), "DOWN");
    EXPECT_NE(counter->getValue<std::string>("reason").find("AUTH refused: WRONGPASS"), std::string::npos)
        << counter->getValue<std::string>("reason");
    EXPECT_EQ(health.body.find("not-the-password"), std::string::npos) << health.body;
    EXPECT_EQ(node.output().find("not-the-password"), std::string::npos) << "the log never shows the password";
    EXPECT_EQ(httpRequest(node.port(), "GET", "/ping").status, 200) << "the node itself keeps running";
}

TEST(RedisLoginTest, AStorePointedAtAServerThatIsNotRedisIsA503SayingWhatAnsweredInstead)
{
    // A port mixed up in the configuration: here another node's HTTP port,
    // which answers the store's commands with an HTTP error.
    ServerProcess web;
    web.writeConfig("node.name=W\naccesslog.enabled=false\n");
    web.start();
    ServerProcess node{{MT_EVENTS_PLUGIN}};
    node.writeConfig(nodeConfig("A", web.port()));
    node.start();

    const auto began = std::chrono::steady_clock::now();
    auto refused = httpRequest(node.port(), "GET", "/counter/");
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_FALSE(refused.header("Retry-After").empty());
    EXPECT_LT(std::chrono::steady_clock::now() - began, 2s) << "store.redis.timeoutMs is 300";
    auto health = httpRequest(node.port(), "GET", "/health");
    EXPECT_EQ(health.status, 503);
    auto counter = json(health)->getObject("components")->getObject("sessionStores")->getObject("details")->getObject("counter");
    EXPECT_EQ(counter->getValue<std::string>("status"), "DOWN");
    const std::string reason = counter->getValue<std::string>("reason");
    EXPECT_NE(reason.find("127.0.0.1:" + std::to_string(web.port())), std::string::npos) << reason;
    EXPECT_NE(reason.find("malformed RESP reply at byte 0"), std::string::npos) << reason;
    EXPECT_NE(node.output().find("sent a malformed reply"), std::string::npos) << node.output();
    EXPECT_EQ(httpRequest(node.port(), "GET", "/ping").status, 200) << "the node itself keeps running";
    EXPECT_TRUE(web.running());
}

TEST(RedisLoginTest, ANodeTalksTlsToARedisThatWantsItsCertificate)
{
    RedisOptions options;
    options.tls = true;
    options.tlsAuthClients = true;
    RedisProcess redis(options);
    ServerProcess node;
    node.writeConfig(counterNodeConfig("store.redis.port=" + std::to_string(redis.port()) +
                                       "\nstore.redis.tls=true\nstore.redis.tlsCaFile=" + redis.caFile() +
                                       "\nstore.redis.tlsCertFile=" + redis.clientCertFile() +
                                       "\nstore.redis.tlsKeyFile=" + redis.clientKeyFile() + "\n"));
    node.start();
    const std::string id = countTwice(node);
    ASSERT_FALSE(id.empty());
    EXPECT_EQ(redis.cli({"EXISTS", "mt:default:/counter:s:" + id}), "1");
}

TEST(RedisLoginTest, ATlsFileThatCannotBeLoadedStopsTheStartNamingTheKey)
{
    ServerProcess node;
    node.writeConfig(counterNodeConfig("store.redis.tls=true\nstore.redis.tlsCaFile=/nonexistent/ca.crt\n"));
    std::string output;
    const int code = node.runToExit({"--config", node.configPath()}, output, 20s);
    EXPECT_NE(code, 0) << output;
    EXPECT_NE(output.find("store.redis.tlsCaFile: cannot load '/nonexistent/ca.crt'"), std::string::npos) << output;
}

/// Two counter nodes, A and B, on the Redis store that `store` (store.redis.*
/// lines) names, counting one session through a failover of its master.
class CountingPair
{
public:
    explicit CountingPair(const std::string& store)
    {
        a.writeConfig(counterNodeConfig(store, "A"));
        b.writeConfig(counterNodeConfig(store, "B"));
        a.start();
        b.start();
    }

    /// Counts 1 and 2 on A, 3 on B.
    void countToThree()
    {
        _id = countTwice(a);
        ASSERT_FALSE(_id.empty());
        auto third = count(b);
        ASSERT_EQ(third.status, 200) << third.body;
        ASSERT_EQ(json(third)->getValue<int>("count"), 3);
    }

    /// With the master just killed: a clean 503 on B, nothing counted, until
    /// the failover; then 4 on B (nothing lost, nothing counted twice), 5 on
    /// A, and A healthy. `where` says what the failover was waiting for.
    void expectCountingResumes(const std::function<std::string()>& where)
    {
        auto during = count(b);
        EXPECT_EQ(during.status, 503) << during.body;
        EXPECT_FALSE(during.header("Retry-After").empty());
        HttpReply after;
        ASSERT_TRUE(waitUntil(
            [&] {
                after = count(b);
                return after.status != 503;
            },
            30s))
            << "no failover followed: " << where() << "\n" << b.output();
        ASSERT_EQ(after.status, 200) << after.body;
        EXPECT_EQ(json(after)->getValue<int>("count"), 4) << "nothing lost, nothing counted twice";
        auto onA = count(a);
        ASSERT_EQ(onA.status, 200) << onA.body;
        EXPECT_EQ(json(onA)->getValue<int>("count"), 5);
        EXPECT_EQ(httpRequest(a.port(), "GET", "/health").status, 200);
    }

    /// The store MBean of the counter's context on A.
    Poco::JSON::Object::Ptr storeBean()
    {
        auto bean = readCounterStore(a);
        EXPECT_EQ(bean.status, 200) << bean.body;
        return bean.status == 200 ? json(bean)->getObject("value") : Poco::JSON::Object::Ptr(new Poco::JSON::Object);
    }

    /// A counter request on `node` for the session; follows its id when the node moves it to its own route.
    HttpReply count(ServerProcess& node)
    {
        HttpReply reply = httpRequest(node.port(), "GET", "/counter/", withCookie(_id));
        if (reply.status == 200 && !cookieId(reply).empty()) _id = cookieId(reply);
        return reply;
    }

    ServerProcess a, b;

private:
    std::string _id;
};

TEST(RedisSentinelNodeTest, TwoNodesBehindASentinelKeepCountingThroughAFailover)
{
    RedisProcess master;
    RedisOptions replicaOptions;
    replicaOptions.replicaOf = master.port();
    RedisProcess replica(replicaOptions);
    RedisOptions sentinelOptions;
    sentinelOptions.sentinelMaster = "sessions";
    sentinelOptions.sentinelMasterPort = master.port();
    RedisProcess sentinel(sentinelOptions);
    ASSERT_TRUE(waitUntil([&] { return sentinel.knowsReplica(replica); }, 10s))
        << "the sentinel never learned of the replica";
    CountingPair nodes("store.redis.sentinels=127.0.0.1:" + std::to_string(sentinel.port()) +
                       "\nstore.redis.sentinelMaster=sessions\nstore.redis.timeoutMs=300\nstore.redis.reconnectMaxMs=200\n");
    ASSERT_NO_FATAL_FAILURE(nodes.countToThree());
    ASSERT_TRUE(waitUntil([&] { return replica.caughtUpWith(master); }, 10s))
        << "replication is asynchronous: the test waits for it to know what the failover keeps";

    master.kill();
    ASSERT_NO_FATAL_FAILURE(nodes.expectCountingResumes([&] { return sentinel.cli({"SENTINEL", "MASTER", "sessions"}); }));
    const auto bean = nodes.storeBean();
    EXPECT_EQ(bean->optValue<std::string>("connectedTo", ""), replica.address());
    EXPECT_EQ(bean->optValue<std::string>("failoverWatch", ""), sentinel.address());
    EXPECT_NE(nodes.b.output().find("redis master 'sessions' is at " + replica.address() + " (was " + master.address() + ")"),
              std::string::npos)
        << "the log says where the master went: " << nodes.b.output();
    // The sentinels name the new master a moment before they announce it.
    EXPECT_TRUE(waitUntil(
        [&] {
            return nodes.b.output().find("redis master 'sessions': sentinel " + sentinel.address() +
                                         " announces a failover, the master is at " + replica.address() + " now") !=
                   std::string::npos;
        },
        5s))
        << "the node heard the failover announced: " << nodes.b.output();
    EXPECT_EQ(nodes.b.output().find("did not list the others"), std::string::npos) << "a lone sentinel lists none";
    auto named = [&](const std::string& name) {
        const auto threads = nodes.b.threadNames();
        return std::count(threads.begin(), threads.end(), name);
    };
    EXPECT_TRUE(waitUntil([&] { return named("sentinel-watch") == 1 && named("sentinel-hear") == 1; }, 5s))
        << named("sentinel-watch") << " sentinel-watch, " << named("sentinel-hear")
        << " sentinel-hear (one listener per sentinel)";
}

TEST(RedisClusterNodeTest, TwoNodesOnARedisClusterKeepCountingThroughACrashOfTheirMaster)
{
    RedisClusterProcesses cluster("cluster-pass");
    // One seed is enough: the nodes learn the others from it.
    CountingPair nodes("store.redis.cluster=" + cluster.nodes().front()->address() +
                       "\nstore.redis.password=cluster-pass\nstore.redis.timeoutMs=300\nstore.redis.reconnectMaxMs=200\n");
    ASSERT_NO_FATAL_FAILURE(nodes.countToThree());
    // Every key of the context carries its hash tag: the expiry index shows where they all are.
    const std::string index = "{mt:default:/counter}:expiry";
    RedisProcess* master = cluster.holderOf(index);
    ASSERT_NE(master, nullptr) << "no master holds " << index;
    RedisProcess* replica = cluster.replicaOf(*master);
    ASSERT_NE(replica, nullptr);
    ASSERT_TRUE(waitUntil([&] { return replica->caughtUpWith(*master); }, 10s));
    const std::string old = master->address();

    master->kill();
    ASSERT_NO_FATAL_FAILURE(nodes.expectCountingResumes([&] { return replica->cli({"CLUSTER", "NODES"}); }));
    const auto bean = nodes.storeBean();
    EXPECT_EQ(bean->optValue<std::string>("connectedTo", ""), replica->address());
    const std::string slot = replica->cli({"CLUSTER", "KEYSLOT", index});
    EXPECT_EQ(bean->optValue<std::string>("discovery", "").rfind("slot " + slot + ", asking ", 0), 0u);
    EXPECT_NE(nodes.b.output().find("redis master of slot " + slot + " is at " + replica->address() + " (was " + old + ")"),
              std::string::npos)
        << "the log says where the master went: " << nodes.b.output();
}

TEST(RedisClusterNodeTest, TwoNodesCountInTurnWhileTheClusterMigratesTheirSlotWithNoRequestFailed)
{
    RedisClusterProcesses cluster("cluster-pass");
    CountingPair nodes("store.redis.cluster=" + cluster.nodes().front()->address() +
                       "\nstore.redis.password=cluster-pass\nstore.redis.timeoutMs=2000\n");
    ASSERT_NO_FATAL_FAILURE(nodes.countToThree());
    const std::string index = "{mt:default:/counter}:expiry";
    RedisProcess* from = cluster.holderOf(index);
    ASSERT_NE(from, nullptr) << "no master holds " << index;
    RedisProcess* to = cluster.masterOtherThan(*from);
    ASSERT_NE(to, nullptr);
    const int slot = std::stoi(from->cli({"CLUSTER", "KEYSLOT", index}));

    // Every step of the migration is followed by requests, on the two nodes
    // in turn: each takes the session to its own route, a rename, which
    // Redis refuses while the old key, the new one and the index are apart.
    int expected = 3;
    bool onB = true;
    const auto countInTurn = [&](const std::string& when) {
        for (int i = 0; i < 3; ++i)
        {
            ServerProcess& node = onB ? nodes.b : nodes.a;
            onB = !onB;
            auto reply = nodes.count(node);
            ASSERT_EQ(reply.status, 200) << when << ": " << reply.body;
            ASSERT_EQ(json(reply)->getValue<int>("count"), ++expected) << when;
            const std::string id = json(reply)->getValue<std::string>("session");
            ASSERT_EQ(id.substr(id.rfind('.') + 1), json(reply)->getValue<std::string>("node")) << when << ": not rerouted";
        }
    };
    SlotMigration migration(cluster, slot, *from, *to, "cluster-pass");
    migration.start();
    ASSERT_NO_FATAL_FAILURE(countInTurn("migration started"));
    // One key at a time, asked for again: a rename makes the new key where
    // the slot is going, and deletes the old one.
    int handedOver = 0;
    for (auto left = migration.left(); !left.empty() && handedOver < 100; left = migration.left())
    {
        migration.move(left.front());
        ++handedOver;
        ASSERT_NO_FATAL_FAILURE(countInTurn(left.front() + " handed over"));
    }
    EXPECT_GE(handedOver, 1);
    migration.finish();
    ASSERT_NO_FATAL_FAILURE(countInTurn("migration over"));
    auto onA = nodes.count(nodes.a);
    ASSERT_EQ(onA.status, 200) << onA.body;
    EXPECT_EQ(json(onA)->getValue<int>("count"), expected + 1) << "nothing lost, nothing counted twice";

    auto bean = readCounterStore(nodes.b);
    ASSERT_EQ(bean.status, 200) << bean.body;
    const auto value = json(bean)->getObject("value");
    EXPECT_GT(value->getValue<long>("askRedirects"), 0) << "B's session was served by the importing node";
    EXPECT_NE(nodes.b.output().find("the slot is being migrated to " + to->address()), std::string::npos)
        << "the log says where the slot goes: " << nodes.b.output();
    EXPECT_EQ(value->optValue<std::string>("connectedTo", ""), to->address());
    EXPECT_EQ(from->cli({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}), "0");
}
