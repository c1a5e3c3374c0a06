// Failover end to end, as a user sees it: the launcher's cluster (3 app
// nodes + the balancer) sharing one Redis; a session's node is killed with
// SIGKILL and the session goes on, on another node, under a rewritten route.
#include "LocalCluster.h"
#include "RedisProcess.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <gtest/gtest.h>

#include <csignal>
#include <iostream>
#include <regex>
#include <thread>

using namespace mt::test;
using namespace std::chrono_literals;

namespace {

struct Visit
{
    int status = 0;
    int count = 0;
    std::string node;
    std::string session;
    std::string setCookie;
};

Visit visit(unsigned short port, const std::string& cookie)
{
    Visit v;
    auto reply = httpRequest(port, "GET", "/counter/", cookie.empty() ? std::map<std::string, std::string>{}
                                                                      : std::map<std::string, std::string>{{"Cookie", cookie}});
    v.status = reply.status;
    v.setCookie = reply.header("Set-Cookie");
    if (reply.status != 200) return v;
    auto json = Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>();
    v.count = json->getValue<int>("count");
    v.node = json->getValue<std::string>("node");
    v.session = json->getValue<std::string>("session");
    return v;
}

/// The -D options that put every node's sessions in `redis`.
std::vector<std::string> onRedis(const RedisProcess& redis)
{
    return {"-Dsession.store=redis", "-Dstore.redis.port=" + std::to_string(redis.port())};
}

std::string cookieOf(const std::string& setCookie)
{
    return setCookie.substr(0, setCookie.find(';'));
}

} // namespace

TEST(SessionFailover, ASessionOutlivesItsNodeAndItsRouteFollowsTheNewNode)
{
    RedisProcess redis;
    LocalCluster cluster(3, onRedis(redis));
    unsigned short lb = cluster.httpPort("lb");

    Visit first = visit(lb, "");
    ASSERT_EQ(first.status, 200);
    ASSERT_FALSE(first.setCookie.empty());
    std::string cookie = cookieOf(first.setCookie);
    std::string home = first.node;
    EXPECT_TRUE(std::regex_match(first.session, std::regex("[A-Za-z0-9_-]{24}\\." + home))) << first.session;
    for (int i = 2; i <= 5; ++i)
    {
        Visit v = visit(lb, cookie);
        ASSERT_EQ(v.status, 200);
        EXPECT_EQ(v.count, i);
        EXPECT_EQ(v.node, home) << "sticky by the route suffix";
    }

    cluster.kill(home, SIGKILL);
    // The next request may reach the balancer before membership says DOWN:
    // the connection is refused and the balancer retries elsewhere, so the
    // client sees no error either way.
    Visit after = visit(lb, cookie);
    ASSERT_EQ(after.status, 200);
    EXPECT_EQ(after.count, 6) << "nothing lost: the session lives in Redis";
    EXPECT_NE(after.node, home);
    std::string newHome = after.node;
    EXPECT_TRUE(std::regex_match(after.session, std::regex("[A-Za-z0-9_-]{24}\\." + newHome))) << after.session;
    EXPECT_EQ(after.session.substr(0, 24), first.session.substr(0, 24)) << "same session, new route";
    ASSERT_FALSE(after.setCookie.empty()) << "the rewritten id is sent back";
    cookie = cookieOf(after.setCookie);

    for (int i = 7; i <= 12; ++i)
    {
        Visit v = visit(lb, cookie);
        ASSERT_EQ(v.status, 200);
        EXPECT_EQ(v.count, i);
        EXPECT_EQ(v.node, newHome) << "stickiness follows the rewritten route";
        EXPECT_TRUE(v.setCookie.empty());
    }
}

TEST(SessionFailover, AClientStillSendingTheOldIdKeepsItsSessionOnEveryNode)
{
    // After a failover, requests with the cookie from the dead node keep
    // coming (tabs, retries, a browser that has not applied the new cookie
    // yet) and reach any node: each must find the session, wherever it went.
    RedisProcess redis;
    LocalCluster cluster(3, onRedis(redis));
    Visit first = visit(cluster.httpPort("lb"), "");
    ASSERT_EQ(first.status, 200);
    const std::string old = cookieOf(first.setCookie);
    const std::string home = first.node;
    cluster.kill(home, SIGKILL);

    std::vector<std::string> others;
    for (const auto& node : cluster.nodes())
        if (node != home && node != "lb") others.push_back(node);
    ASSERT_EQ(others.size(), 2u);
    int expected = 1;
    for (int round = 0; round < 2; ++round)
        for (const auto& node : others) // each renames it to its own route, away from the other
        {
            Visit v = visit(cluster.httpPort(node), old);
            ASSERT_EQ(v.status, 200) << node;
            EXPECT_EQ(v.count, ++expected) << node << ": the old id must not start an empty session";
            EXPECT_EQ(v.session, first.session.substr(0, 25) + node);
            EXPECT_EQ(cookieOf(v.setCookie), "JSESSIONID=" + v.session) << node;
        }
    EXPECT_EQ(redis.cli({"KEYS", "mt:default:/counter:s:*"}), "mt:default:/counter:s:" + first.session.substr(0, 25) + others.back())
        << "one session, under the route of the node that served it last";
}

TEST(SessionFailover, WhenEveryNodeAnswers503TheClientGetsTheNodes503WithItsRetryAfter)
{
    // Redis away: each node answers 503 + Retry-After. The balancer tries the
    // other node, which says the same; the client must get that answer, not a
    // 502 the balancer makes up (which says "broken", not "come back later").
    RedisProcess redis;
    LocalCluster cluster(2, onRedis(redis));
    unsigned short lb = cluster.httpPort("lb");
    Visit first = visit(lb, "");
    ASSERT_EQ(first.status, 200);
    redis.stop();

    auto reply = httpRequest(lb, "GET", "/counter/", {{"Cookie", cookieOf(first.setCookie)}});
    EXPECT_EQ(reply.status, 503) << reply.body;
    EXPECT_EQ(reply.header("Retry-After"), "5") << "the node's, not the balancer's";
    EXPECT_NE(reply.body.find("session store unavailable"), std::string::npos) << reply.body;
    auto fresh = httpRequest(lb, "GET", "/counter/");
    EXPECT_EQ(fresh.status, 503) << fresh.body;
}

TEST(SessionFailover, TwoNodesTakingOverOneSessionAtOnceLoseNeitherChange)
{
    // After a failover, two requests with the dead node's id reach the two
    // other nodes at once (two tabs, a page and its XHR). Each moves the
    // session to its own route; one of them had read it under an id the
    // other moved away before it saved. Both changes must be in the session.
    RedisProcess redis;
    LocalCluster cluster(3, onRedis(redis));
    std::vector<std::string> apps;
    for (const auto& node : cluster.nodes())
        if (node != "lb") apps.push_back(node);
    ASSERT_EQ(apps.size(), 3u);
    const std::string home = apps[0];
    constexpr int kSessions = 500;
    std::vector<std::string> ids;
    for (int i = 0; i < kSessions; ++i)
    {
        auto made = httpRequest(cluster.httpPort(home), "POST", "/cart/add?sku=base");
        ASSERT_EQ(made.status, 200) << made.body;
        ids.push_back(cookieOf(made.header("Set-Cookie")));
    }
    cluster.kill(home, SIGKILL);

    int lost = 0;
    for (int i = 0; i < kSessions; ++i)
    {
        HttpReply first, second;
        std::thread one([&] {
            first = httpRequest(cluster.httpPort(apps[1]), "POST", "/cart/add?sku=one", {{"Cookie", ids[i]}});
        });
        std::thread two([&] {
            second = httpRequest(cluster.httpPort(apps[2]), "POST", "/cart/add?sku=two", {{"Cookie", ids[i]}});
        });
        one.join();
        two.join();
        ASSERT_EQ(first.status, 200) << first.body;
        ASSERT_EQ(second.status, 200) << second.body;
        auto cart = httpRequest(cluster.httpPort(apps[1]), "GET", "/cart/", {{"Cookie", ids[i]}});
        ASSERT_EQ(cart.status, 200) << cart.body;
        auto items = Poco::JSON::Parser().parse(cart.body).extract<Poco::JSON::Object::Ptr>()->getObject("items");
        if (!items->has("base") || !items->has("one") || !items->has("two")) ++lost;
    }
    EXPECT_EQ(lost, 0) << "sessions that lost a change, of " << kSessions;
    int followed = 0;
    for (const auto& node : {apps[1], apps[2]})
    {
        const std::string log = cluster.log(node);
        for (auto at = log.find("followed the session"); at != std::string::npos; at = log.find("followed the session", at + 1))
            ++followed;
    }
    std::cout << "saves that followed a session the other node had moved: " << followed << "\n";
}
