#include "plugin/PluginManager.h"

#include "TestSupport.h"
#include "mt/SessionStoreAdapter.h"
#include "mt/WebApplication.h"

#include <Poco/Logger.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

namespace fs = std::filesystem;
using namespace mt;
using mt::test::TempDir;
using mt::test::TestContext;

namespace {

const std::string kDir = MT_TEST_PLUGIN_DIR;

std::string testPlugin(const std::string& name)
{
    return kDir + "/" + name + ".so";
}

Poco::Logger& managerLogger()
{
    return Poco::Logger::get("mt.test.pluginmanager");
}

/// Runs `f`, expecting a PluginError, and returns its message.
template <class F>
std::string errorOf(F f)
{
    try
    {
        f();
    }
    catch (const PluginError& e)
    {
        return e.what();
    }
    ADD_FAILURE() << "no PluginError thrown";
    return "";
}

bool has(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

/// Copies so that the size+mtime signature is sure to differ from before.
void install(const std::string& from, const fs::path& to)
{
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
    static int bump = 0;
    fs::last_write_time(to, fs::file_time_type::clock::now() + std::chrono::seconds(++bump));
}

} // namespace

TEST(PluginManager, LoadsAValidPluginAndCreatesObjects)
{
    PluginManager manager(managerLogger());
    PluginInfo info = manager.load(testPlugin("probe"));
    EXPECT_EQ("app", info.kind);
    EXPECT_EQ("probe", info.name);
    EXPECT_EQ("1.0.0", info.version);
    EXPECT_EQ(testPlugin("probe"), info.file);
    EXPECT_EQ((std::vector<std::string>{"alpha", "beta", "gamma"}), info.configKeys);
    EXPECT_TRUE(manager.has("app", "probe"));
    EXPECT_EQ(1u, manager.plugins().size());
    EXPECT_EQ(1u, manager.liveLibraries());

    TestContext context;
    auto app = manager.create<WebApplication>("app", "probe", context);
    ASSERT_TRUE(app);
    EXPECT_TRUE(context.log().contains("probe 1.0.0 created"));
    app.reset();
    EXPECT_TRUE(context.log().contains("probe 1.0.0 destroyed"));
}

TEST(PluginManager, LoadingTheSameUnchangedFileTwiceKeepsOneLibrary)
{
    PluginManager manager(managerLogger());
    manager.load(testPlugin("probe"));
    manager.load(testPlugin("probe"));
    EXPECT_EQ(1u, manager.liveLibraries());
}

TEST(PluginManager, WrongApiVersionIsRefusedWithTheFix)
{
    PluginManager manager(managerLogger());
    std::string message = errorOf([&] { manager.load(testPlugin("bad-api")); });
    EXPECT_TRUE(has(message, testPlugin("bad-api"))) << message;
    EXPECT_TRUE(has(message, "built against API " + std::to_string(kPluginApiVersion + 1) + ", this server speaks " +
                                 std::to_string(kPluginApiVersion) + ": rebuild the plugin against this server's headers"))
        << message;
    EXPECT_FALSE(manager.has("app", "badapi"));
    EXPECT_EQ(0u, manager.liveLibraries());
}

TEST(PluginManager, MissingFactoryIsNamed)
{
    PluginManager manager(managerLogger());
    std::string message = errorOf([&] { manager.load(testPlugin("no-create")); });
    EXPECT_TRUE(has(message, testPlugin("no-create"))) << message;
    EXPECT_TRUE(has(message, "mt_plugin_create")) << message;
    EXPECT_TRUE(has(message, "MT_PLUGIN")) << message;
}

TEST(PluginManager, UnknownKindListsTheAllowedOnes)
{
    PluginManager manager(managerLogger());
    std::string message = errorOf([&] { manager.load(testPlugin("bad-kind")); });
    EXPECT_TRUE(has(message, testPlugin("bad-kind"))) << message;
    EXPECT_TRUE(has(message, "'widget'")) << message;
    EXPECT_TRUE(has(message, "app, store, lb, replication, monitor")) << message;
}

TEST(PluginManager, GarbageFileGivesTheDlopenError)
{
    PluginManager manager(managerLogger());
    std::string message = errorOf([&] { manager.load(testPlugin("garbage")); });
    EXPECT_TRUE(has(message, testPlugin("garbage"))) << message;
    EXPECT_TRUE(has(message, "not a loadable shared object")) << message;
    // dlerror's own words, about the user's file rather than our private copy.
    EXPECT_TRUE(has(message, "invalid ELF header") || has(message, "file too short")) << message;
    EXPECT_FALSE(has(message, "/mt-plugin-garbage-")) << message;
}

TEST(PluginManager, MissingFileIsNamed)
{
    PluginManager manager(managerLogger());
    std::string message = errorOf([&] { manager.load(kDir + "/nowhere.so"); });
    EXPECT_TRUE(has(message, kDir + "/nowhere.so")) << message;
    EXPECT_TRUE(has(message, "does not exist")) << message;
}

TEST(PluginManager, FailedLoadsKeepEarlierPlugins)
{
    PluginManager manager(managerLogger());
    manager.load(testPlugin("probe"));
    for (const char* bad : {"bad-api", "no-create", "bad-kind", "garbage"})
        EXPECT_THROW(manager.load(testPlugin(bad)), PluginError) << bad;
    EXPECT_TRUE(manager.has("app", "probe"));
    EXPECT_EQ(1u, manager.plugins().size());
    TestContext context;
    EXPECT_TRUE(manager.create<WebApplication>("app", "probe", context));
}

TEST(PluginManager, ThrowingFactoryReportsItsMessage)
{
    PluginManager manager(managerLogger());
    manager.load(testPlugin("throws"));
    TestContext context;
    std::string message = errorOf([&] { manager.create<WebApplication>("app", "thrower", context); });
    EXPECT_TRUE(has(message, "thrower refuses to start: database unreachable")) << message;
    EXPECT_TRUE(has(message, testPlugin("throws"))) << message;

    context.set("mode", "config");
    try
    {
        manager.create<WebApplication>("app", "thrower", context);
        ADD_FAILURE() << "no PluginConfigError";
    }
    catch (const PluginConfigError& e)
    {
        EXPECT_TRUE(has(e.what(), "setting mode=config is not allowed")) << e.what();
        EXPECT_TRUE(has(e.what(), "app/thrower")) << e.what();
    }
    EXPECT_TRUE(manager.has("app", "thrower"));
}

TEST(PluginManager, NullFactoryIsAnError)
{
    PluginManager manager(managerLogger());
    manager.load(testPlugin("null-factory"));
    TestContext context;
    std::string message = errorOf([&] { manager.create<WebApplication>("app", "nullfactory", context); });
    EXPECT_TRUE(has(message, "returned no object")) << message;
    EXPECT_TRUE(has(message, testPlugin("null-factory"))) << message;
}

TEST(PluginManager, UnknownPluginAndWrongTypeAreErrors)
{
    PluginManager manager(managerLogger());
    manager.load(testPlugin("probe"));
    TestContext context;
    std::string message = errorOf([&] { manager.create<WebApplication>("app", "nothere", context); });
    EXPECT_TRUE(has(message, "app/nothere")) << message;
    EXPECT_TRUE(has(message, "probe")) << message; // lists what is loaded
    EXPECT_THROW(manager.info("store", "probe"), PluginError);
    message = errorOf([&] { manager.create<SessionStoreAdapter>("app", "probe", context); });
    EXPECT_TRUE(has(message, "wrong type")) << message;
}

TEST(PluginManager, DuplicateKindAndNameNamesBothFiles)
{
    TempDir dir;
    install(testPlugin("probe"), dir.path() / "a.so");
    install(testPlugin("probe"), dir.path() / "b.so");
    PluginManager manager(managerLogger());
    ScanReport report = manager.scan(dir.str());
    ASSERT_EQ(1u, report.loaded.size());
    ASSERT_EQ(1u, report.errors.size());
    EXPECT_TRUE(has(report.errors[0], (dir.path() / "a.so").string())) << report.errors[0];
    EXPECT_TRUE(has(report.errors[0], (dir.path() / "b.so").string())) << report.errors[0];
    EXPECT_TRUE(has(report.errors[0], "app/probe")) << report.errors[0];
    EXPECT_EQ((dir.path() / "a.so").string(), manager.info("app", "probe").file);
}

TEST(PluginManager, ScanOfTheTestDirectoryReportsEveryBadFileAndLoadsTheRest)
{
    PluginManager manager(managerLogger());
    ScanReport report = manager.scan(kDir);
    EXPECT_TRUE(manager.has("app", "probe"));
    EXPECT_TRUE(manager.has("app", "thrower"));
    EXPECT_TRUE(manager.has("app", "nullfactory"));
    std::string all;
    for (const auto& e : report.errors)
        all += e + "\n";
    for (const char* bad : {"bad-api.so", "no-create.so", "bad-kind.so", "garbage.so", "probe-v2.so"})
        EXPECT_TRUE(has(all, bad)) << bad << " not in:\n" << all;
    EXPECT_EQ(5u, report.errors.size()) << all;

    // A bad file is reported once, not on every rescan.
    ScanReport again = manager.scan(kDir);
    EXPECT_TRUE(again.errors.empty());
    EXPECT_TRUE(again.loaded.empty());
}

TEST(PluginManager, ScanOfAMissingDirectoryThrows)
{
    PluginManager manager(managerLogger());
    std::string message = errorOf([&] { manager.scan("/nonexistent/plugins"); });
    EXPECT_TRUE(has(message, "/nonexistent/plugins")) << message;
}

TEST(PluginManager, ScanPicksUpANewFileAndForgetsARemovedOne)
{
    TempDir dir;
    PluginManager manager(managerLogger());
    EXPECT_TRUE(manager.scan(dir.str()).loaded.empty());
    EXPECT_FALSE(manager.has("app", "probe"));

    install(testPlugin("probe"), dir.path() / "app-probe.so");
    fs::copy_file(kDir + "/garbage.so", dir.path() / "notes.txt"); // not *.so: ignored
    ScanReport report = manager.scan(dir.str());
    ASSERT_EQ(1u, report.loaded.size());
    EXPECT_TRUE(has(report.loaded[0], "app/probe")) << report.loaded[0];
    EXPECT_TRUE(report.errors.empty());
    EXPECT_TRUE(manager.has("app", "probe"));

    EXPECT_TRUE(manager.scan(dir.str()).loaded.empty()); // unchanged: nothing to do

    fs::remove(dir.path() / "app-probe.so");
    report = manager.scan(dir.str());
    ASSERT_EQ(1u, report.removed.size());
    EXPECT_FALSE(manager.has("app", "probe"));
    EXPECT_TRUE(manager.waitUnloaded(1000));
    EXPECT_EQ(0u, manager.liveLibraries());
}

TEST(PluginManager, ObjectKeepsItsLibraryAfterTheFileIsRemoved)
{
    TempDir dir;
    install(testPlugin("probe"), dir.path() / "app-probe.so");
    PluginManager manager(managerLogger());
    manager.scan(dir.str());
    TestContext context;
    auto app = manager.create<WebApplication>("app", "probe", context);
    EXPECT_GT(mt::test::mappedCount("mt-plugin-app-probe-"), 0);

    fs::remove(dir.path() / "app-probe.so");
    manager.scan(dir.str());
    EXPECT_FALSE(manager.has("app", "probe"));
    EXPECT_EQ(1u, manager.liveLibraries());
    EXPECT_FALSE(manager.waitUnloaded(100)); // the object still lives
    EXPECT_FALSE(context.log().contains("destroyed"));

    // The object still works: its code is still mapped.
    struct Registry : HandlerRegistry
    {
        int handlers = 0;
        std::string path = "/probe";
        void addHandler(const std::string&, std::shared_ptr<RequestHandler>) override { ++handlers; }
        void addSessionListener(std::shared_ptr<SessionListener>) override {}
        const std::string& contextPath() const override { return path; }
    } registry;
    app->deploy(registry);
    EXPECT_EQ(1, registry.handlers);

    // Releasing it from another thread wakes the waiter.
    std::thread releaser([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        app.reset();
    });
    EXPECT_TRUE(manager.waitUnloaded(5000));
    releaser.join();
    EXPECT_TRUE(context.log().contains("probe 1.0.0 destroyed"));
    EXPECT_EQ(0u, manager.liveLibraries());
    // Really unmapped (-fno-gnu-unique), not just forgotten.
    EXPECT_EQ(0, mt::test::mappedCount("mt-plugin-app-probe-"));
}

TEST(PluginManager, ChangedFileReplacesThePluginWhileOldObjectsKeepTheOldCode)
{
    TempDir dir;
    fs::path file = dir.path() / "app-probe.so";
    install(testPlugin("probe"), file);
    PluginManager manager(managerLogger());
    manager.scan(dir.str());
    TestContext context;
    auto oldApp = manager.create<WebApplication>("app", "probe", context);

    // Overwritten in place, as `cp` does: safe because we mapped a private copy.
    install(testPlugin("probe-v2"), file);
    ScanReport report = manager.scan(dir.str());
    ASSERT_EQ(1u, report.reloaded.size()) << (report.errors.empty() ? "" : report.errors[0]);
    EXPECT_EQ("2.0.0", manager.info("app", "probe").version);

    auto newApp = manager.create<WebApplication>("app", "probe", context);
    EXPECT_TRUE(context.log().contains("probe 2.0.0 created"));
    EXPECT_EQ(2u, manager.liveLibraries());
    EXPECT_FALSE(manager.waitUnloaded(50));

    oldApp.reset();
    EXPECT_TRUE(context.log().contains("probe 1.0.0 destroyed"));
    EXPECT_TRUE(manager.waitUnloaded(2000));
    EXPECT_EQ(1u, manager.liveLibraries());
    EXPECT_TRUE(manager.has("app", "probe"));
    newApp.reset();
    EXPECT_TRUE(context.log().contains("probe 2.0.0 destroyed"));
}

TEST(PluginManager, ABadNewVersionKeepsTheOldOne)
{
    TempDir dir;
    fs::path file = dir.path() / "app-probe.so";
    install(testPlugin("probe"), file);
    PluginManager manager(managerLogger());
    manager.scan(dir.str());
    install(testPlugin("garbage"), file);
    ScanReport report = manager.scan(dir.str());
    ASSERT_EQ(1u, report.errors.size());
    EXPECT_TRUE(has(report.errors[0], file.string()));
    EXPECT_TRUE(manager.has("app", "probe"));
    EXPECT_EQ("1.0.0", manager.info("app", "probe").version);
}

TEST(PluginManager, AScanOfAnotherDirectoryMakesItThePluginSet)
{
    TempDir first, second;
    install(testPlugin("probe"), first.path() / "app-probe.so");
    install(testPlugin("probe-v2"), second.path() / "app-probe.so");
    PluginManager manager(managerLogger());
    manager.scan(first.str());
    TestContext context;
    auto oldApp = manager.create<WebApplication>("app", "probe", context);
    EXPECT_TRUE(manager.isCurrent(oldApp));

    // A new plugin.dir: the first directory's plugins go, the same names
    // come from the second one (not "already loaded from" the first).
    ScanReport report = manager.scan(second.str());
    EXPECT_TRUE(report.errors.empty()) << report.errors[0];
    ASSERT_EQ(1u, report.removed.size());
    EXPECT_TRUE(has(report.removed[0], (fs::canonical(first.path()) / "app-probe.so").string())) << report.removed[0];
    ASSERT_EQ(1u, report.loaded.size());
    EXPECT_EQ("2.0.0", manager.info("app", "probe").version);
    EXPECT_EQ((fs::canonical(second.path()) / "app-probe.so").string(), manager.info("app", "probe").file);

    // The object made before still runs the old code, and says it is stale.
    EXPECT_FALSE(manager.isCurrent(oldApp));
    EXPECT_TRUE(manager.isCurrent(manager.create<WebApplication>("app", "probe", context)));
    oldApp.reset();
    EXPECT_TRUE(manager.waitUnloaded(2000));
}

TEST(PluginManager, RestoreUndoesAScanWithItsErrorsAndUnloadsWhatItLoaded)
{
    TempDir kept, refused;
    install(testPlugin("probe"), kept.path() / "app-probe.so");
    install(testPlugin("probe-v2"), refused.path() / "app-probe.so");
    install(testPlugin("garbage"), refused.path() / "broken.so");
    PluginManager manager(managerLogger());
    manager.scan(kept.str());
    TestContext context;
    auto app = manager.create<WebApplication>("app", "probe", context);

    PluginManager::Snapshot before = manager.snapshot();
    ScanReport report = manager.scan(refused.str());
    ASSERT_EQ(1u, report.errors.size());
    EXPECT_EQ("2.0.0", manager.info("app", "probe").version);
    EXPECT_FALSE(manager.isCurrent(app));

    manager.restore(before);
    EXPECT_EQ("1.0.0", manager.info("app", "probe").version);
    EXPECT_TRUE(manager.isCurrent(app));
    // Version 2 made no object: restored away, it is unmapped; version 1 is not "dropped".
    EXPECT_TRUE(manager.waitUnloaded(2000));
    EXPECT_EQ(1u, manager.liveLibraries());

    // As if the refused scan had never run: the first directory is unchanged,
    // and the broken file in the other one is reported again.
    ScanReport again = manager.scan(kept.str());
    EXPECT_TRUE(again.loaded.empty() && again.reloaded.empty() && again.removed.empty() && again.errors.empty());
    EXPECT_EQ(1u, manager.scan(refused.str()).errors.size());
}

TEST(PluginManager, AnObjectNotMadeByTheManagerIsNotCurrent)
{
    PluginManager manager(managerLogger());
    EXPECT_FALSE(manager.isCurrent(std::shared_ptr<PluginObject>()));
    struct Local : PluginObject
    {
    };
    EXPECT_FALSE(manager.isCurrent(std::make_shared<Local>()));
}

TEST(PluginManager, ObjectsOutliveTheManager)
{
    TestContext context;
    std::shared_ptr<WebApplication> app;
    {
        PluginManager manager(managerLogger());
        manager.load(testPlugin("probe"));
        app = manager.create<WebApplication>("app", "probe", context);
    }
    EXPECT_FALSE(context.log().contains("destroyed"));
    app.reset();
    EXPECT_TRUE(context.log().contains("probe 1.0.0 destroyed"));
}

TEST(PluginManager, TheExampleApplicationsLoad)
{
    PluginManager manager(managerLogger());
    for (const char* name : {"counter", "cart", "hello"})
    {
        PluginInfo info = manager.load(std::string(MT_PLUGIN_DIR) + "/app-" + name + ".so");
        EXPECT_EQ("app", info.kind);
        EXPECT_EQ(name, info.name);
        TestContext context("mt.test.app");
        EXPECT_TRUE(manager.create<WebApplication>("app", name, context));
    }
}
