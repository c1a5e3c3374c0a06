// A reload runs the plugin code that is on disk now: a new plugin directory
// replaces the old one, a plugin file replaced in place is used from then on,
// and a refused reload leaves the plugins as they were.
#include "PluginCopies.h"
#include "ServerProcess.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <gtest/gtest.h>

#include <filesystem>

using namespace mt::test;
namespace fs = std::filesystem;

namespace {

const char* kCounterAndProbe = "contexts=counter,probe\ncontext.counter.path=/counter\ncontext.counter.app=counter\n"
                               "context.probe.path=/probe\ncontext.probe.app=probe\n";

Poco::JSON::Object::Ptr json(const std::string& text)
{
    return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

HttpReply reload(ServerProcess& server)
{
    return httpRequest(server.port(), "POST", "/admin/reload", {{"Authorization", "Bearer " + server.adminToken()}});
}

/// A plugin directory next to the server's own, with its plugins but `probe` as the probe app (if given).
std::string pluginDirWith(ServerProcess& server, const std::string& name, const std::string& probe)
{
    std::string dir = server.dir() + "/" + name;
    fs::create_directories(dir);
    for (const auto& entry : fs::directory_iterator(server.pluginDir()))
        if (entry.path().filename() != "probe.so") fs::copy_file(entry.path(), dir + "/" + entry.path().filename().string());
    if (!probe.empty()) fs::copy_file(probe, dir + "/probe.so");
    return dir;
}

std::size_t sizeOf(const Poco::JSON::Object::Ptr& report, const std::string& object, const std::string& array)
{
    return report->getObject(object)->getArray(array)->size();
}

/// The count the counter app answers with, on the session in `cookie` (set from the first answer).
int count(ServerProcess& server, std::string& cookie)
{
    auto reply = httpRequest(server.port(), "GET", "/counter/", cookie.empty() ? std::map<std::string, std::string>{}
                                                                              : std::map<std::string, std::string>{{"Cookie", cookie}});
    if (cookie.empty()) cookie = reply.header("Set-Cookie").substr(0, reply.header("Set-Cookie").find(';'));
    return json(reply.body)->getValue<int>("count");
}

/// Starts `server` (made with MT_PROBE_PLUGIN) on the counter and probe apps, with a counter session in `cookie`.
void startWithACounterSession(ServerProcess& server, std::string& cookie)
{
    server.writeConfig(kCounterAndProbe);
    server.start();
    EXPECT_EQ(count(server, cookie), 1);
}

} // namespace

TEST(PluginReload, ANewPluginDirectoryReplacesTheOldOne)
{
    ServerProcess server({MT_PROBE_PLUGIN});
    server.writeConfig(kCounterAndProbe);
    server.start();
    EXPECT_EQ(httpRequest(server.port(), "GET", "/probe/").body, "probe 1.0.0\n");
    const auto probeBefore = mappedPluginCopies(server.pid(), "probe");
    const std::size_t plugins = std::distance(fs::directory_iterator(server.pluginDir()), fs::directory_iterator());

    std::string next = pluginDirWith(server, "plugins-next", MT_PROBE_V2_PLUGIN);
    server.writeConfig(std::string(kCounterAndProbe) + "plugin.dir=" + next + "\n");
    auto reply = reload(server);
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto report = json(reply.body);
    EXPECT_EQ(sizeOf(report, "plugins", "errors"), 0u) << reply.body;
    EXPECT_EQ(sizeOf(report, "plugins", "removed"), plugins) << reply.body;
    EXPECT_EQ(sizeOf(report, "plugins", "loaded"), plugins) << reply.body;
    EXPECT_EQ(sizeOf(report, "contexts", "redeployed"), 2u) << reply.body;

    EXPECT_EQ(httpRequest(server.port(), "GET", "/probe/").body, "probe 2.0.0\n");
    // Nothing of the old directory is needed any more.
    fs::remove_all(server.pluginDir());
    EXPECT_EQ(httpRequest(server.port(), "GET", "/counter/").status, 200);
    EXPECT_TRUE(waitUntilOnlyANewCopyIsMapped(server.pid(), "probe", probeBefore)) << "version 1 still mapped";
}

TEST(PluginReload, AReloadRefusedAfterTheScanLeavesThePluginsAsTheyWere)
{
    ServerProcess server({MT_PROBE_PLUGIN});
    std::string cookie;
    startWithACounterSession(server, cookie);
    const auto probeBefore = mappedPluginCopies(server.pid(), "probe");

    // A directory without the probe app: its context cannot be deployed.
    std::string next = pluginDirWith(server, "plugins-next", "");
    server.writeConfig(std::string(kCounterAndProbe) + "plugin.dir=" + next + "\n");
    auto refused = reload(server);
    ASSERT_EQ(refused.status, 400) << refused.body;
    EXPECT_NE(json(refused.body)->getValue<std::string>("error").find("app/probe"), std::string::npos) << refused.body;
    EXPECT_FALSE(json(refused.body)->has("plugins")) << "the plugins it loaded are gone again: " << refused.body;
    EXPECT_EQ(httpRequest(server.port(), "GET", "/probe/").body, "probe 1.0.0\n");
    EXPECT_EQ(count(server, cookie), 2);

    // The next reload of the old file finds everything as it was: nothing to
    // load, nothing redeployed, the sessions kept, the same library in use.
    server.writeConfig(kCounterAndProbe);
    auto reply = reload(server);
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto report = json(reply.body);
    EXPECT_EQ(sizeOf(report, "plugins", "loaded") + sizeOf(report, "plugins", "removed"), 0u) << reply.body;
    EXPECT_EQ(sizeOf(report, "contexts", "redeployed"), 0u) << reply.body;
    EXPECT_EQ(sizeOf(report, "contexts", "kept"), 2u) << reply.body;
    EXPECT_EQ(count(server, cookie), 3);
    EXPECT_EQ(mappedPluginCopies(server.pid(), "probe"), probeBefore);
}

TEST(PluginReload, AnAppPluginReplacedOnDiskIsRedeployedAndItsSessionsStay)
{
    ServerProcess server({MT_PROBE_PLUGIN});
    std::string cookie;
    startWithACounterSession(server, cookie);
    const auto counterBefore = mappedPluginCopies(server.pid(), "app-counter");
    ASSERT_EQ(counterBefore.size(), 1u);

    fs::copy_file(MT_PROBE_V2_PLUGIN, server.pluginDir() + "/probe.so", fs::copy_options::overwrite_existing);
    reinstallFile(server.pluginDir() + "/probe.so");
    reinstallFile(server.pluginDir() + "/app-counter.so");
    auto reply = reload(server);
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto report = json(reply.body);
    EXPECT_EQ(sizeOf(report, "plugins", "reloaded"), 2u) << reply.body;
    EXPECT_EQ(sizeOf(report, "contexts", "redeployed"), 2u) << reply.body;

    EXPECT_EQ(httpRequest(server.port(), "GET", "/probe/").body, "probe 2.0.0\n");
    // The store did not change: the new code sees the session made by the old one.
    EXPECT_EQ(count(server, cookie), 2);
    EXPECT_TRUE(waitUntilOnlyANewCopyIsMapped(server.pid(), "app-counter", counterBefore))
        << "the old counter app is still mapped, or the new one is not";
}

TEST(PluginReload, AStorePluginReplacedOnDiskIsUsedAfterReload)
{
    ServerProcess server;
    server.writeConfig("contexts=counter\ncontext.counter.path=/counter\ncontext.counter.app=counter\n");
    server.start();
    std::string cookie;
    EXPECT_EQ(count(server, cookie), 1);
    const auto before = mappedPluginCopies(server.pid(), "store-memory");
    ASSERT_EQ(before.size(), 1u);

    reinstallFile(server.pluginDir() + "/store-memory.so");
    auto reply = reload(server);
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto report = json(reply.body);
    EXPECT_EQ(sizeOf(report, "plugins", "reloaded"), 1u) << reply.body;
    ASSERT_EQ(sizeOf(report, "contexts", "redeployed"), 1u) << reply.body;
    EXPECT_EQ(report->getObject("contexts")->getArray("redeployed")->getElement<std::string>(0), "counter");

    // The context runs on a store of the new code, and the old code is gone.
    // A new store of the embedded kind starts empty: the old session is not in it.
    EXPECT_EQ(count(server, cookie), 1);
    EXPECT_TRUE(waitUntilOnlyANewCopyIsMapped(server.pid(), "store-memory", before))
        << "the old store's library is still mapped, or the new one is not";
}
