// The Jolokia protocol as the real npm client (jolokia.js) speaks it: a
// real microtomcat, a session made over HTTP, then client.mjs reads, lists,
// searches and expires that session through /jolokia/.
#include "../ServerProcess.h"

#include <Poco/JSON/Parser.h>

#include <gtest/gtest.h>

#include <filesystem>

using namespace mt::test;

namespace {

const std::string kTestDir = std::string(MT_SOURCE_DIR) + "/tests/integration/jolokia";

/// node_modules comes from package-lock.json (npm ci); install-deps.sh does
/// it once, this covers a fresh checkout built without it.
void ensureClientInstalled()
{
    if (std::filesystem::exists(kTestDir + "/node_modules/jolokia.js/package.json")) return;
    std::string output;
    int code = runCommand("/usr/bin/env", {"npm", "ci", "--prefix", kTestDir, "--no-audit", "--no-fund"}, output,
                          std::chrono::seconds(180));
    ASSERT_EQ(code, 0) << "npm ci in " << kTestDir << " failed:\n" << output;
}

} // namespace

TEST(JolokiaClient, ReadListSearchExecAndErrorsThroughJolokiaJs)
{
    ASSERT_NO_FATAL_FAILURE(ensureClientInstalled());
    ServerProcess server;
    server.writeConfig("contexts=counter,cart\ncontext.counter.path=/counter\ncontext.counter.app=counter\n"
                       "context.cart.path=/cart\ncontext.cart.app=cart\naccesslog.enabled=false\n");
    server.start();

    auto reply = httpRequest(server.port(), "GET", "/counter/");
    ASSERT_EQ(reply.status, 200) << reply.body;
    std::string sessionId = Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("session");
    ASSERT_FALSE(sessionId.empty());

    std::string output;
    int code = runCommand("/usr/bin/env",
                          {"node", kTestDir + "/client.mjs", "http://127.0.0.1:" + std::to_string(server.port()),
                           server.adminToken(), sessionId},
                          output, std::chrono::seconds(60));
    EXPECT_EQ(code, 0) << output << "\nserver output:\n" << server.output();
    EXPECT_NE(output.find("all Jolokia checks passed"), std::string::npos) << output;

    // The session expired through JMX is gone for its client too: the counter starts again.
    reply = httpRequest(server.port(), "GET", "/counter/", {{"Cookie", "JSESSIONID=" + sessionId}});
    ASSERT_EQ(reply.status, 200);
    auto json = Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(json->getValue<int>("count"), 1) << reply.body;
    EXPECT_NE(json->getValue<std::string>("session"), sessionId);
    EXPECT_EQ(server.stop(), 0);
}

TEST(JolokiaClient, GetAndPostOverPlainHttp)
{
    ServerProcess server;
    server.writeConfig("contexts=counter\ncontext.counter.path=/counter\ncontext.counter.app=counter\n"
                       "accesslog.enabled=false\n");
    server.start();
    // Percent-encoded GET with "!/" escaping, as curl users write it.
    auto reply = httpRequest(server.port(), "GET",
                             "/jolokia/read/Catalina%3Atype%3DManager%2Ccontext%3D!%2Fcounter%2Chost%3Dlocalhost/activeSessions");
    ASSERT_EQ(reply.status, 200);
    EXPECT_NE(reply.header("content-type").find("application/json"), std::string::npos);
    auto json = Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(json->getValue<int>("status"), 200) << reply.body;
    EXPECT_EQ(json->getValue<int>("value"), 0);

    reply = httpRequest(server.port(), "POST", "/jolokia/", {{"Content-Type", "application/json"}}, "{not json");
    ASSERT_EQ(reply.status, 200); // Jolokia: protocol errors travel in the body
    json = Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(json->getValue<int>("status"), 400);

    // Token checked like /admin/*: a wrong one cannot write.
    reply = httpRequest(server.port(), "POST", "/jolokia/", {{"Authorization", "Bearer wrong"}},
                        R"({"type":"write","mbean":"Catalina:type=Manager,context=/counter,host=localhost","attribute":"maxInactiveInterval","value":1})");
    json = Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(json->getValue<int>("status"), 403) << reply.body;

    reply = httpRequest(server.port(), "GET", "/jolokia/read/Catalina:type=GlobalRequestProcessor,name=%22http%22/requestCount");
    json = Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(json->getValue<int>("status"), 200) << reply.body;
    EXPECT_GE(json->getValue<int>("value"), 1);
    EXPECT_EQ(server.stop(), 0);
}

TEST(JolokiaClient, ManagerMBeansFollowDeployAndUndeploy)
{
    ServerProcess server;
    const std::string both = "contexts=counter,cart\ncontext.counter.path=/counter\ncontext.counter.app=counter\n"
                             "context.cart.path=/cart\ncontext.cart.app=cart\naccesslog.enabled=false\n";
    server.writeConfig(both);
    server.start();
    auto managers = [&] {
        auto reply = httpRequest(server.port(), "GET", "/jolokia/search/Catalina:type=Manager,*");
        auto json = Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>();
        std::string names;
        auto value = json->getArray("value");
        for (std::size_t i = 0; i < value->size(); ++i) names += value->getElement<std::string>(i) + " ";
        return names;
    };
    auto reload = [&] {
        return httpRequest(server.port(), "POST", "/admin/reload", {{"Authorization", "Bearer " + server.adminToken()}}).status;
    };
    EXPECT_EQ(managers(), "Catalina:context=/cart,host=localhost,type=Manager "
                          "Catalina:context=/counter,host=localhost,type=Manager ");
    server.writeConfig("contexts=counter\ncontext.counter.path=/counter\ncontext.counter.app=counter\naccesslog.enabled=false\n");
    ASSERT_EQ(reload(), 200);
    EXPECT_EQ(managers(), "Catalina:context=/counter,host=localhost,type=Manager ");
    server.writeConfig(both);
    ASSERT_EQ(reload(), 200);
    EXPECT_EQ(managers(), "Catalina:context=/cart,host=localhost,type=Manager "
                          "Catalina:context=/counter,host=localhost,type=Manager ");
    EXPECT_EQ(server.stop(), 0);
}
