// MBean (typed attributes and operations), MBeanServer (the registry) and
// the Manager MBean the kernel registers per context.
#include "monitor/MBeanExporter.h"
#include "monitor/MBeanServer.h"
#include "session/DistributedSessionManager.h"

#include "LogLines.h"
#include "mt/Plugin.h"

#include <Poco/AutoPtr.h>

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

using namespace mt;

namespace {

std::shared_ptr<MBean> counterBean(std::shared_ptr<std::atomic<long>> value)
{
    auto mbean = std::make_shared<MBean>("a counter");
    mbean->attribute("value", "long", "the value", [value] { return Poco::Int64(value->load()); },
                     [value](const Poco::Dynamic::Var& v) { value->store(v.convert<long>()); })
        .attribute("name", "java.lang.String", "read-only", [] { return std::string("c"); })
        .operation("add", "adds", "long", {{"delta", "long", "how much"}},
                   [value](const std::vector<Poco::Dynamic::Var>& args) {
                       return Poco::Dynamic::Var(Poco::Int64(*value += args[0].convert<long>()));
                   })
        .operation("add", "adds twice", "long", {{"a", "long", ""}, {"b", "long", ""}},
                   [value](const std::vector<Poco::Dynamic::Var>& args) {
                       return Poco::Dynamic::Var(Poco::Int64(*value += args[0].convert<long>() + args[1].convert<long>()));
                   });
    return mbean;
}

/// An MBean whose getter "slow" blocks until release(): a Jolokia read in
/// progress while the MBean's owner goes away.
struct BlockedRead
{
    std::promise<void> entered, released;
    std::shared_future<void> mayReturn = released.get_future().share();
    std::shared_ptr<MBean> mbean = std::make_shared<MBean>("blocking");
    std::future<Poco::Dynamic::Var> call;

    BlockedRead()
    {
        mbean->attribute("slow", "long", "returns once released", [this] {
            entered.set_value();
            mayReturn.wait();
            return Poco::Dynamic::Var(Poco::Int64(1));
        });
    }
    /// Looks `name` up in `server` on another thread and reads "slow"; returns once the getter runs.
    void start(const MBeanServer& server, const ObjectName& name)
    {
        call = std::async(std::launch::async, [&server, name] { return server.find(name)->getAttribute("slow"); });
        entered.get_future().wait();
    }
    void release()
    {
        if (!isReleased.exchange(true)) released.set_value();
    }
    // A test that fails before release() must not hang in `call`'s destructor.
    ~BlockedRead() { release(); }
    std::atomic<bool> isReleased{false};
};

} // namespace

TEST(MBeanTest, AttributesAreTypedAndWritableOnlyWithASetter)
{
    auto value = std::make_shared<std::atomic<long>>(5);
    auto mbean = counterBean(value);
    EXPECT_EQ(mbean->getAttribute("value").convert<long>(), 5);
    mbean->setAttribute("value", std::string("42")); // converted to the declared type
    EXPECT_EQ(value->load(), 42);
    try
    {
        mbean->setAttribute("value", std::string("forty"));
        FAIL();
    }
    catch (const MBeanError& e)
    {
        EXPECT_EQ(e.status(), 400);
    }
    try
    {
        mbean->setAttribute("name", std::string("x"));
        FAIL();
    }
    catch (const MBeanError& e)
    {
        EXPECT_EQ(e.status(), 400);
        EXPECT_NE(std::string(e.what()).find("read-only"), std::string::npos);
    }
    try
    {
        mbean->getAttribute("nope");
        FAIL();
    }
    catch (const MBeanError& e)
    {
        EXPECT_EQ(e.status(), 404);
        EXPECT_EQ(e.errorType(), "javax.management.AttributeNotFoundException");
    }
    EXPECT_THROW(mbean->attribute("value", "int", "twice", [] { return 1; }), std::invalid_argument);
}

TEST(MBeanTest, OperationsPickOverloadsByCountOrSignature)
{
    auto value = std::make_shared<std::atomic<long>>(0);
    auto mbean = counterBean(value);
    EXPECT_EQ(mbean->invoke("add", {std::string("3")}).convert<long>(), 3);
    EXPECT_EQ(mbean->invoke("add", {1, 2}).convert<long>(), 6);
    EXPECT_EQ(mbean->invoke("add(long)", {4}).convert<long>(), 10);
    EXPECT_EQ(mbean->invoke("add(long, long)", {1, 1}).convert<long>(), 12);
    EXPECT_THROW(mbean->invoke("add", {}), MBeanError);
    EXPECT_THROW(mbean->invoke("subtract", {1}), MBeanError);
    EXPECT_THROW(mbean->invoke("add", {std::string("x")}), MBeanError);
}

TEST(MBeanTest, ConvertsToJmxTypes)
{
    EXPECT_EQ(MBean::convert(std::string(" 7 "), "int").convert<int>(), 7);
    EXPECT_EQ(MBean::convert(std::string("true"), "boolean").convert<bool>(), true);
    EXPECT_DOUBLE_EQ(MBean::convert(std::string("1.5"), "double").convert<double>(), 1.5);
    EXPECT_EQ(MBean::convert(12, "java.lang.String").toString(), "12");
    EXPECT_THROW(MBean::convert(std::string("yes"), "boolean"), MBeanError);
    EXPECT_THROW(MBean::convert(Poco::Dynamic::Var(), "long"), MBeanError);
}

TEST(MBeanServerTest, RegistersFindsQueriesAndUnregisters)
{
    MBeanServer server;
    auto value = std::make_shared<std::atomic<long>>(0);
    server.registerMBean(ObjectName("test:type=Counter,name=a"), counterBean(value));
    server.registerMBean(ObjectName("test:type=Counter,name=b"), counterBean(value));
    server.registerMBean(ObjectName("other:type=Thing"), counterBean(value));
    EXPECT_EQ(server.count(), 3u);
    EXPECT_TRUE(server.isRegistered(ObjectName("test:name=a,type=Counter"))); // canonical lookup
    EXPECT_THROW(server.registerMBean(ObjectName("test:name=a,type=Counter"), counterBean(value)), MBeanError);
    EXPECT_THROW(server.registerMBean(ObjectName("test:type=Counter,*"), counterBean(value)), MalformedObjectName);

    auto names = server.queryNames(ObjectName("test:type=Counter,*"));
    ASSERT_EQ(names.size(), 2u);
    EXPECT_EQ(names[0].canonicalName(), "test:name=a,type=Counter");
    EXPECT_EQ(server.queryNames(ObjectName()).size(), 3u);
    EXPECT_EQ(server.queryNames(ObjectName("other:type=Thing")).size(), 1u);

    EXPECT_TRUE(server.unregisterMBean(ObjectName("test:type=Counter,name=a")));
    EXPECT_FALSE(server.unregisterMBean(ObjectName("test:type=Counter,name=a")));
    try
    {
        server.get(ObjectName("test:type=Counter,name=a"));
        FAIL();
    }
    catch (const MBeanError& e)
    {
        EXPECT_EQ(e.status(), 404);
        EXPECT_EQ(e.errorType(), "javax.management.InstanceNotFoundException");
    }
}

TEST(MBeanServerTest, AnOwnerUnregistersOnlyTheMBeanItRegistered)
{
    // A context redeployed with a new store: the new store replaces the name
    // before the old one goes, and the old one's going leaves it be.
    MBeanServer server;
    auto value = std::make_shared<std::atomic<long>>(0);
    const ObjectName name("test:type=Store,context=/c");
    auto first = counterBean(value);
    server.replaceMBean(name, first);
    auto second = counterBean(value);
    server.replaceMBean(name, second);
    EXPECT_FALSE(server.unregisterMBean(name, first.get()));
    EXPECT_EQ(server.find(name), second);
    EXPECT_TRUE(server.unregisterMBean(name, second.get()));
    EXPECT_FALSE(server.isRegistered(name));
    EXPECT_FALSE(server.unregisterMBean(name, second.get())) << "nothing has the name any more";
}

TEST(MBeanServerTest, UnregisteringWaitsForACallInProgressAndLeavesNoReferenceBehind)
{
    MBeanServer server;
    const ObjectName name("test:type=Store,context=/c");
    BlockedRead read;
    std::weak_ptr<const MBean> weak = read.mbean;
    server.registerMBean(name, std::move(read.mbean));
    read.start(server, name);

    auto unregistered = std::async(std::launch::async, [&] { return server.unregisterMBean(name); });
    EXPECT_EQ(unregistered.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout)
        << "returned while a getter was running: its owner could destroy what the getter reads";
    EXPECT_FALSE(server.isRegistered(name)) << "no new call may start meanwhile";
    read.release();
    EXPECT_EQ(read.call.get().convert<int>(), 1);
    ASSERT_EQ(unregistered.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    EXPECT_TRUE(unregistered.get());
    EXPECT_TRUE(weak.expired()) << "the lease must let go before unregistering returns";
}

TEST(MBeanServerTest, AnOwnerWhoseMBeanWasReplacedStillWaitsForCallsOnIt)
{
    // The old store of a redeployed context: its MBean lost the name to the
    // new store's, but a read taken before that still runs its getter.
    MBeanServer server;
    const ObjectName name("test:type=Store,context=/c");
    BlockedRead read;
    const MBean* old = read.mbean.get();
    server.replaceMBean(name, read.mbean);
    read.start(server, name);
    server.replaceMBean(name, counterBean(std::make_shared<std::atomic<long>>(0)));

    auto unregistered = std::async(std::launch::async, [&] { return server.unregisterMBean(name, old); });
    EXPECT_EQ(unregistered.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
    read.release();
    ASSERT_EQ(unregistered.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    EXPECT_FALSE(unregistered.get()) << "the name belongs to the new MBean";
    EXPECT_TRUE(server.isRegistered(name));
}

TEST(MBeanServerTest, AGetterStuckPastTheLeaseWaitDoesNotHangTheOwner)
{
    Poco::AutoPtr<mt::test::LogLines> lines(new mt::test::LogLines);
    Poco::Logger& jmx = Poco::Logger::get("mt.jmx");
    Poco::AutoPtr<Poco::Channel> before(jmx.getChannel(), true);
    jmx.setChannel(lines);
    struct Restore
    {
        Poco::Logger& logger;
        Poco::AutoPtr<Poco::Channel> channel;
        ~Restore() { logger.setChannel(channel); }
    } restore{jmx, before};
    MBeanServer server(std::chrono::milliseconds(50));
    const ObjectName name("test:type=Stuck");
    BlockedRead read;
    server.registerMBean(name, read.mbean);
    read.start(server, name);
    auto unregistered = std::async(std::launch::async, [&] { return server.unregisterMBean(name); });
    EXPECT_EQ(unregistered.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    EXPECT_TRUE(unregistered.get());
    EXPECT_TRUE(lines->contains("MBean test:type=Stuck: a call to it was still running 50 ms")) << lines->text();
    read.release();
    EXPECT_EQ(read.call.get().convert<int>(), 1);
}

TEST(MBeanServerTest, ConcurrentRegistrationAndReadsAreSafe)
{
    MBeanServer server;
    auto value = std::make_shared<std::atomic<long>>(1);
    std::atomic<bool> stop{false};
    std::thread reader([&] {
        while (!stop)
            for (const auto& name : server.queryNames(ObjectName("t:*")))
                if (auto mbean = server.find(name)) (void)mbean->getAttribute("value");
    });
    for (int i = 0; i < 2000; ++i)
    {
        ObjectName name("t:id=" + std::to_string(i % 17));
        server.replaceMBean(name, counterBean(value));
        if (i % 3 == 0) server.unregisterMBean(name);
    }
    stop = true;
    reader.join();
    SUCCEED();
}

namespace {

struct FixedClock : Clock
{
    TimeMs nowMs() const override { return now; }
    TimeMs now = 1000000;
};

// The smallest store for the manager: a map (the memory plugin is a .so).
class MapStore : public SessionStoreAdapter
{
public:
    DataPtr load(const std::string& id) override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        auto it = _data.find(id);
        return it == _data.end() ? nullptr : std::make_shared<const SessionData>(it->second);
    }
    bool create(const SessionData& data) override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _data.emplace(data.id, data).second;
    }
    DataPtr save(const SessionDelta&) override { return nullptr; }
    bool touch(const std::string&, TimeMs) override { return true; }
    DataPtr remove(const std::string& id) override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        auto it = _data.find(id);
        if (it == _data.end()) return nullptr;
        auto out = std::make_shared<const SessionData>(it->second);
        _data.erase(it);
        return out;
    }
    bool rename(const std::string&, const std::string&) override { return false; }
    std::vector<std::string> list() override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        std::vector<std::string> ids;
        for (const auto& [id, d] : _data) ids.push_back(id);
        return ids;
    }
    std::size_t count() override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _data.size();
    }
    std::vector<SessionData> expire(TimeMs, std::size_t) override { return {}; }

private:
    std::mutex _mutex;
    std::map<std::string, SessionData> _data;
};

} // namespace

TEST(ManagerMBeanTest, HasTomcatsAttributesAndOperations)
{
    FixedClock clock;
    SessionSettings settings;
    settings.contextPath = "/cart";
    auto manager = std::make_shared<DistributedSessionManager>(settings, std::make_shared<MapStore>(), clock,
                                                               Poco::Logger::get("test"));
    auto mbean = MBeanExporter::makeManager(manager);
    for (const char* attribute : {"activeSessions", "sessionCounter", "expiredSessions", "rejectedSessions", "maxActive",
                                  "sessionCreateRate", "sessionExpireRate", "sessionAverageAliveTime", "processingTime"})
        EXPECT_NE(mbean->findAttribute(attribute), nullptr) << attribute;
    auto one = manager->create();
    clock.now += 30000;
    auto two = manager->create();
    EXPECT_EQ(mbean->getAttribute("activeSessions").convert<int>(), 2);
    EXPECT_EQ(mbean->getAttribute("sessionCounter").convert<int>(), 2);
    EXPECT_EQ(mbean->getAttribute("sessionCreateRate").convert<int>(), 4); // 2 in 30 s
    std::string ids = mbean->invoke("listSessionIds", {}).toString();
    EXPECT_NE(ids.find(one->id), std::string::npos);
    EXPECT_NE(ids.find(two->id), std::string::npos);
    mbean->invoke("expireSession", {one->id});
    EXPECT_EQ(mbean->getAttribute("activeSessions").convert<int>(), 1);
    EXPECT_EQ(mbean->invoke("listSessionIds", {}).toString(), two->id);
    EXPECT_EQ(mbean->getAttribute("sessionAverageAliveTime").convert<int>(), 30);
    mbean->setAttribute("maxInactiveInterval", std::string("60"));
    EXPECT_EQ(manager->create()->maxInactiveInterval, 60);

    EXPECT_EQ(MBeanExporter::managerName("/cart").toString(), "Catalina:type=Manager,context=/cart,host=localhost");
    EXPECT_EQ(MBeanExporter::managerName("").property("context"), "/");

    manager.reset(); // undeployed: the MBean says so instead of crashing
    try
    {
        mbean->getAttribute("activeSessions");
        FAIL();
    }
    catch (const MBeanError& e)
    {
        EXPECT_EQ(e.status(), 404);
    }
}

TEST(PluginContextTest, MBeansIsNullByDefault)
{
    struct Bare : PluginContext
    {
        const std::string& nodeName() const override { return name; }
        const Poco::Util::AbstractConfiguration& config() const override { throw std::logic_error("unused"); }
        Poco::Logger& logger() const override { return Poco::Logger::root(); }
        std::string name = "n";
    } bare;
    EXPECT_EQ(bare.mbeans(), nullptr);
}
