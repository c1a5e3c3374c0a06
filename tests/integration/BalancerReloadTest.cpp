// Switching the balancing strategy on a running balancer: reload, under load,
// drops nothing.
#include "LocalCluster.h"
#include "PluginCopies.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <gtest/gtest.h>

#include <Poco/TemporaryFile.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace mt::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// A copy of the built plugins that a test may change, removed after it.
struct PluginDir
{
    std::string path = Poco::TemporaryFile::tempName() + "-mt-plugins";
    PluginDir()
    {
        fs::create_directories(path);
        for (const auto& entry : fs::directory_iterator(MT_PLUGIN_DIR))
            if (entry.path().extension() == ".so") fs::copy_file(entry.path(), path + "/" + entry.path().filename().string());
    }
    ~PluginDir()
    {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
};

} // namespace

TEST(BalancerReload, SwitchingTheStrategyUnderLoadDropsNoRequest)
{
    LocalCluster cluster(3);
    unsigned short lb = cluster.httpPort("lb");

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
    auto reply = cluster.reload("lb");
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

TEST(BalancerReload, AStrategyPluginReplacedOnDiskIsMadeAnewFromTheNewFile)
{
    PluginDir plugins;
    LocalCluster cluster(2, {"-Dplugin.dir=" + plugins.path});
    unsigned short lb = cluster.httpPort("lb");
    EXPECT_EQ(httpRequest(lb, "GET", "/counter/").status, 200);
    const auto before = mappedPluginCopies(cluster.pid("lb"), "lb-roundrobin");
    ASSERT_EQ(before.size(), 1u);

    reinstallFile(plugins.path + "/lb-roundrobin.so");
    auto reply = cluster.reload("lb");
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto report = Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(report->getObject("plugins")->getArray("reloaded")->size(), 1u) << reply.body;
    EXPECT_TRUE(report->getObject("balancer")->getValue<bool>("strategyRenewed")) << reply.body;

    EXPECT_EQ(httpRequest(lb, "GET", "/counter/").status, 200);
    EXPECT_TRUE(waitUntilOnlyANewCopyIsMapped(cluster.pid("lb"), "lb-roundrobin", before))
        << "the balancer still holds the old strategy's library, or the new one is not loaded";

    // Nothing changed on disk since: the next reload keeps the strategy it has.
    reply = cluster.reload("lb");
    ASSERT_EQ(reply.status, 200) << reply.body;
    report = Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>();
    EXPECT_FALSE(report->getObject("balancer")->getValue<bool>("strategyRenewed")) << reply.body;
}
