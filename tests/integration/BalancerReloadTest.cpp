// Switching the balancing strategy on a running balancer: reload, under load,
// drops nothing.
#include "LocalCluster.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

using namespace mt::test;
using namespace std::chrono_literals;

namespace {

std::string readFile(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

TEST(BalancerReload, SwitchingTheStrategyUnderLoadDropsNoRequest)
{
    LocalCluster cluster(3);
    unsigned short lb = cluster.httpPort("lb");
    std::string token = Poco::JSON::Parser()
                            .parse(readFile(cluster.dir() + "/cluster.json"))
                            .extract<Poco::JSON::Object::Ptr>()
                            ->getValue<std::string>("adminToken");

    std::atomic<bool> stop{false};
    std::atomic<int> ok{0}, failed{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c)
        clients.emplace_back([&] {
            for (int i = 0; i < 2000 && !stop; ++i)
            {
                try
                {
                    (httpRequest(lb, "GET", "/counter/").status == 200 ? ok : failed)++;
                }
                catch (const std::exception&)
                {
                    failed++;
                }
            }
        });
    ASSERT_TRUE(waitUntil([&] { return ok.load() >= 200; }, 10s));

    std::ofstream(cluster.dir() + "/lb/server.properties", std::ios::app) << "balancer.strategy=leastconn\n";
    auto reply = httpRequest(lb, "POST", "/admin/reload", {{"Authorization", "Bearer " + token}});
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_NE(reply.body.find("\"balancer.strategy\""), std::string::npos) << reply.body;
    int atSwitch = ok.load();
    ASSERT_TRUE(waitUntil([&] { return ok.load() >= atSwitch + 200; }, 10s));
    stop = true;
    for (auto& t : clients) t.join();

    EXPECT_EQ(failed.load(), 0) << "requests in flight during the switch must all be answered";
    auto stats = Poco::JSON::Parser().parse(httpRequest(lb, "GET", "/cluster/balancer").body).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(stats->getValue<std::string>("strategy"), "leastconn");
}
