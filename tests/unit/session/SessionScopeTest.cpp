#include "SessionTestSupport.h"

#include "session/SessionIdGenerator.h"
#include "session/SessionScope.h"

#include <gtest/gtest.h>

#include <thread>

using namespace mt;
using namespace mt::test;

namespace {

/// One simulated request against the fixture's manager.
struct Request
{
    Request(ManagerFixture& f, std::string id = "")
        : scope(f.manager, std::move(id), [this](const std::string& c) { cookies.push_back(c); })
    {
    }
    std::vector<std::string> cookies;
    SessionScope scope;
};

/// Creates a session with attribute a=1 in its own request; returns its id.
std::string seed(ManagerFixture& f)
{
    Request r(f);
    auto* s = r.scope.session(true);
    s->setAttributeJson("a", "1");
    r.scope.commit();
    f.store->reset();
    f.listener->clear();
    return s->id();
}

} // namespace

TEST(SessionScope, NoSessionAccessedMeansNoStoreCall)
{
    ManagerFixture f;
    auto id = seed(f);
    Request r(f, id);
    r.scope.commit();
    EXPECT_EQ(f.store->loads + f.store->touches + f.store->creates, 0);
    EXPECT_EQ(f.store->saveCount(), 0u);
    EXPECT_TRUE(r.cookies.empty());
}

TEST(SessionScope, CreateOnDemandSetsCookieAndIsNewOnlyForThatRequest)
{
    ManagerFixture f;
    Request first(f);
    EXPECT_EQ(first.scope.session(false), nullptr);
    auto* s = first.scope.session(true);
    ASSERT_NE(s, nullptr);
    EXPECT_TRUE(s->isNew());
    EXPECT_EQ(first.scope.session(false), s);
    ASSERT_EQ(first.cookies.size(), 1u);
    EXPECT_EQ(first.cookies[0], f.manager.cookieFor(s->id()));
    s->setAttributeJson("user", "\"ann\"");
    first.scope.commit();

    Request second(f, s->id());
    auto* again = second.scope.session(false);
    ASSERT_NE(again, nullptr);
    EXPECT_FALSE(again->isNew());
    EXPECT_EQ(again->attributeJson("user"), std::optional<std::string>("\"ann\""));
    EXPECT_TRUE(second.cookies.empty());
}

TEST(SessionScope, NewSessionThatChangesNothingWritesNothingMore)
{
    ManagerFixture f;
    Request r(f);
    r.scope.session(true);
    r.scope.commit();
    EXPECT_EQ(f.store->creates, 1);
    EXPECT_EQ(f.store->touches, 0);
    EXPECT_EQ(f.store->saveCount(), 0u);
}

TEST(SessionScope, MalformedOrUnknownRequestedIdIsNoSession)
{
    ManagerFixture f;
    for (std::string bad : std::vector<std::string>{"garbage", std::string(250, 'A'), "AAAAAAAAAAAAAAAAAAAAAAAA.no\"de"})
    {
        Request r(f, bad);
        EXPECT_EQ(r.scope.session(false), nullptr);
    }
    EXPECT_EQ(f.store->loads, 0);
    Request r(f, "AAAAAAAAAAAAAAAAAAAAAAAA.node1");
    EXPECT_EQ(r.scope.session(false), nullptr);
    auto* s = r.scope.session(true);
    EXPECT_NE(s->id(), "AAAAAAAAAAAAAAAAAAAAAAAA.node1"); // never adopts the client's id
}

TEST(SessionScope, TheFirstRequestedIdThatNamesASessionIsTheRequests)
{
    // A browser sends a stale cookie of another path first, then the right one.
    ManagerFixture f;
    const std::string id = seed(f);
    std::vector<std::string> cookies;
    SessionScope scope(f.manager, {"garbage", "AAAAAAAAAAAAAAAAAAAAAAAA.node1", id},
                       [&](const std::string& c) { cookies.push_back(c); });
    auto* s = scope.session(false);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->id(), id);
    EXPECT_EQ(s->attributeJson("a"), "1");
    EXPECT_TRUE(cookies.empty()) << "the client has the right cookie already";

    // Looked up at most kMaxRequestedIds times: a flood of cookies costs no more.
    std::vector<std::string> many(20, "AAAAAAAAAAAAAAAAAAAAAAAA.node1");
    many.push_back(id);
    f.store->reset();
    SessionScope flooded(f.manager, many, [](const std::string&) {});
    EXPECT_EQ(flooded.session(false), nullptr);
    EXPECT_EQ(f.store->loads.load(), static_cast<int>(SessionScope::kMaxRequestedIds));
}

TEST(SessionScope, ReadOnlyRequestOnlyTouches)
{
    ManagerFixture f;
    auto id = seed(f);
    const auto before = f.store->load(id);
    f.clock.advance(1000);
    Request r(f, id);
    EXPECT_EQ(r.scope.session(false)->attributeJson("a"), std::optional<std::string>("1"));
    EXPECT_EQ(r.scope.session(false)->attributeNames(), std::vector<std::string>{"a"});
    r.scope.commit();
    r.scope.commit();
    EXPECT_EQ(f.store->saveCount(), 0u);
    EXPECT_EQ(f.store->touches, 1);
    const auto after = f.store->load(id);
    EXPECT_EQ(after->version, before->version);
    EXPECT_EQ(after->lastAccessedTime, before->lastAccessedTime + 1000);
}

TEST(SessionScope, SettingAnEqualValueOrRemovingAnAbsentOneWritesNothing)
{
    ManagerFixture f;
    auto id = seed(f);
    Request r(f, id);
    auto* s = r.scope.session(false);
    s->setAttributeJson("a", "1");
    s->removeAttribute("missing");
    s->setAttributeJson("b", "2");
    s->removeAttribute("b"); // undone within the request
    s->setAttributeJson("a", "5");
    s->setAttributeJson("a", "1"); // back to the loaded value
    s->setMaxInactiveInterval(s->maxInactiveInterval());
    r.scope.commit();
    EXPECT_EQ(f.store->saveCount(), 0u);
    EXPECT_EQ(f.store->touches, 1);
}

TEST(SessionScope, DeltaHoldsExactlyWhatChanged)
{
    ManagerFixture f;
    std::string id;
    {
        Request r(f);
        auto* s = r.scope.session(true);
        s->setAttributeJson("a", "1");
        s->setAttributeJson("b", "[1,2]");
        s->setAttributeJson("c", "{\"k\":true}");
        r.scope.commit();
        id = s->id();
    }
    f.store->reset();
    {
        Request r(f, id);
        auto* s = r.scope.session(false);
        s->setAttributeJson("b", "[1,2,3]");
        r.scope.commit();
    }
    auto saves = f.store->saves();
    ASSERT_EQ(saves.size(), 1u);
    EXPECT_EQ(saves[0].setAttributes, (std::map<std::string, std::string>{{"b", "[1,2,3]"}}));
    EXPECT_TRUE(saves[0].removedAttributes.empty());
    EXPECT_FALSE(saves[0].maxInactiveInterval);
    EXPECT_EQ(saves[0].id, id);
    EXPECT_EQ(saves[0].node, "node1");

    f.store->reset();
    {
        Request r(f, id);
        auto* s = r.scope.session(false);
        s->removeAttribute("a");
        s->setMaxInactiveInterval(60);
        r.scope.commit();
    }
    saves = f.store->saves();
    ASSERT_EQ(saves.size(), 1u);
    EXPECT_TRUE(saves[0].setAttributes.empty());
    EXPECT_EQ(saves[0].removedAttributes, std::set<std::string>{"a"});
    EXPECT_EQ(saves[0].maxInactiveInterval, std::optional<int>(60));
}

TEST(SessionScope, RequestSeesItsOwnWrites)
{
    ManagerFixture f;
    auto id = seed(f);
    Request r(f, id);
    auto* s = r.scope.session(false);
    s->setAttributeJson("b", "\"x\"");
    s->removeAttribute("a");
    s->setMaxInactiveInterval(10);
    EXPECT_EQ(s->attributeJson("b"), std::optional<std::string>("\"x\""));
    EXPECT_FALSE(s->attributeJson("a"));
    EXPECT_EQ(s->attributeNames(), std::vector<std::string>{"b"});
    EXPECT_EQ(s->maxInactiveInterval(), 10);
    s->setAttribute("n", Poco::Dynamic::Var(41));
    EXPECT_EQ(s->attributeJson("n"), std::optional<std::string>("41"));
    // Nothing reached the store before commit.
    EXPECT_EQ(f.store->load(id)->attributes.count("b"), 0u);
}

TEST(SessionScope, WriteBumpsVersionAndThisNodesVectorCounter)
{
    ManagerFixture f;
    auto id = seed(f);
    const auto before = f.store->load(id);
    Request r(f, id);
    auto* s = r.scope.session(false);
    EXPECT_EQ(s->version(), before->version);
    s->setAttributeJson("a", "2");
    r.scope.commit();
    const auto after = f.store->load(id);
    EXPECT_EQ(after->version, before->version + 1);
    EXPECT_EQ(after->versionVector.get("node1"), before->versionVector.get("node1") + 1);
    EXPECT_EQ(s->version(), after->version); // the view is rebased on the commit's result
    EXPECT_EQ(before->attributes.at("a"), "1"); // snapshots are immutable
}

TEST(SessionScope, InvalidJsonIsRefused)
{
    ManagerFixture f;
    Request r(f);
    auto* s = r.scope.session(true);
    for (std::string bad : {"", " ", "{", "nope", "'x'", "[1,]", "01", "{\"a\":}", "1,2", "1 2", "1],[2", "{}x"})
        EXPECT_THROW(s->setAttributeJson("x", bad), std::invalid_argument) << bad;
    for (std::string good : {"0", "-12", "1.5e3", "true", "null", "\"s\"", "[]", "{\"a\":[1,{\"b\":null}]}", " \"x\" "})
        EXPECT_NO_THROW(s->setAttributeJson("x", good)) << good;
}

TEST(SessionScope, AttributeListenersFireAtTheCallWithOldAndNewJson)
{
    ManagerFixture f;
    auto id = seed(f);
    Request r(f, id);
    auto* s = r.scope.session(false);
    s->setAttributeJson("b", "true");
    s->setAttributeJson("a", "2");
    s->setAttributeJson("a", "2");
    s->removeAttribute("b");
    s->removeAttribute("b");
    EXPECT_EQ(f.listener->events(),
              (std::vector<std::string>{"added b=true", "replaced a=1->2", "removed b=true"}));
}

TEST(SessionScope, InvalidateEndsTheSession)
{
    ManagerFixture f;
    auto id = seed(f);
    Request r(f, id);
    auto* s = r.scope.session(false);
    s->setAttributeJson("a", "3");
    s->invalidate();
    EXPECT_FALSE(s->isValid());
    EXPECT_THROW(s->attributeJson("a"), std::logic_error);
    EXPECT_THROW(s->setAttributeJson("a", "1"), std::logic_error);
    EXPECT_THROW(s->invalidate(), std::logic_error);
    EXPECT_EQ(r.scope.session(false), nullptr);
    ASSERT_EQ(r.cookies.size(), 1u);
    EXPECT_EQ(r.cookies[0], f.manager.expiredCookie());
    r.scope.commit();
    EXPECT_EQ(f.store->saveCount(), 0u);
    EXPECT_EQ(f.store->touches, 0);
    EXPECT_FALSE(f.store->load(id));
    EXPECT_EQ(f.listener->countPrefix("invalidated " + id), 1u);
}

TEST(SessionScope, NewSessionAfterInvalidateInTheSameRequest)
{
    ManagerFixture f;
    auto id = seed(f);
    Request r(f, id);
    r.scope.session(false)->invalidate();
    auto* fresh = r.scope.session(true);
    ASSERT_NE(fresh, nullptr);
    EXPECT_NE(fresh->id(), id);
    EXPECT_TRUE(fresh->isNew());
    EXPECT_FALSE(fresh->attributeJson("a"));
    EXPECT_EQ(r.cookies.back(), f.manager.cookieFor(fresh->id()));
}

TEST(SessionScope, ChangeSessionIdKeepsDataAndRetiresTheOldId)
{
    ManagerFixture f;
    auto oldId = seed(f);
    Request r(f, oldId);
    auto* s = r.scope.session(false);
    s->setAttributeJson("b", "2");
    auto newId = r.scope.changeSessionId();
    EXPECT_NE(newId, oldId);
    EXPECT_TRUE(SessionIdGenerator::isWellFormed(newId));
    EXPECT_EQ(s->id(), newId);
    EXPECT_EQ(r.cookies, std::vector<std::string>{f.manager.cookieFor(newId)});
    r.scope.commit();

    EXPECT_FALSE(f.store->load(oldId));
    auto moved = f.store->load(newId);
    ASSERT_TRUE(moved);
    EXPECT_EQ(moved->attributes, (std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}}));
    Request old(f, oldId);
    EXPECT_EQ(old.scope.session(false), nullptr);
}

TEST(SessionScope, ChangeSessionIdWithoutSessionThrows)
{
    ManagerFixture f;
    Request r(f);
    EXPECT_THROW(r.scope.changeSessionId(), std::logic_error);
}

TEST(SessionScope, ExpiredRequestedSessionIsGone)
{
    ManagerFixture f;
    auto id = seed(f);
    f.clock.advance(1800 * 1000);
    Request r(f, id);
    EXPECT_EQ(r.scope.session(false), nullptr);
    EXPECT_EQ(f.listener->countPrefix("expired " + id), 0u); // the sweep's to destroy
    f.manager.sweep();
    EXPECT_EQ(f.listener->countPrefix("expired " + id), 1u);
}

// Tomcat moves the access time as a request begins; here the commit writes
// it. A session loaded late in its interval is touched at once, so that a
// sweep while the request runs does not take it and lose its changes.
TEST(SessionScope, ASessionLoadedLateInItsIntervalIsTouchedAtOnceSoNoSweepTakesItMidRequest)
{
    ManagerFixture f;
    auto id = seed(f);
    f.clock.advance(1799 * 1000);
    Request r(f, id);
    auto* s = r.scope.session(false);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(f.store->touches, 1);
    f.clock.advance(2000); // the request takes 2 s: past the old expiry
    EXPECT_EQ(f.manager.sweep(), 0u);
    s->setAttributeJson("b", "2");
    r.scope.commit();
    EXPECT_EQ(f.store->touches, 1);
    auto stored = f.store->load(id);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->attributes.at("b"), "2");
    EXPECT_EQ(f.listener->countPrefix("expired "), 0u);

    // Early in the interval: no touch at load, and a read-only request touches once, at commit.
    f.store->reset();
    f.clock.advance(1000);
    Request early(f, id);
    ASSERT_NE(early.scope.session(false), nullptr);
    EXPECT_EQ(f.store->touches, 0);
    early.scope.commit();
    EXPECT_EQ(f.store->touches, 1);
    // Late and read-only: touched at load, not again at commit.
    f.store->reset();
    f.clock.advance(901 * 1000);
    Request late(f, id);
    ASSERT_NE(late.scope.session(false), nullptr);
    late.scope.commit();
    EXPECT_EQ(f.store->touches, 1);
}

TEST(SessionScope, AfterTheCommitANewSessionANewIdOrAChangeThrowsRatherThanBeLost)
{
    ManagerFixture f;
    auto id = seed(f);
    Request none(f);
    none.scope.commit();
    EXPECT_THROW(none.scope.session(true), std::logic_error);
    EXPECT_EQ(f.store->creates, 0);
    EXPECT_EQ(none.scope.session(false), nullptr);

    Request r(f, id);
    auto* s = r.scope.session(false);
    ASSERT_NE(s, nullptr);
    r.scope.commit();
    EXPECT_THROW(s->setAttributeJson("b", "2"), std::logic_error);
    EXPECT_THROW(s->removeAttribute("a"), std::logic_error);
    EXPECT_THROW(s->setMaxInactiveInterval(60), std::logic_error);
    EXPECT_THROW(r.scope.changeSessionId(), std::logic_error);
    EXPECT_EQ(s->attributeJson("a"), std::optional<std::string>("1")); // reading is fine
    EXPECT_TRUE(f.store->load(id));
    EXPECT_EQ(f.store->saveCount(), 0u);

    // A session first reached after the commit is read-only as well.
    Request late(f, id);
    late.scope.commit();
    auto* reached = late.scope.session(false);
    ASSERT_NE(reached, nullptr);
    EXPECT_THROW(reached->setAttributeJson("b", "2"), std::logic_error);

    SessionSettings immediate;
    immediate.flushImmediate = true;
    ManagerFixture g(immediate);
    Request w(g);
    auto* written = w.scope.session(true);
    w.scope.commit();
    written->setAttributeJson("late", "1"); // IMMEDIATE writes it at once: allowed
    EXPECT_EQ(g.store->load(written->id())->attributes.at("late"), "1");
}

TEST(SessionScope, ConcurrentRequestsChangingDifferentAttributesBothSurvive)
{
    ManagerFixture f;
    auto id = seed(f);
    constexpr int kRounds = 1000;
    // Each thread increments its own counter from what it reads: a store that
    // wrote whole records would lose the other thread's increments.
    auto worker = [&](const std::string name) {
        for (int i = 0; i < kRounds; ++i)
        {
            Request r(f, id);
            auto* s = r.scope.session(false);
            ASSERT_NE(s, nullptr);
            auto value = s->attributeJson(name);
            s->setAttributeJson(name, std::to_string(value ? std::stoi(*value) + 1 : 1));
            r.scope.commit();
        }
    };
    std::thread a(worker, "x"), b(worker, "y");
    a.join();
    b.join();
    auto data = f.store->load(id);
    EXPECT_EQ(data->attributes.at("x"), std::to_string(kRounds));
    EXPECT_EQ(data->attributes.at("y"), std::to_string(kRounds));
    EXPECT_EQ(data->versionVector.get("node1"), 1u + 2 * kRounds);
}
