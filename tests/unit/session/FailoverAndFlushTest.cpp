// DistributedSessionManager's failover route rewrite (Tomcat's
// JvmRouteBinderValve) and flushMode=IMMEDIATE, over the memory store.
#include "SessionTestSupport.h"

#include "session/SessionScope.h"

#include <gtest/gtest.h>

using namespace mt;
using namespace mt::test;

namespace {

const std::string kFromA = "AAAAAAAAAAAAAAAAAAAAAAAA.A";
const std::string kOnB = "AAAAAAAAAAAAAAAAAAAAAAAA.B";
const std::string kOnC = "AAAAAAAAAAAAAAAAAAAAAAAA.C";

SessionSettings onNode(const std::string& node, bool rewrite = true, bool immediate = false)
{
    SessionSettings s;
    s.nodeName = node;
    s.rewriteRoute = rewrite;
    s.flushImmediate = immediate;
    auto routes = std::make_shared<KnownRoutes>();
    routes->set({"A", "B", "C"});
    s.routes = routes;
    return s;
}

void storeSession(ManagerFixture& f, const std::string& id)
{
    SessionData d;
    d.id = id;
    d.creationTime = d.lastAccessedTime = f.clock.nowMs();
    d.attributes["a"] = "1";
    ASSERT_TRUE(f.store->create(d));
}

struct Request
{
    Request(ManagerFixture& f, std::string id)
        : scope(f.manager, std::move(id), [this](const std::string& c) { cookies.push_back(c); })
    {
    }
    std::vector<std::string> cookies;
    SessionScope scope;
};

} // namespace

TEST(Failover, ASessionWithAnotherNodesRouteMovesToThisNodesRoute)
{
    ManagerFixture f(onNode("B"));
    storeSession(f, kFromA);
    Request r(f, kFromA);
    auto* s = r.scope.session(false);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->id(), kOnB);
    EXPECT_EQ(s->attributeJson("a"), "1");
    ASSERT_EQ(r.cookies.size(), 1u);
    EXPECT_EQ(r.cookies[0].rfind("JSESSIONID=" + kOnB + ";", 0), 0u) << r.cookies[0];
    s->setAttributeJson("b", "2");
    r.scope.commit();
    EXPECT_FALSE(f.store->load(kFromA));
    ASSERT_TRUE(f.store->load(kOnB));
    EXPECT_EQ(f.store->load(kOnB)->attributes.at("b"), "2");
    EXPECT_EQ(f.store->load(kOnB)->versionVector.get("B"), 1u);
}

TEST(Failover, AConcurrentRequestWithTheOldIdFindsTheMovedSession)
{
    ManagerFixture f(onNode("B"));
    storeSession(f, kFromA);
    ASSERT_TRUE(f.store->rename(kFromA, kOnB)); // another request got there first
    Request r(f, kFromA);
    auto* s = r.scope.session(false);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->id(), kOnB);
    EXPECT_EQ(r.cookies.size(), 1u);
}

TEST(Failover, AnOldIdFindsTheSessionThatAnotherNodeRenamed)
{
    // A died, B took the session over; C gets a request still carrying the
    // id from A, and so does A once it is back: both find it, and move it.
    ManagerFixture c(onNode("C"));
    storeSession(c, kOnB);
    Request onC(c, kFromA);
    auto* s = onC.scope.session(false);
    ASSERT_NE(s, nullptr) << "not a new, empty session";
    EXPECT_EQ(s->id(), kOnC);
    EXPECT_EQ(s->attributeJson("a"), "1");
    ASSERT_EQ(onC.cookies.size(), 1u);
    EXPECT_EQ(onC.cookies[0].rfind("JSESSIONID=" + kOnC + ";", 0), 0u) << onC.cookies[0];
    EXPECT_FALSE(c.store->load(kOnB));

    ManagerFixture a(onNode("A"));
    storeSession(a, kOnB);
    Request onA(a, kFromA); // this node's own route: the id it issued
    ASSERT_NE(onA.scope.session(false), nullptr);
    EXPECT_EQ(onA.scope.session(false)->id(), kFromA);
    ASSERT_EQ(onA.cookies.size(), 0u) << "the client already has this id";
    EXPECT_TRUE(a.store->load(kFromA));
    EXPECT_FALSE(a.store->load(kOnB));
}

TEST(Failover, AnUnknownIdLooksUnderEveryRouteOnceAndMakesNoSession)
{
    ManagerFixture f(onNode("B"));
    Request r(f, kFromA);
    EXPECT_EQ(r.scope.session(false), nullptr);
    EXPECT_TRUE(r.cookies.empty());
    EXPECT_EQ(f.store->loads.load(), 3) << "as sent, under this node's route, under C's";
}

TEST(Failover, OwnRouteAndRewriteOffLeaveTheIdAlone)
{
    ManagerFixture own(onNode("A"));
    storeSession(own, kFromA);
    Request r1(own, kFromA);
    ASSERT_NE(r1.scope.session(false), nullptr);
    EXPECT_EQ(r1.scope.session(false)->id(), kFromA);
    EXPECT_TRUE(r1.cookies.empty());

    ManagerFixture off(onNode("B", false));
    storeSession(off, kFromA);
    Request r2(off, kFromA);
    ASSERT_NE(r2.scope.session(false), nullptr);
    EXPECT_EQ(r2.scope.session(false)->id(), kFromA);
    EXPECT_TRUE(r2.cookies.empty());
}

TEST(FlushMode, ImmediateWritesEachChangeAtOnceAndNothingAtCommit)
{
    ManagerFixture f(onNode("A", true, true));
    storeSession(f, kFromA);
    f.store->reset();
    Request r(f, kFromA);
    auto* s = r.scope.session(false);
    s->setAttributeJson("x", "1");
    EXPECT_EQ(f.store->saves().size(), 1u) << "written before the request ends";
    EXPECT_EQ(f.store->load(kFromA)->attributes.at("x"), "1");
    s->removeAttribute("a");
    EXPECT_EQ(f.store->saves().size(), 2u);
    EXPECT_EQ(s->attributeJson("x"), "1");
    r.scope.commit();
    EXPECT_EQ(f.store->saves().size(), 2u);
    EXPECT_EQ(f.store->touches.load(), 0) << "the writes already set the access time";
}

TEST(FlushMode, OnCommitWritesOnceAtTheEnd)
{
    ManagerFixture f(onNode("A", true, false));
    storeSession(f, kFromA);
    f.store->reset();
    Request r(f, kFromA);
    auto* s = r.scope.session(false);
    s->setAttributeJson("x", "1");
    s->setAttributeJson("y", "2");
    EXPECT_EQ(f.store->saves().size(), 0u);
    r.scope.commit();
    ASSERT_EQ(f.store->saves().size(), 1u);
    EXPECT_EQ(f.store->saves()[0].setAttributes.size(), 2u);
}

TEST(FlushMode, ImmediateOnASessionAnotherRequestRemovedKeepsTheRequestsViewAndWritesNoMore)
{
    ManagerFixture f(onNode("A", true, true));
    storeSession(f, kFromA);
    Request r(f, kFromA);
    auto* s = r.scope.session(false);
    ASSERT_NE(s, nullptr);
    f.manager.invalidate(kFromA); // a logout on another request
    f.store->reset();
    s->setAttributeJson("x", "1");
    EXPECT_EQ(s->attributeJson("x"), "1");
    EXPECT_EQ(s->attributeJson("a"), "1");
    s->setAttributeJson("y", "2");
    EXPECT_EQ(f.store->saves().size(), 1u) << "the first write found it gone; no more are tried";
    r.scope.commit();
    EXPECT_EQ(f.store->saves().size(), 1u);
    EXPECT_EQ(f.store->touches.load(), 0);
    EXPECT_FALSE(f.store->load(kFromA));
}

namespace {

/// Another node takes the session over (renames it to its route) just as
/// this node's first touch of it arrives.
class TakenOverAtTouchStore : public RecordingStore
{
public:
    bool touch(const std::string& id, TimeMs t) override
    {
        if (!takenOver.exchange(true)) rename(kFromA, kOnB);
        return RecordingStore::touch(id, t);
    }
    std::atomic<bool> takenOver{false};
};

} // namespace

TEST(Failover, ASessionMovedAwayAsItIsTouchedOnLoadIsFollowedNotDropped)
{
    ManualClock clock;
    auto store = std::make_shared<TakenOverAtTouchStore>();
    DistributedSessionManager manager(onNode("A"), store, clock, testLogger());
    SessionData d;
    d.id = kFromA;
    d.creationTime = d.lastAccessedTime = clock.nowMs();
    d.attributes["a"] = "1";
    ASSERT_TRUE(store->create(d));
    clock.advance(1000 * 1000); // over half the interval idle: touched as it loads
    SessionScope scope(manager, kFromA, [](const std::string&) {});
    auto* s = scope.session(false);
    ASSERT_NE(s, nullptr) << "the session moved; the request must look again, not go without it";
    EXPECT_TRUE(store->takenOver.load());
    EXPECT_EQ(s->id(), kFromA);
    EXPECT_EQ(s->attributeJson("a"), "1");
    EXPECT_TRUE(store->load(kFromA));
}
