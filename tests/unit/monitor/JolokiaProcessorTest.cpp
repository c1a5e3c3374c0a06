// The Jolokia protocol's JSON, request by request, and the GET path syntax.
#include "monitor/JolokiaPath.h"
#include "monitor/JolokiaProcessor.h"
#include "monitor/MBeanServer.h"

#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <gtest/gtest.h>

#include <atomic>
#include <sstream>

using namespace mt;

namespace {

Poco::Dynamic::Var json(const std::string& text)
{
    return Poco::JSON::Parser().parse(text);
}

std::string text(const Poco::Dynamic::Var& value)
{
    std::ostringstream out;
    Poco::JSON::Stringifier::stringify(value, out);
    return out.str();
}

class JolokiaProcessorTest : public ::testing::Test
{
protected:
    JolokiaProcessorTest() : processor(server, "node1")
    {
        for (const char* context : {"/cart", "/counter"})
        {
            auto mbean = std::make_shared<MBean>("sessions of " + std::string(context));
            std::string path = context;
            mbean->attribute("activeSessions", "int", "active", [path] { return path == "/cart" ? 2 : 5; })
                .attribute("maxInactiveInterval", "int", "writable", [this] { return interval.load(); },
                           [this](const Poco::Dynamic::Var& v) { interval = v.convert<int>(); })
                .attribute("info", "java.util.Map", "nested", [] {
                    return json(R"({"a":{"b":[10,20,30]},"x/y":1})");
                })
                .operation("expireSession", "expires", "void", {{"sessionId", "java.lang.String", "id"}},
                           [this](const std::vector<Poco::Dynamic::Var>& args) {
                               expired = args.at(0).toString();
                               return Poco::Dynamic::Var();
                           });
            server.registerMBean(ObjectName("Catalina:type=Manager,context=" + path + ",host=localhost"), mbean);
        }
        auto pool = std::make_shared<MBean>("pool");
        pool->attribute("maxThreads", "int", "threads", [] { return 32; });
        server.registerMBean(ObjectName("Catalina:type=ThreadPool,name=\"http\""), pool);
    }

    Poco::JSON::Object::Ptr run(const std::string& request, bool mayWrite = true)
    {
        JolokiaProcessor::Options options;
        options.mayWrite = mayWrite;
        return processor.process(json(request), options);
    }

    MBeanServer server;
    JolokiaProcessor processor;
    std::atomic<int> interval{1800};
    std::string expired;
};

} // namespace

TEST_F(JolokiaProcessorTest, Version)
{
    auto r = run(R"({"type":"version"})");
    EXPECT_EQ(r->getValue<int>("status"), 200);
    EXPECT_EQ(r->getObject("value")->getValue<std::string>("protocol"), "7.2");
    EXPECT_TRUE(r->has("timestamp"));
    EXPECT_EQ(r->getObject("request")->getValue<std::string>("type"), "version");
}

TEST_F(JolokiaProcessorTest, ReadOneAttribute)
{
    auto r = run(R"({"type":"read","mbean":"Catalina:type=Manager,context=/cart,host=localhost","attribute":"activeSessions"})");
    EXPECT_EQ(r->getValue<int>("status"), 200) << text(r);
    EXPECT_EQ(r->getValue<int>("value"), 2);
    EXPECT_EQ(r->getObject("request")->getValue<std::string>("attribute"), "activeSessions");
}

TEST_F(JolokiaProcessorTest, ReadSeveralAndAllAttributes)
{
    auto r = run(R"({"type":"read","mbean":"Catalina:host=localhost,context=/cart,type=Manager","attribute":["activeSessions","maxInactiveInterval"]})");
    ASSERT_EQ(r->getValue<int>("status"), 200) << text(r);
    EXPECT_EQ(text(r->get("value")), R"({"activeSessions":2,"maxInactiveInterval":1800})");
    r = run(R"({"type":"read","mbean":"Catalina:type=ThreadPool,name=\"http\""})");
    EXPECT_EQ(text(r->get("value")), R"({"maxThreads":32})");
}

TEST_F(JolokiaProcessorTest, ReadWithPathIntoTheValue)
{
    auto r = run(R"({"type":"read","mbean":"Catalina:type=Manager,context=/cart,host=localhost","attribute":"info","path":"a/b/1"})");
    EXPECT_EQ(r->getValue<int>("value"), 20) << text(r);
    r = run(R"({"type":"read","mbean":"Catalina:type=Manager,context=/cart,host=localhost","attribute":"info","path":"x!/y"})");
    EXPECT_EQ(r->getValue<int>("value"), 1) << text(r);
    r = run(R"({"type":"read","mbean":"Catalina:type=Manager,context=/cart,host=localhost","attribute":"info","path":"a/nope"})");
    EXPECT_EQ(r->getValue<int>("status"), 400);
}

TEST_F(JolokiaProcessorTest, ReadPatternGivesAMapByMBean)
{
    auto r = run(R"({"type":"read","mbean":"Catalina:type=Manager,*","attribute":"activeSessions"})");
    ASSERT_EQ(r->getValue<int>("status"), 200) << text(r);
    auto value = r->getObject("value");
    EXPECT_EQ(value->size(), 2u);
    EXPECT_EQ(value->getObject("Catalina:context=/counter,host=localhost,type=Manager")->getValue<int>("activeSessions"), 5);
    // MBeans without the attribute are left out; none at all is an error.
    r = run(R"({"type":"read","mbean":"Catalina:*","attribute":"maxThreads"})");
    EXPECT_EQ(r->getObject("value")->size(), 1u) << text(r);
    r = run(R"({"type":"read","mbean":"Nope:*"})");
    EXPECT_EQ(r->getValue<int>("status"), 404);
}

TEST_F(JolokiaProcessorTest, ErrorsForUnknownMBeanAttributeAndType)
{
    auto r = run(R"({"type":"read","mbean":"Catalina:type=Nope","attribute":"x"})");
    EXPECT_EQ(r->getValue<int>("status"), 404);
    EXPECT_EQ(r->getValue<std::string>("error_type"), "javax.management.InstanceNotFoundException");
    EXPECT_NE(r->getValue<std::string>("error").find("Catalina:type=Nope"), std::string::npos);
    EXPECT_EQ(r->getObject("request")->getValue<std::string>("mbean"), "Catalina:type=Nope");

    r = run(R"({"type":"read","mbean":"Catalina:type=Manager,context=/cart,host=localhost","attribute":"nope"})");
    EXPECT_EQ(r->getValue<int>("status"), 404);
    EXPECT_EQ(r->getValue<std::string>("error_type"), "javax.management.AttributeNotFoundException");

    r = run(R"({"type":"read","mbean":"bad name"})");
    EXPECT_EQ(r->getValue<int>("status"), 400);
    EXPECT_EQ(r->getValue<std::string>("error_type"), "javax.management.MalformedObjectNameException");

    EXPECT_EQ(run(R"({"type":"frobnicate"})")->getValue<int>("status"), 400);
    EXPECT_EQ(run(R"([1])")->getValue<int>("status"), 400);
}

TEST_F(JolokiaProcessorTest, WriteReturnsTheOldValueAndNeedsTheToken)
{
    auto r = run(R"({"type":"write","mbean":"Catalina:type=Manager,context=/cart,host=localhost","attribute":"maxInactiveInterval","value":"60"})");
    ASSERT_EQ(r->getValue<int>("status"), 200) << text(r);
    EXPECT_EQ(r->getValue<int>("value"), 1800);
    EXPECT_EQ(interval.load(), 60);
    r = run(R"({"type":"write","mbean":"Catalina:type=Manager,context=/cart,host=localhost","attribute":"activeSessions","value":1})");
    EXPECT_EQ(r->getValue<int>("status"), 400);
    r = run(R"({"type":"write","mbean":"Catalina:type=Manager,context=/cart,host=localhost","attribute":"maxInactiveInterval","value":5})",
            false);
    EXPECT_EQ(r->getValue<int>("status"), 403);
    EXPECT_EQ(r->getValue<std::string>("error_type"), "java.lang.SecurityException");
    EXPECT_EQ(interval.load(), 60);
}

TEST_F(JolokiaProcessorTest, ExecRunsTheOperationAndNeedsTheToken)
{
    auto r = run(R"({"type":"exec","mbean":"Catalina:type=Manager,context=/cart,host=localhost","operation":"expireSession","arguments":["abc.node1"]})");
    ASSERT_EQ(r->getValue<int>("status"), 200) << text(r);
    EXPECT_TRUE(r->get("value").isEmpty());
    EXPECT_EQ(text(r), text(r)); // serializable with a null value
    EXPECT_NE(text(r).find("\"value\":null"), std::string::npos) << text(r);
    EXPECT_EQ(expired, "abc.node1");
    r = run(R"J({"type":"exec","mbean":"Catalina:type=Manager,context=/cart,host=localhost","operation":"expireSession(java.lang.String)","arguments":["x"]})J");
    EXPECT_EQ(r->getValue<int>("status"), 200) << text(r);
    r = run(R"({"type":"exec","mbean":"Catalina:type=Manager,context=/cart,host=localhost","operation":"expireSession","arguments":[]})");
    EXPECT_EQ(r->getValue<int>("status"), 400);
    r = run(R"({"type":"exec","mbean":"Catalina:type=Manager,context=/cart,host=localhost","operation":"expireSession","arguments":["y"]})",
            false);
    EXPECT_EQ(r->getValue<int>("status"), 403);
    EXPECT_EQ(expired, "x");
}

TEST_F(JolokiaProcessorTest, SearchGivesCanonicalNames)
{
    auto r = run(R"({"type":"search","mbean":"Catalina:type=Manager,*"})");
    EXPECT_EQ(text(r->get("value")),
              R"(["Catalina:context=/cart,host=localhost,type=Manager","Catalina:context=/counter,host=localhost,type=Manager"])");
    r = run(R"({"type":"search","mbean":"Nope:*"})");
    EXPECT_EQ(r->getValue<int>("status"), 200);
    EXPECT_EQ(text(r->get("value")), "[]");
}

TEST_F(JolokiaProcessorTest, ListDescribesAttributesAndOperations)
{
    auto r = run(R"({"type":"list"})");
    ASSERT_EQ(r->getValue<int>("status"), 200) << text(r);
    auto manager = r->getObject("value")->getObject("Catalina")->getObject("context=/cart,host=localhost,type=Manager");
    ASSERT_TRUE(manager);
    EXPECT_EQ(manager->getObject("attr")->getObject("maxInactiveInterval")->getValue<bool>("rw"), true);
    EXPECT_EQ(manager->getObject("attr")->getObject("activeSessions")->getValue<std::string>("type"), "int");
    auto op = manager->getObject("op")->getObject("expireSession");
    EXPECT_EQ(op->getValue<std::string>("ret"), "void");
    EXPECT_EQ(op->getArray("args")->getObject(0)->getValue<std::string>("type"), "java.lang.String");

    r = run(R"({"type":"list","path":"Catalina/context=!/cart,host=localhost,type=Manager/attr/activeSessions"})");
    ASSERT_EQ(r->getValue<int>("status"), 200) << text(r);
    EXPECT_EQ(r->getObject("value")->getValue<std::string>("desc"), "active");
    r = run(R"({"type":"list","path":"Catalina"})");
    EXPECT_EQ(r->getObject("value")->size(), 3u);
    EXPECT_EQ(run(R"({"type":"list","path":"Nope"})")->getValue<int>("status"), 404);
}

TEST_F(JolokiaProcessorTest, BulkAnswersEachInOrder)
{
    JolokiaProcessor::Options options;
    auto responses = processor.processAll(
        json(R"([{"type":"version"},{"type":"read","mbean":"Catalina:type=Nope"},{"type":"search","mbean":"*:*"}])")
            .extract<Poco::JSON::Array::Ptr>(),
        options);
    ASSERT_EQ(responses->size(), 3u);
    EXPECT_EQ(responses->getObject(0)->getValue<int>("status"), 200);
    EXPECT_EQ(responses->getObject(1)->getValue<int>("status"), 404);
    EXPECT_EQ(responses->getObject(2)->getArray("value")->size(), 3u);
}

TEST(JolokiaPathTest, SplitsWithEscapes)
{
    EXPECT_EQ(JolokiaPath::split("a/b!/c/d!!"), (std::vector<std::string>{"a", "b/c", "d!"}));
    EXPECT_EQ(JolokiaPath::split("/read/x/"), (std::vector<std::string>{"", "read", "x"}));
    EXPECT_EQ(JolokiaPath::split(""), std::vector<std::string>{});
    EXPECT_EQ(JolokiaPath::escape("/cart!"), "!/cart!!");
}

TEST(JolokiaPathTest, ParsesGetUrls)
{
    auto r = JolokiaPath::parseGet(JolokiaPath::split("read/Catalina:type=Manager,context=!/cart,host=localhost/activeSessions"));
    EXPECT_EQ(r->getValue<std::string>("type"), "read");
    EXPECT_EQ(r->getValue<std::string>("mbean"), "Catalina:type=Manager,context=/cart,host=localhost");
    EXPECT_EQ(r->getValue<std::string>("attribute"), "activeSessions");

    r = JolokiaPath::parseGet(JolokiaPath::split("read/d:k=v/a,b/inner/0"));
    EXPECT_EQ(r->getArray("attribute")->size(), 2u);
    EXPECT_EQ(r->getValue<std::string>("path"), "inner/0");
    r = JolokiaPath::parseGet(JolokiaPath::split("read/d:k=v/*"));
    EXPECT_FALSE(r->has("attribute"));

    r = JolokiaPath::parseGet(JolokiaPath::split("exec/d:k=v/op/1/[null]/\"\""));
    auto args = r->getArray("arguments");
    ASSERT_EQ(args->size(), 3u);
    EXPECT_EQ(args->get(0).toString(), "1");
    EXPECT_TRUE(args->get(1).isEmpty());
    EXPECT_EQ(args->get(2).toString(), "");

    r = JolokiaPath::parseGet(JolokiaPath::split("write/d:k=v/attr/5"));
    EXPECT_EQ(r->getValue<std::string>("value"), "5");
    r = JolokiaPath::parseGet(JolokiaPath::split("list/Catalina/type=Manager"));
    EXPECT_EQ(r->getValue<std::string>("path"), "Catalina/type=Manager");
    EXPECT_EQ(JolokiaPath::parseGet({})->getValue<std::string>("type"), "version");
    EXPECT_EQ(JolokiaPath::parseGet(JolokiaPath::split("search/*:*"))->getValue<std::string>("mbean"), "*:*");
    EXPECT_THROW(JolokiaPath::parseGet(JolokiaPath::split("read")), MBeanError);
    EXPECT_THROW(JolokiaPath::parseGet(JolokiaPath::split("bogus/x")), MBeanError);
}
