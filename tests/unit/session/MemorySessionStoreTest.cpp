#include "MemorySessionStore.h"

#include <Poco/AutoPtr.h>
#include <Poco/Util/MapConfiguration.h>

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

using namespace mt;

namespace {

SessionData session(const std::string& id, TimeMs lastAccess = 0, int maxInactive = 60)
{
    SessionData d;
    d.id = id;
    d.creationTime = lastAccess;
    d.lastAccessedTime = lastAccess;
    d.maxInactiveInterval = maxInactive;
    return d;
}

SessionDelta set(const std::string& id, const std::string& name, const std::string& json)
{
    SessionDelta d;
    d.id = id;
    d.node = "n1";
    d.setAttributes[name] = json;
    return d;
}

class TestContext : public PluginContext
{
public:
    TestContext() : _config(new Poco::Util::MapConfiguration) {}
    const std::string& nodeName() const override { return _node; }
    const Poco::Util::AbstractConfiguration& config() const override { return *_config; }
    Poco::Logger& logger() const override { return Poco::Logger::get("mt.store.memory"); }
    Poco::AutoPtr<Poco::Util::MapConfiguration> _config;
    std::string _node = "n1";
};

} // namespace

TEST(MemorySessionStore, CreateLoadAndDuplicate)
{
    MemorySessionStore store;
    EXPECT_FALSE(store.load("a"));
    EXPECT_TRUE(store.create(session("a")));
    auto dup = session("a");
    dup.attributes["x"] = "1";
    EXPECT_FALSE(store.create(dup));
    EXPECT_TRUE(store.load("a")->attributes.empty());
    EXPECT_EQ(store.load("a"), store.load("a")); // shared, not copied
    EXPECT_EQ(store.count(), 1u);
}

TEST(MemorySessionStore, SaveAppliesDeltaCopyOnWrite)
{
    MemorySessionStore store;
    EXPECT_FALSE(store.save(set("missing", "x", "1")));
    store.create(session("a"));
    auto before = store.load("a");
    auto after = store.save(set("a", "x", "1"));
    ASSERT_TRUE(after);
    EXPECT_EQ(after->attributes.at("x"), "1");
    EXPECT_EQ(after->version, 1u);
    EXPECT_EQ(after->versionVector.get("n1"), 1u);
    EXPECT_TRUE(before->attributes.empty()); // the old snapshot did not change
    EXPECT_EQ(store.load("a"), after);
}

TEST(MemorySessionStore, TouchChangesOnlyTheAccessTime)
{
    MemorySessionStore store;
    EXPECT_FALSE(store.touch("a", 5));
    store.create(session("a", 1));
    EXPECT_TRUE(store.touch("a", 5));
    EXPECT_EQ(store.load("a")->lastAccessedTime, 5);
    EXPECT_EQ(store.load("a")->version, 0u);
    EXPECT_TRUE(store.touch("a", 3)); // never moves back
    EXPECT_EQ(store.load("a")->lastAccessedTime, 5);
}

TEST(MemorySessionStore, RemoveReturnsTheRecordOnce)
{
    MemorySessionStore store;
    store.create(session("a"));
    auto removed = store.remove("a");
    ASSERT_TRUE(removed);
    EXPECT_EQ(removed->id, "a");
    EXPECT_FALSE(store.remove("a"));
    EXPECT_EQ(store.count(), 0u);
}

TEST(MemorySessionStore, RenameMovesTheSession)
{
    MemorySessionStore store(4);
    store.create(session("a"));
    store.save(set("a", "x", "1"));
    store.create(session("taken"));
    EXPECT_FALSE(store.rename("a", "taken"));
    EXPECT_FALSE(store.rename("missing", "b"));
    EXPECT_FALSE(store.rename("a", "a"));
    // Many targets so both the same-shard and the cross-shard paths run.
    std::string current = "a";
    for (int i = 0; i < 20; ++i)
    {
        std::string next = "b" + std::to_string(i);
        ASSERT_TRUE(store.rename(current, next));
        EXPECT_FALSE(store.load(current));
        auto moved = store.load(next);
        ASSERT_TRUE(moved);
        EXPECT_EQ(moved->id, next);
        EXPECT_EQ(moved->attributes.at("x"), "1");
        current = next;
    }
    EXPECT_EQ(store.count(), 2u);
    auto ids = store.list();
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), (std::set<std::string>{current, "taken"}));
}

TEST(MemorySessionStore, ExpireRemovesOnlyExpiredUpToTheLimit)
{
    MemorySessionStore store;
    for (int i = 0; i < 10; ++i) store.create(session("old" + std::to_string(i), 0, 60));
    store.create(session("fresh", 50'000, 60));
    store.create(session("forever", 0, 0));
    EXPECT_TRUE(store.expire(59'999, 100).empty());
    auto first = store.expire(60'000, 4);
    EXPECT_EQ(first.size(), 4u);
    auto rest = store.expire(60'000, 100);
    EXPECT_EQ(rest.size(), 6u);
    EXPECT_EQ(store.count(), 2u);
    EXPECT_TRUE(store.load("fresh"));
    EXPECT_TRUE(store.load("forever"));
}

TEST(MemorySessionStore, ConcurrentExpireAndRemoveHandOutEachSessionOnce)
{
    MemorySessionStore store;
    constexpr int kSessions = 4000;
    for (int i = 0; i < kSessions; ++i) store.create(session("s" + std::to_string(i), 0, 1));
    std::mutex mutex;
    std::multiset<std::string> returned;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int round = 0; round < 1000; ++round)
            {
                std::vector<std::string> got;
                if (t == 3)
                {
                    // Competing invalidations of the same ids.
                    for (int i = round * 4; i < round * 4 + 4 && i < kSessions; ++i)
                        if (auto r = store.remove("s" + std::to_string(i))) got.push_back(r->id);
                }
                else
                {
                    for (auto& d : store.expire(10'000, 50)) got.push_back(d.id);
                }
                std::lock_guard<std::mutex> lock(mutex);
                returned.insert(got.begin(), got.end());
                if (returned.size() >= kSessions && t != 3) return;
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(returned.size(), std::size_t(kSessions));
    EXPECT_EQ(std::set<std::string>(returned.begin(), returned.end()).size(), std::size_t(kSessions));
    EXPECT_EQ(store.count(), 0u);
}

TEST(MemorySessionStore, ConcurrentSavesOfDifferentAttributesBothSurvive)
{
    MemorySessionStore store;
    store.create(session("a"));
    auto writer = [&](std::string name) {
        for (int i = 1; i <= 1000; ++i) store.save(set("a", name, std::to_string(i)));
    };
    std::thread x(writer, "x"), y(writer, "y");
    x.join();
    y.join();
    auto data = store.load("a");
    EXPECT_EQ(data->attributes.at("x"), "1000");
    EXPECT_EQ(data->attributes.at("y"), "1000");
    EXPECT_EQ(data->version, 2000u);
}

TEST(MemorySessionStore, ShardsSettingIsValidated)
{
    TestContext context;
    EXPECT_NO_THROW(MemorySessionStore{context});
    context._config->setInt("shards", 0);
    EXPECT_THROW(MemorySessionStore{context}, PluginConfigError);
    context._config->setInt("shards", 100000);
    EXPECT_THROW(MemorySessionStore{context}, PluginConfigError);
    context._config->setInt("shards", 1);
    MemorySessionStore single(context);
    EXPECT_TRUE(single.create(session("a")));
    EXPECT_TRUE(single.rename("a", "b"));
}
