#include "web/HandlerMapping.h"

#include <gtest/gtest.h>

#include <stdexcept>

using namespace mt;

namespace {

class Named : public RequestHandler
{
public:
    explicit Named(std::string name) : name(std::move(name)) {}
    void service(HttpRequest&, HttpResponse&) override {}
    std::string name;
};

std::string matched(const HandlerMapping& mapping, const std::string& path)
{
    RequestHandler* handler = mapping.match(path);
    return handler ? static_cast<Named*>(handler)->name : "(none)";
}

void fill(HandlerMapping& m)
{
    for (const char* p : {"/a/b", "/a/*", "/a/b/*", "*.jsp", "/", "/exact.jsp", "/x/*"})
        m.add(p, std::make_shared<Named>(p));
}

} // namespace

TEST(HandlerMapping, ExactBeatsPrefixBeatsExtensionBeatsDefault)
{
    HandlerMapping m;
    fill(m);
    EXPECT_EQ("/a/b", matched(m, "/a/b"));
    EXPECT_EQ("/a/b/*", matched(m, "/a/b/c"));
    EXPECT_EQ("/a/b/*", matched(m, "/a/b/"));
    EXPECT_EQ("/a/*", matched(m, "/a/c/d"));
    EXPECT_EQ("/a/*", matched(m, "/a"));
    EXPECT_EQ("/a/*", matched(m, "/a/x.jsp")); // prefix before extension
    EXPECT_EQ("*.jsp", matched(m, "/other/page.jsp"));
    EXPECT_EQ("/exact.jsp", matched(m, "/exact.jsp"));
    EXPECT_EQ("/", matched(m, "/other/page.html"));
    EXPECT_EQ("/", matched(m, "/"));
    EXPECT_EQ("/", matched(m, "/ab")); // "/a/*" is a path prefix, not a string prefix
    EXPECT_EQ("/", matched(m, "/x.jsp/y")); // extension only of the last segment
    EXPECT_EQ("/", matched(m, ""));
}

TEST(HandlerMapping, SlashStarMatchesEverythingBeforeExtensions)
{
    HandlerMapping m;
    m.add("/*", std::make_shared<Named>("all"));
    m.add("*.css", std::make_shared<Named>("css"));
    m.add("/api", std::make_shared<Named>("api"));
    EXPECT_EQ("all", matched(m, "/"));
    EXPECT_EQ("all", matched(m, "/style.css"));
    EXPECT_EQ("api", matched(m, "/api"));
    EXPECT_EQ("all", matched(m, "/api/x"));
}

TEST(HandlerMapping, NothingMatchesWithoutDefault)
{
    HandlerMapping m;
    EXPECT_TRUE(m.empty());
    m.add("/only", std::make_shared<Named>("only"));
    EXPECT_FALSE(m.empty());
    EXPECT_EQ(nullptr, m.match("/other"));
    EXPECT_EQ(nullptr, m.match("/only/below"));
}

TEST(HandlerMapping, MalformedPatternsAreRefusedByName)
{
    HandlerMapping m;
    for (const char* bad : {"a", "/a/*/b", "*.", "", "/a*", "*.a/b", "**.x", "a/*"})
    {
        try
        {
            m.add(bad, std::make_shared<Named>(bad));
            ADD_FAILURE() << "accepted " << bad;
        }
        catch (const std::invalid_argument& e)
        {
            EXPECT_NE(std::string::npos, std::string(e.what()).find(std::string("\"") + bad + "\"")) << e.what();
        }
    }
    EXPECT_TRUE(m.empty());
    EXPECT_THROW(m.add("/ok", nullptr), std::invalid_argument);
}

TEST(HandlerMapping, DuplicatesAreRefused)
{
    HandlerMapping m;
    fill(m);
    for (const char* dup : {"/a/b", "/a/*", "*.jsp", "/"})
    {
        try
        {
            m.add(dup, std::make_shared<Named>("again"));
            ADD_FAILURE() << "accepted duplicate " << dup;
        }
        catch (const std::invalid_argument& e)
        {
            EXPECT_NE(std::string::npos, std::string(e.what()).find("duplicate")) << e.what();
            EXPECT_NE(std::string::npos, std::string(e.what()).find(dup)) << e.what();
        }
    }
    EXPECT_EQ("/a/b", matched(m, "/a/b")); // the first one stays
}
