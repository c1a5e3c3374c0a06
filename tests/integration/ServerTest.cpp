// The real microtomcat process, over HTTP on loopback.
#include "ServerProcess.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <numeric>
#include <regex>

using namespace mt::test;
namespace fs = std::filesystem;

namespace {

Poco::JSON::Object::Ptr json(const std::string& text)
{
    return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

const char* kCounterOnly = "contexts=counter\ncontext.counter.path=/counter\ncontext.counter.app=counter\n";

std::string curl(const std::vector<std::string>& args)
{
    std::string out;
    std::vector<std::string> all{"-sS", "--max-time", "10"};
    all.insert(all.end(), args.begin(), args.end());
    int code = runCommand("/usr/bin/curl", all, out);
    EXPECT_EQ(code, 0) << out;
    return out;
}

HttpReply reload(ServerProcess& server, const std::string& token)
{
    return httpRequest(server.port(), "POST", "/admin/reload", {{"Authorization", "Bearer " + token}});
}

/// Starts `server` (made with MT_SLOW_PLUGIN) on the slow app with a 10 s
/// drain and sends it a 1.5 s request; true once the server has it in hand
/// (false if not within 5 s).
bool startWithASlowRequestInFlight(ServerProcess& server, std::future<HttpReply>& inFlight)
{
    server.writeConfig("contexts=slow\ncontext.slow.path=/slow\ncontext.slow.app=slow\nhttp.drainTimeout=10\n");
    server.start();
    inFlight = std::async(std::launch::async, [&server] { return httpRequest(server.port(), "GET", "/slow/?ms=1500"); });
    return waitUntil(
        [&] {
            auto health = json(httpRequest(server.port(), "GET", "/health").body);
            return health->getObject("components")->getObject("http")->getObject("details")->getValue<int>("activeRequests") >= 2; // this /health request is one
        },
        std::chrono::seconds(5));
}

} // namespace

TEST(Server, CounterKeepsItsSessionThroughTheCookie)
{
    ServerProcess server;
    server.writeConfig(kCounterOnly);
    server.start();
    std::string jar = server.dir() + "/cookies.txt";
    std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/counter/";

    std::string first = curl({"-c", jar, "-b", jar, "-D", server.dir() + "/h1.txt", url});
    auto one = json(first);
    EXPECT_EQ(one->getValue<int>("count"), 1);
    EXPECT_TRUE(one->getValue<bool>("new"));
    std::string id = one->getValue<std::string>("session");
    EXPECT_TRUE(std::regex_match(id, std::regex("[A-Za-z0-9_-]{22,}\\.it1"))) << id;

    std::ifstream headerFile(server.dir() + "/h1.txt");
    std::string headers((std::istreambuf_iterator<char>(headerFile)), std::istreambuf_iterator<char>());
    std::smatch cookie;
    ASSERT_TRUE(std::regex_search(headers, cookie, std::regex("Set-Cookie: (JSESSIONID=[^\r\n]*)", std::regex::icase)))
        << headers;
    std::string setCookie = cookie[1];
    EXPECT_NE(setCookie.find("JSESSIONID=" + id), std::string::npos) << setCookie;
    EXPECT_NE(setCookie.find("Path=/counter"), std::string::npos) << setCookie;
    EXPECT_NE(setCookie.find("HttpOnly"), std::string::npos) << setCookie;
    EXPECT_NE(setCookie.find("SameSite=Lax"), std::string::npos) << setCookie;
    EXPECT_EQ(setCookie.find("Secure"), std::string::npos) << setCookie;

    auto two = json(curl({"-c", jar, "-b", jar, "-D", server.dir() + "/h2.txt", url}));
    EXPECT_EQ(two->getValue<int>("count"), 2);
    EXPECT_FALSE(two->getValue<bool>("new"));
    EXPECT_EQ(two->getValue<std::string>("session"), id);
    auto three = json(curl({"-c", jar, "-b", jar, url}));
    EXPECT_EQ(three->getValue<int>("count"), 3);

    std::ifstream second(server.dir() + "/h2.txt");
    std::string headers2((std::istreambuf_iterator<char>(second)), std::istreambuf_iterator<char>());
    EXPECT_EQ(headers2.find("Set-Cookie"), std::string::npos) << "an existing session must not get a new cookie";

    // Without the cookie: a new session; with a forged id: a new session, never the forged one.
    auto fresh = json(httpRequest(server.port(), "GET", "/counter/").body);
    EXPECT_EQ(fresh->getValue<int>("count"), 1);
    auto forged = httpRequest(server.port(), "GET", "/counter/", {{"Cookie", "JSESSIONID=AAAAAAAAAAAAAAAAAAAAAAAA.it1"}});
    EXPECT_EQ(json(forged.body)->getValue<int>("count"), 1);
    EXPECT_NE(json(forged.body)->getValue<std::string>("session"), "AAAAAAAAAAAAAAAAAAAAAAAA.it1");
}

TEST(Server, AStaleSessionCookieSentFirstDoesNotHideTheRightOne)
{
    // Browsers send every cookie that matches, most specific path first: a
    // stale JSESSIONID of another path, or two Cookie headers (an HTTP/2
    // front end splits them), must not cost the user the session.
    ServerProcess server;
    server.writeConfig(kCounterOnly);
    server.start();
    auto first = httpRequest(server.port(), "GET", "/counter/");
    const std::string id = json(first.body)->getValue<std::string>("session");
    const std::string stale = "JSESSIONID=AAAAAAAAAAAAAAAAAAAAAAAA.it1";
    auto second = httpRequest(server.port(), "GET", "/counter/", {{"Cookie", stale + "; other=1; JSESSIONID=" + id}});
    EXPECT_EQ(json(second.body)->getValue<int>("count"), 2) << second.body;
    EXPECT_TRUE(second.header("Set-Cookie").empty());
    std::string raw = rawExchange(server.port(), "GET /counter/ HTTP/1.1\r\nHost: x\r\nCookie: " + stale +
                                                     "\r\nCookie: JSESSIONID=" + id + "\r\nConnection: close\r\n\r\n");
    EXPECT_NE(raw.find("\"count\":3"), std::string::npos) << raw;
    // An empty cookie does not hide the id in the URL; repeats do not use up the lookups.
    auto viaUrl = httpRequest(server.port(), "GET", "/counter/;jsessionid=" + id, {{"Cookie", "JSESSIONID="}});
    EXPECT_EQ(json(viaUrl.body)->getValue<int>("count"), 4) << viaUrl.body;
    std::string repeated;
    for (int i = 0; i < 6; ++i) repeated += stale + "; ";
    auto afterRepeats = httpRequest(server.port(), "GET", "/counter/", {{"Cookie", repeated + "JSESSIONID=" + id}});
    EXPECT_EQ(json(afterRepeats.body)->getValue<int>("count"), 5) << afterRepeats.body;
}

TEST(Server, SecureCookieWhenConfigured)
{
    ServerProcess server;
    server.writeConfig(std::string(kCounterOnly) + "session.cookieSecure=true\n");
    server.start();
    auto reply = httpRequest(server.port(), "GET", "/counter/");
    EXPECT_NE(reply.header("Set-Cookie").find("; Secure"), std::string::npos) << reply.header("Set-Cookie");
}

TEST(Server, PingAndHealth)
{
    ServerProcess server;
    server.writeConfig(kCounterOnly);
    server.start();
    auto ping = httpRequest(server.port(), "GET", "/ping");
    EXPECT_EQ(ping.status, 200);
    EXPECT_EQ(ping.body, "pong\n");
    auto health = httpRequest(server.port(), "GET", "/health");
    EXPECT_EQ(health.status, 200);
    auto body = json(health.body);
    EXPECT_EQ(body->getValue<std::string>("status"), "UP");
    auto components = body->getObject("components");
    ASSERT_TRUE(components);
    EXPECT_EQ(components->getObject("sessionStores")->getValue<std::string>("status"), "UP");
    EXPECT_EQ(components->getObject("http")->getValue<std::string>("status"), "UP");
    EXPECT_EQ(httpRequest(server.port(), "GET", "/nowhere").status, 404);
}

TEST(Server, StaticFilesWithConditionalRequestsAndNoTraversal)
{
    ServerProcess server;
    fs::create_directories(server.dir() + "/www/sub");
    std::ofstream(server.dir() + "/www/index.html") << "<h1>home</h1>\n";
    std::ofstream(server.dir() + "/www/sub/app.css") << "body{}\n";
    std::ofstream(server.dir() + "/secret.txt") << "TOP-SECRET\n";
    server.writeConfig("contexts=site\ncontext.site.path=/site\ncontext.site.docRoot=www\n");
    server.start();

    auto index = httpRequest(server.port(), "GET", "/site/index.html");
    EXPECT_EQ(index.status, 200);
    EXPECT_EQ(index.body, "<h1>home</h1>\n");
    EXPECT_NE(index.header("Content-Type").find("text/html"), std::string::npos);
    EXPECT_EQ(httpRequest(server.port(), "GET", "/site/").body, "<h1>home</h1>\n");
    auto css = httpRequest(server.port(), "GET", "/site/sub/app.css");
    EXPECT_NE(css.header("Content-Type").find("text/css"), std::string::npos);

    std::string etag = index.header("ETag");
    ASSERT_FALSE(etag.empty());
    EXPECT_EQ(httpRequest(server.port(), "GET", "/site/index.html", {{"If-None-Match", etag}}).status, 304);
    std::string modified = index.header("Last-Modified");
    ASSERT_FALSE(modified.empty());
    EXPECT_EQ(httpRequest(server.port(), "GET", "/site/index.html", {{"If-Modified-Since", modified}}).status, 304);

    auto head = httpRequest(server.port(), "HEAD", "/site/index.html");
    EXPECT_EQ(head.status, 200);
    EXPECT_TRUE(head.body.empty());
    EXPECT_EQ(head.header("Content-Length"), "14");
    EXPECT_EQ(httpRequest(server.port(), "GET", "/site/missing.html").status, 404);

    for (std::string attempt : {"/site/../secret.txt", "/site/%2e%2e/secret.txt", "/site/..%2fsecret.txt",
                                "/site/%2E%2E%2Fsecret.txt", "/site/sub/../../secret.txt", "/site/..\\secret.txt",
                                "/site/%5c..%5csecret.txt"})
    {
        std::string reply = rawExchange(server.port(), "GET " + attempt + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        EXPECT_EQ(reply.find("TOP-SECRET"), std::string::npos) << attempt;
        EXPECT_TRUE(reply.rfind("HTTP/1.1 400", 0) == 0 || reply.rfind("HTTP/1.1 404", 0) == 0) << attempt << "\n" << reply;
    }
}

TEST(Server, LimitsAnswer431And413And408)
{
    ServerProcess server;
    server.writeConfig(std::string(kCounterOnly) +
                       "http.maxHeaderBytes=4096\nhttp.maxHeaderFields=20\nhttp.maxBodyBytes=1000\nhttp.readTimeout=1\n");
    server.start();

    std::string manyFields = "GET /counter/ HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 30; ++i) manyFields += "X-F" + std::to_string(i) + ": v\r\n";
    EXPECT_EQ(rawExchange(server.port(), manyFields + "\r\n").substr(0, 12), "HTTP/1.1 431");

    std::string bigHeader = "GET /counter/ HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(5000, 'a') + "\r\n\r\n";
    EXPECT_EQ(rawExchange(server.port(), bigHeader).substr(0, 12), "HTTP/1.1 431");

    std::string bigBody = "POST /counter/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n";
    EXPECT_EQ(rawExchange(server.port(), bigBody).substr(0, 12), "HTTP/1.1 413");

    auto started = std::chrono::steady_clock::now();
    std::string stalled = rawExchange(server.port(), "GET /counter/ HTTP/1.1\r\nHost: x\r\nX-Part", std::chrono::seconds(8));
    EXPECT_EQ(stalled.substr(0, 12), "HTTP/1.1 408") << stalled;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(6));

    // The server is still healthy after all of that.
    EXPECT_EQ(httpRequest(server.port(), "GET", "/counter/").status, 200);
}

TEST(Server, RefusesABadConfigurationAtStartNamingFileLineAndKey)
{
    ServerProcess server;
    server.writeConfig(std::string(kCounterOnly) + "http.thread=4\n");
    std::string output;
    int code = server.runToExit({"--config", server.configPath()}, output, std::chrono::seconds(20));
    EXPECT_NE(code, 0);
    EXPECT_NE(output.find(server.configPath() + ":"), std::string::npos) << output;
    EXPECT_NE(output.find("unknown key 'http.thread'"), std::string::npos) << output;

    code = server.runToExit({"--config", server.configPath(), "-Dhttp.thread=", "-Dhttp.threads=many"}, output,
                            std::chrono::seconds(20));
    EXPECT_NE(code, 0);
    EXPECT_NE(output.find("-Dhttp.threads"), std::string::npos) << output;
    EXPECT_NE(output.find("an integer from 1 to 4096"), std::string::npos) << output;
}

TEST(Server, RefusesAContextWhosePluginIsMissing)
{
    ServerProcess server;
    server.writeConfig("contexts=x\ncontext.x.path=/x\ncontext.x.app=nosuchapp\n");
    std::string output;
    int code = server.runToExit({"--config", server.configPath()}, output, std::chrono::seconds(20));
    EXPECT_NE(code, 0);
    EXPECT_NE(output.find("context 'x'"), std::string::npos) << output;
    EXPECT_NE(output.find("nosuchapp"), std::string::npos) << output;
}

TEST(Server, AdminEndpointsNeedTheToken)
{
    ServerProcess server;
    server.writeConfig(kCounterOnly);
    server.start();
    EXPECT_EQ(httpRequest(server.port(), "POST", "/admin/reload").status, 401);
    EXPECT_EQ(reload(server, "wrong").status, 401);
    EXPECT_EQ(httpRequest(server.port(), "GET", "/admin/reload", {{"Authorization", "Bearer " + server.adminToken()}}).status, 405);
    EXPECT_EQ(reload(server, server.adminToken()).status, 200);
}

TEST(Server, ReloadAddsAContextAndChangesTheLogLevelLive)
{
    ServerProcess server;
    server.writeConfig(std::string(kCounterOnly) + "log.level=information\n");
    server.start();
    std::string jar = server.dir() + "/cookies.txt";
    std::string base = "http://127.0.0.1:" + std::to_string(server.port());
    EXPECT_EQ(json(curl({"-c", jar, "-b", jar, base + "/counter/"}))->getValue<int>("count"), 1);
    EXPECT_EQ(httpRequest(server.port(), "GET", "/cart/").status, 404);

    server.writeConfig("log.level=debug\nhttp.threads=7\ncontexts=counter,cart\n"
                       "context.counter.path=/counter\ncontext.counter.app=counter\n"
                       "context.cart.path=/cart\ncontext.cart.app=cart\n");
    auto reply = reload(server, server.adminToken());
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto report = json(reply.body);
    EXPECT_EQ(report->getValue<std::string>("status"), "reloaded");
    EXPECT_NE(reply.body.find("\"log.level\""), std::string::npos) << reply.body;
    EXPECT_NE(reply.body.find("restart required"), std::string::npos) << reply.body;
    auto restart = report->getArray("restartRequired");
    ASSERT_TRUE(restart);
    ASSERT_EQ(restart->size(), 1u) << reply.body;
    EXPECT_EQ(restart->getElement<std::string>(0), "http.threads");
    auto deployed = report->getObject("contexts")->getArray("deployed");
    ASSERT_EQ(deployed->size(), 1u) << reply.body;
    EXPECT_EQ(deployed->getElement<std::string>(0), "cart");
    EXPECT_EQ(report->getObject("contexts")->getArray("kept")->getElement<std::string>(0), "counter");

    // The new context serves, the old one kept its sessions.
    auto cart = httpRequest(server.port(), "GET", "/cart/");
    EXPECT_EQ(cart.status, 200) << cart.body;
    EXPECT_EQ(json(curl({"-c", jar, "-b", jar, base + "/counter/"}))->getValue<int>("count"), 2);

    // Debug lines appear now: the next admin call is logged at debug level (the first one was not).
    EXPECT_EQ(server.output().find("admin request POST /admin/reload"), std::string::npos);
    EXPECT_EQ(reload(server, server.adminToken()).status, 200);
    EXPECT_TRUE(waitUntil([&] { return server.output().find("admin request POST /admin/reload") != std::string::npos; },
                          std::chrono::seconds(5)))
        << server.output();
}

TEST(Server, ReloadOfTheSessionTimeoutOrCookieFlagKeepsTheSessions)
{
    // Both apply to what comes next (new sessions' timeout, cookies sent
    // from now on); the sessions of the embedded store stay.
    ServerProcess server;
    server.writeConfig(std::string(kCounterOnly) + "session.timeout=600\n");
    server.start();
    std::string jar = server.dir() + "/cookies.txt";
    std::string base = "http://127.0.0.1:" + std::to_string(server.port());
    EXPECT_EQ(json(curl({"-c", jar, "-b", jar, base + "/counter/"}))->getValue<int>("count"), 1);

    server.writeConfig(std::string(kCounterOnly) + "session.timeout=900\nsession.cookieSecure=true\n");
    auto reply = reload(server, server.adminToken());
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(json(reply.body)->getObject("contexts")->getArray("redeployed")->getElement<std::string>(0), "counter")
        << reply.body;
    EXPECT_EQ(json(curl({"-c", jar, "-b", jar, base + "/counter/"}))->getValue<int>("count"), 2) << "the same session";

    auto fresh = httpRequest(server.port(), "GET", "/counter/");
    EXPECT_NE(fresh.header("Set-Cookie").find("; Secure"), std::string::npos) << fresh.header("Set-Cookie");
}

TEST(Server, ReloadChangesTheLogPatternLive)
{
    ServerProcess server;
    server.writeConfig(std::string(kCounterOnly) + "log.level=debug\nlog.format=before| %t\n");
    server.start();
    const auto loggedAs = [&](const std::string& prefix) {
        return waitUntil([&] { return server.output().find(prefix + "admin request POST /admin/reload") != std::string::npos; },
                         std::chrono::seconds(5));
    };
    EXPECT_EQ(reload(server, server.adminToken()).status, 200);
    EXPECT_TRUE(loggedAs("before| ")) << server.output();

    server.writeConfig(std::string(kCounterOnly) + "log.level=debug\nlog.format=after| %t\n");
    auto reply = reload(server, server.adminToken());
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_NE(reply.body.find("\"log.format\""), std::string::npos) << reply.body;
    EXPECT_EQ(reload(server, server.adminToken()).status, 200);
    EXPECT_TRUE(loggedAs("after| ")) << server.output();
    EXPECT_EQ(httpRequest(server.port(), "GET", "/counter/").status, 200);
}

TEST(Server, ReloadWithABrokenFileChangesNothing)
{
    ServerProcess server;
    server.writeConfig(kCounterOnly);
    server.start();
    std::string good;
    {
        std::ifstream in(server.configPath());
        std::stringstream s;
        s << in.rdbuf();
        good = s.str();
    }
    std::ofstream(server.configPath()) << good << "http.port=oops\ncontexts=counter,\n";
    auto reply = reload(server, server.adminToken());
    EXPECT_EQ(reply.status, 400);
    auto report = json(reply.body);
    EXPECT_EQ(report->getValue<std::string>("status"), "refused");
    EXPECT_NE(report->getValue<std::string>("error").find(server.configPath()), std::string::npos) << reply.body;
    EXPECT_EQ(httpRequest(server.port(), "GET", "/counter/").status, 200);

    // SIGHUP takes the same path: still refused, still serving.
    server.signal(SIGHUP);
    EXPECT_TRUE(waitUntil([&] { return server.output().find("SIGHUP reload") != std::string::npos; }, std::chrono::seconds(5)));
    EXPECT_EQ(httpRequest(server.port(), "GET", "/counter/").status, 200);
}

TEST(Server, PluginDroppedIntoTheDirectoryIsLoadedByReload)
{
    ServerProcess server;
    server.writeConfig(kCounterOnly);
    server.start();
    fs::copy_file(MT_SLOW_PLUGIN, server.pluginDir() + "/app-slow.so");
    server.writeConfig("contexts=counter,slow\ncontext.counter.path=/counter\ncontext.counter.app=counter\n"
                       "context.slow.path=/slow\ncontext.slow.app=slow\n");
    server.signal(SIGHUP);
    ASSERT_TRUE(waitUntil([&] { return httpRequest(server.port(), "GET", "/slow/?ms=1").status == 200; },
                          std::chrono::seconds(10)))
        << server.output();
    EXPECT_EQ(httpRequest(server.port(), "GET", "/slow/?ms=1").body, "slept 1\n");
    EXPECT_NE(server.output().find("app/slow"), std::string::npos) << server.output();
}

TEST(Server, SigtermLetsARequestInFlightFinish)
{
    ServerProcess server({MT_SLOW_PLUGIN});
    std::future<HttpReply> inFlight;
    ASSERT_TRUE(startWithASlowRequestInFlight(server, inFlight));
    server.signal(SIGTERM);
    auto reply = inFlight.get();
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, "slept 1500\n");
    EXPECT_TRUE(waitUntil([&] { return !server.running(); }, std::chrono::seconds(10)));
    EXPECT_EQ(server.stop(), 0) << server.output();
    EXPECT_NE(server.output().find("stopped cleanly"), std::string::npos) << server.output();
}

TEST(Server, SighupWhileStoppingIsRefusedAndTheStopStaysClean)
{
    ServerProcess server({MT_SLOW_PLUGIN});
    std::future<HttpReply> inFlight;
    ASSERT_TRUE(startWithASlowRequestInFlight(server, inFlight));
    server.signal(SIGTERM);
    // The slow request holds the drain open: a reload now would publish
    // contexts that the stop has already let go of.
    ASSERT_TRUE(waitUntil([&] { return server.output().find("stopping: draining") != std::string::npos; },
                          std::chrono::seconds(5)))
        << server.output();
    server.signal(SIGHUP);
    EXPECT_EQ(inFlight.get().status, 200);
    EXPECT_TRUE(waitUntil([&] { return !server.running(); }, std::chrono::seconds(10)));
    EXPECT_EQ(server.stop(), 0) << server.output();
    EXPECT_NE(server.output().find("SIGHUP reload: {\"changed\":[],\"error\":\"the server is stopping\""), std::string::npos)
        << server.output();
    EXPECT_NE(server.output().find("stopped cleanly"), std::string::npos) << server.output();
}

TEST(Server, AdminListenerOfItsOwnTakesTheAdminEndpointsOffTheHttpPort)
{
    ServerProcess server;
    unsigned short adminPort = freePort();
    server.writeConfig(std::string(kCounterOnly) + "admin.port=" + std::to_string(adminPort) + "\n");
    server.start();
    auto onHttpPort = httpRequest(server.port(), "POST", "/admin/reload", {{"Authorization", "Bearer " + server.adminToken()}});
    EXPECT_EQ(onHttpPort.status, 404);
    auto onAdminPort = httpRequest(adminPort, "POST", "/admin/reload", {{"Authorization", "Bearer " + server.adminToken()}});
    EXPECT_EQ(onAdminPort.status, 200) << onAdminPort.body;
    EXPECT_EQ(httpRequest(adminPort, "GET", "/counter/").status, 404);
    EXPECT_EQ(httpRequest(adminPort, "POST", "/admin/reload").status, 401);

    // Jolokia's exec and write are admin operations: with the token, on the
    // admin port only; reads stay public on both.
    const std::string exec =
        R"({"type":"exec","mbean":"Catalina:type=Manager,context=/counter,host=localhost","operation":"expireSession","arguments":["none.it1"]})";
    const std::map<std::string, std::string> withToken{{"Authorization", "Bearer " + server.adminToken()},
                                                       {"Content-Type", "application/json"}};
    auto execOnHttpPort = httpRequest(server.port(), "POST", "/jolokia/", withToken, exec);
    EXPECT_NE(execOnHttpPort.body.find("\"status\":403"), std::string::npos) << execOnHttpPort.body;
    auto execOnAdminPort = httpRequest(adminPort, "POST", "/jolokia/", withToken, exec);
    EXPECT_NE(execOnAdminPort.body.find("\"status\":200"), std::string::npos) << execOnAdminPort.body;
    auto read = httpRequest(server.port(), "POST", "/jolokia/", {{"Content-Type", "application/json"}},
                            R"({"type":"read","mbean":"Catalina:type=Manager,context=/counter,host=localhost","attribute":"activeSessions"})");
    EXPECT_NE(read.body.find("\"status\":200"), std::string::npos) << read.body;
}

// What top -H, ps -L, perf and gdb show: each thread says which part of the
// server it belongs to, as Tomcat's "http-nio-8080-exec-1" does.
TEST(Server, EveryThreadIsNamedAfterWhatItDoes)
{
    ServerProcess server;
    unsigned short adminPort = freePort();
    server.writeConfig(std::string(kCounterOnly) + "http.threads=3\nadmin.port=" + std::to_string(adminPort) + "\n");
    server.start();
    ASSERT_EQ(httpRequest(server.port(), "GET", "/counter/").status, 200); // the access log's thread starts with its first line
    const std::vector<std::string> expected{"access-log", "admin-accept", "admin-poll", "admin-w0", "admin-w1",
                                            "app-log", "http-accept", "http-poll", "http-w0", "http-w1", "http-w2",
                                            "session-sweep", "sighup-reload"};
    std::vector<std::string> names, named;
    auto allNamed = [&] {
        names = server.threadNames();
        named.clear();
        std::copy_if(names.begin(), names.end(), std::back_inserter(named),
                     [](const std::string& name) { return name != "microtomcat"; });
        return named == expected && static_cast<int>(names.size() - named.size()) == kThreadsNamedAfterTheExecutable;
    };
    EXPECT_TRUE(waitUntil(allNamed, std::chrono::seconds(5)))
        << "threads: " << std::accumulate(names.begin(), names.end(), std::string(),
                                          [](std::string all, const std::string& n) { return all + n + " "; });
}
