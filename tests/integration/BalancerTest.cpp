// The balancer role with real processes: the launcher's cluster (3 app nodes
// and the lb node), requests through the lb node. Polls with deadlines; the
// LocalCluster destructor stops every process.
#include "LocalCluster.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/TemporaryFile.h>

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

namespace fs = std::filesystem;
using namespace mt::test;
using namespace std::chrono_literals;

namespace {

/// A kept-alive client of the balancer; reconnects after a failure (as browsers do).
class Client
{
public:
    explicit Client(unsigned short port) : _session("127.0.0.1", port) { _session.setTimeout(Poco::Timespan(10, 0)); }

    /// Status and body; status 0 on a network error.
    std::pair<int, std::string> call(const std::string& method, const std::string& target, const std::string& cookie = "",
                                     std::string* setCookie = nullptr, const std::string& body = "")
    {
        try
        {
            Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
            if (!cookie.empty()) request.set("Cookie", cookie);
            if (method == "POST") request.setContentLength(static_cast<std::streamsize>(body.size()));
            _session.sendRequest(request) << body;
            Poco::Net::HTTPResponse response;
            std::istream& in = _session.receiveResponse(response);
            std::string text;
            Poco::StreamCopier::copyToString(in, text);
            if (setCookie && response.has("Set-Cookie")) *setCookie = response.get("Set-Cookie");
            return {response.getStatus(), text};
        }
        catch (const Poco::Exception& e)
        {
            _session.reset();
            return {0, e.displayText()};
        }
    }

private:
    Poco::Net::HTTPClientSession _session;
};

/// The "node" field of the counter app's JSON answer.
std::string nodeOf(const std::string& body)
{
    auto json = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
    return json->getValue<std::string>("node");
}

/// A plugin directory with every built plugin and the test's postlog app, and the -D options that mount it.
struct PostLogSetup
{
    std::string dir = Poco::TemporaryFile::tempName() + "-mt-balancer";
    std::vector<std::string> defines;

    explicit PostLogSetup(std::vector<std::string> extra = {})
    {
        fs::create_directories(dir + "/plugins");
        fs::create_directories(dir + "/posts");
        for (const auto& entry : fs::directory_iterator(MT_PLUGIN_DIR))
            if (entry.path().extension() == ".so")
                fs::copy_file(entry.path(), dir + "/plugins/" + entry.path().filename().string());
        fs::copy_file(MT_POSTLOG_PLUGIN, dir + "/plugins/app-postlog.so");
        defines = {"-Dplugin.dir=" + dir + "/plugins", "-Dcontexts=counter,cart,posts", "-Dcontext.counter.path=/counter",
                   "-Dcontext.counter.app=counter", "-Dcontext.cart.path=/cart", "-Dcontext.cart.app=cart",
                   "-Dcontext.posts.path=/posts", "-Dcontext.posts.app=postlog",
                   "-Dcontext.posts.app.log=" + dir + "/posts"};
        defines.insert(defines.end(), extra.begin(), extra.end());
    }
    ~PostLogSetup()
    {
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    }
    /// Every POST id executed, over all nodes, with how many times.
    std::map<std::string, int> executedPosts() const
    {
        std::map<std::string, int> ids;
        for (const auto& entry : fs::directory_iterator(dir + "/posts"))
        {
            std::ifstream in(entry.path());
            for (std::string line; std::getline(in, line);) ++ids[line];
        }
        return ids;
    }
};

Poco::JSON::Object::Ptr balancerNode(unsigned short lbPort, const std::string& name)
{
    try
    {
        auto reply = httpRequest(lbPort, "GET", "/cluster/balancer");
        auto json = Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>();
        auto nodes = json->getArray("nodes");
        for (std::size_t i = 0; i < nodes->size(); ++i)
            if (nodes->getObject(static_cast<unsigned>(i))->getValue<std::string>("name") == name)
                return nodes->getObject(static_cast<unsigned>(i));
    }
    catch (const Poco::Exception&)
    {
    }
    return nullptr;
}

} // namespace

TEST(Balancer, RoundRobinSpreadsEvenlyAndOwnEndpointsStayLocal)
{
    PostLogSetup setup;
    LocalCluster cluster(3, setup.defines);
    unsigned short lb = cluster.httpPort("lb");
    EXPECT_EQ(httpRequest(lb, "GET", "/ping").body, "pong\n");
    EXPECT_EQ(httpRequest(lb, "GET", "/cluster/balancer").status, 200);

    Client client(lb);
    std::map<std::string, int> hits;
    for (int i = 0; i < 3000; ++i)
    {
        auto [status, body] = client.call("GET", "/posts/");
        ASSERT_EQ(status, 200) << body;
        ++hits[body.substr(0, body.size() - 1)];
    }
    ASSERT_EQ(hits.size(), 3u);
    for (const auto& [node, count] : hits) EXPECT_NEAR(count, 1000, 50) << node;

    auto stats = balancerNode(lb, "node1");
    ASSERT_TRUE(stats);
    EXPECT_GE(stats->getValue<int>("total"), 950);
    EXPECT_EQ(stats->getValue<int>("errors"), 0);
}

TEST(Balancer, SessionsStickToTheirNode)
{
    PostLogSetup setup;
    LocalCluster cluster(3, setup.defines);
    Client client(cluster.httpPort("lb"));
    std::map<std::string, int> perNode;
    for (int s = 0; s < 100; ++s)
    {
        std::string setCookie;
        auto [status, body] = client.call("GET", "/counter/", "", &setCookie);
        ASSERT_EQ(status, 200) << body;
        std::string node = nodeOf(body);
        ++perNode[node];
        std::string cookie = setCookie.substr(0, setCookie.find(';'));
        ASSERT_NE(cookie.find("." + node), std::string::npos) << cookie;
        for (int i = 1; i < 50; ++i)
        {
            auto [st, b] = client.call("GET", "/counter/", cookie);
            ASSERT_EQ(st, 200) << b;
            ASSERT_EQ(nodeOf(b), node) << "session " << cookie << " moved at request " << i;
        }
    }
    EXPECT_EQ(perNode.size(), 3u); // new sessions are spread
}

TEST(Balancer, KillNineUnderLoadLosesNoIdempotentRequestAndRunsNoPostTwice)
{
    PostLogSetup setup({"-Dbalancer.slowStart=4000"});
    LocalCluster cluster(3, setup.defines);
    unsigned short lb = cluster.httpPort("lb");

    const int clients = 6, perClient = 600;
    std::atomic<int> done{0}, getErrors{0}, postErrors{0}, posts{0};
    std::vector<std::string> errorSamples(clients);
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c)
        threads.emplace_back([&, c] {
            Client client(lb);
            for (int i = 0; i < perClient; ++i)
            {
                bool post = i % 5 == 4;
                auto [status, body] = post ? client.call("POST", "/posts/?id=c" + std::to_string(c) + "-" + std::to_string(i), "", nullptr, "x")
                                           : client.call("GET", "/posts/");
                if (post) ++posts;
                if (status != 200)
                {
                    ++(post ? postErrors : getErrors);
                    if (!post) errorSamples[c] = std::to_string(status) + " " + body;
                }
                ++done;
            }
        });
    ASSERT_TRUE(waitUntil([&] { return done.load() >= clients * perClient / 4; }, 30s));
    cluster.kill("node2", SIGKILL);
    for (auto& t : threads) t.join();

    EXPECT_EQ(getErrors.load(), 0) << errorSamples[0] << errorSamples[1] << errorSamples[2];
    auto executed = setup.executedPosts();
    for (const auto& [id, count] : executed) EXPECT_EQ(count, 1) << "POST " << id << " executed " << count << " times";
    // Every POST that got a 200 was executed (once), and nothing was executed that was not sent.
    EXPECT_GE(static_cast<int>(executed.size()), posts.load() - postErrors.load());
    EXPECT_LE(static_cast<int>(executed.size()), posts.load());

    // Restarted, it gets traffic again, ramped (balancer.slowStart=4000).
    std::string output;
    ASSERT_EQ(cluster.launcher({"start", "node2"}, output), 0) << output;
    ASSERT_TRUE(waitUntil([&] {
        auto n = balancerNode(lb, "node2");
        return n && n->getValue<bool>("selectable");
    }, 20s)) << cluster.log("lb");
    int weight = balancerNode(lb, "node2")->getValue<int>("weight");
    EXPECT_LT(weight, 100) << "a node that comes back starts below its full weight";
    Client client(lb);
    std::map<std::string, int> early;
    for (int i = 0; i < 300; ++i) ++early[client.call("GET", "/posts/").second];
    EXPECT_GT(early["node2\n"], 0);
    EXPECT_LT(early["node2\n"], 70) << "node2 got " << early["node2\n"] << " of 300 while ramping";
    ASSERT_TRUE(waitUntil([&] { return balancerNode(lb, "node2")->getValue<int>("weight") == 100; }, 10s));
    std::map<std::string, int> later;
    for (int i = 0; i < 300; ++i) ++later[client.call("GET", "/posts/").second];
    EXPECT_NEAR(later["node2\n"], 100, 15);
}

TEST(Balancer, AnUploadTheNodeAnswersWithoutReadingIsRelayedNotA502)
{
    // The counter app answers a POST without reading its body. Up to 2 MB the
    // node reads and drops the rest; past that it answers and closes (a
    // server that does not linger breaks the balancer's send: the answer is
    // there all the same, and it is what the client must get, with no
    // failure counted against the node). The balancer then answers and
    // closes too, with the client still sending: its lingering close keeps
    // that answer from being lost to a reset (curl's error 55).
    // curl, as browsers do, reads an answer that comes while it still sends.
    LocalCluster cluster(2);
    const std::string url = "http://127.0.0.1:" + std::to_string(cluster.httpPort("lb")) + "/counter/";
    for (std::size_t size : {std::size_t(1) << 20, std::size_t(3) << 20})
    {
        const std::string file = cluster.dir() + "/upload-" + std::to_string(size);
        std::ofstream(file, std::ios::binary) << std::string(size, 'u');
        for (int i = 0; i < 4; ++i)
        {
            std::string status;
            ASSERT_EQ(runCommand("/usr/bin/curl", {"-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}",
                                                   "-H", "Content-Type: application/octet-stream", "--data-binary",
                                                   "@" + file, url},
                                 status),
                      0)
                << status;
            EXPECT_EQ(status, "200") << size << " bytes, #" << i;
        }
    }
    for (const char* node : {"node1", "node2"})
    {
        auto stats = balancerNode(cluster.httpPort("lb"), node);
        ASSERT_TRUE(stats) << node;
        EXPECT_EQ(stats->getValue<int>("errors"), 0) << node;
        EXPECT_EQ(stats->getValue<int>("ejections"), 0) << node;
    }
}

TEST(Balancer, ItsHealthIsDownWhileNoAppNodeCanBeChosen)
{
    // An outer load balancer or an orchestrator probes /health: a balancer
    // that can only answer 503 must say so, as a dead one would.
    LocalCluster cluster(1);
    unsigned short lb = cluster.httpPort("lb");
    auto balancerOf = [&](const HttpReply& health) {
        return Poco::JSON::Parser().parse(health.body).extract<Poco::JSON::Object::Ptr>()->getObject("components")->getObject(
            "balancer");
    };
    ASSERT_TRUE(waitUntil([&] { return httpRequest(lb, "GET", "/health").status == 200; }, std::chrono::seconds(10)));
    EXPECT_EQ(balancerOf(httpRequest(lb, "GET", "/health"))->getObject("details")->getValue<int>("selectableNodes"), 1);

    cluster.kill("node1", SIGKILL);
    ASSERT_TRUE(waitUntil([&] { return httpRequest(lb, "GET", "/health").status == 503; }, std::chrono::seconds(10)));
    auto down = balancerOf(httpRequest(lb, "GET", "/health"));
    EXPECT_EQ(down->getValue<std::string>("status"), "DOWN");
    EXPECT_EQ(down->getObject("details")->getValue<int>("selectableNodes"), 0);
    EXPECT_EQ(httpRequest(lb, "GET", "/ping").status, 200) << "alive, only not useful";
}

TEST(Balancer, TheHeaderLimitsAClientMeetsAreTheConfiguredOnes)
{
    // The balancer adds three X-Forwarded-* fields; the app nodes behind it
    // leave room for them, so a request at the limit passes and one over it
    // is refused by the balancer itself.
    LocalCluster cluster(1);
    unsigned short lb = cluster.httpPort("lb");
    auto withFields = [](int fields, std::size_t pad) {
        std::string head = "GET /counter/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
        for (int i = 2; i < fields; ++i) head += "X-F" + std::to_string(i) + ": v\r\n";
        if (pad) head += "X-Pad: " + std::string(pad, 'p') + "\r\n";
        return head + "\r\n";
    };
    EXPECT_EQ(rawExchange(lb, withFields(100, 0)).substr(0, 12), "HTTP/1.1 200") << "100 fields: the limit";
    EXPECT_EQ(rawExchange(lb, withFields(101, 0)).substr(0, 12), "HTTP/1.1 431");
    const std::string base = withFields(99, 0);
    const std::string atBytes = withFields(99, 16384 - base.size() - 9); // "X-Pad: " and its CRLF
    ASSERT_LE(atBytes.size() - 2, 16384u);
    EXPECT_EQ(rawExchange(lb, atBytes).substr(0, 12), "HTTP/1.1 200") << "16 KB of head: the limit";
    // An empty Host is replaced, not joined by a second one the node would refuse.
    EXPECT_EQ(rawExchange(lb, "GET /counter/ HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n").substr(0, 12), "HTTP/1.1 200");
    EXPECT_EQ(rawExchange(lb, "GET /counter/ HTTP/1.0\r\n\r\n").substr(0, 12), "HTTP/1.1 200");
}

TEST(Balancer, ANodeAnswering503IsRetriedOnAnotherBeforeTheClientSeesIt)
{
    // node2's session store is away (a Redis port nothing listens on), so it
    // answers 503 with a Retry-After. Through the balancer a GET must be
    // tried again on node1, which can serve it: the client never sees the 503.
    LocalCluster cluster(2);
    unsigned short lb = cluster.httpPort("lb");
    unsigned short deadPort = 0;
    {
        Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
        deadPort = probe.address().port();
    }
    std::ofstream(cluster.dir() + "/node2/server.properties", std::ios::app)
        << "session.store=redis\nstore.redis.port=" << deadPort << "\n";
    auto reloaded = cluster.reload("node2");
    ASSERT_EQ(reloaded.status, 200) << reloaded.body;
    auto direct = httpRequest(cluster.httpPort("node2"), "GET", "/counter/");
    ASSERT_EQ(direct.status, 503) << direct.body;
    ASSERT_FALSE(direct.header("Retry-After").empty());

    Client client(lb);
    for (int i = 0; i < 20; ++i)
    {
        auto [status, body] = client.call("GET", "/counter/");
        ASSERT_EQ(status, 200) << "request " << i << ": " << body;
        EXPECT_EQ(nodeOf(body), "node1");
    }
    auto stats = balancerNode(lb, "node2");
    ASSERT_TRUE(stats);
    EXPECT_GE(stats->getValue<int>("retries"), 1) << "node2 was never tried";
}

TEST(Balancer, AClientThatLeavesMidUploadGivesBackItsPlaceOnTheNode)
{
    // While the balancer streams a client's body to a node, the request is
    // active there (the node's gauge, and the count least-connections goes
    // by). A client that leaves mid-body is the client's failure: the count
    // comes back down, and nothing counts against the node.
    LocalCluster cluster(1);
    unsigned short lb = cluster.httpPort("lb");
    auto active = [&] {
        auto node = balancerNode(lb, "node1");
        return node ? node->getValue<int>("active") : -1;
    };
    {
        Poco::Net::StreamSocket client(Poco::Net::SocketAddress("127.0.0.1", lb));
        const std::string start = "POST /counter/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                                  "Content-Length: 1000000\r\n\r\n" + std::string(1000, 'u');
        ASSERT_EQ(client.sendBytes(start.data(), static_cast<int>(start.size())), static_cast<int>(start.size()));
        ASSERT_TRUE(waitUntil([&] { return active() == 1; }, 10s)) << "the upload never reached node1";
    } // the client goes, 999,000 bytes short
    EXPECT_TRUE(waitUntil([&] { return active() == 0; }, 10s)) << "still active: " << active();
    auto stats = balancerNode(lb, "node1");
    ASSERT_TRUE(stats);
    EXPECT_EQ(stats->getValue<int>("errors"), 0);
    EXPECT_EQ(stats->getValue<int>("ejections"), 0);
}

TEST(Balancer, ANodeThatDiesMidAnswerCountsAgainstItAndItsClientSeesTheCut)
{
    // Once a node's answer has begun, the balancer cannot try elsewhere: the
    // client learns of the failure from the connection closing, with no last
    // chunk. The failure is still the node's, for its statistics and the
    // outlier detection.
    PostLogSetup setup;
    LocalCluster cluster(1, setup.defines);
    unsigned short lb = cluster.httpPort("lb");
    Poco::Net::StreamSocket client(Poco::Net::SocketAddress("127.0.0.1", lb));
    client.setReceiveTimeout(Poco::Timespan(10, 0));
    const std::string request = "GET /posts/?stall=1 HTTP/1.1\r\nHost: x\r\n\r\n";
    client.sendBytes(request.data(), static_cast<int>(request.size()));
    std::string received;
    char buffer[4096];
    while (received.find("partial from node1") == std::string::npos)
    {
        const int n = client.receiveBytes(buffer, sizeof buffer);
        ASSERT_GT(n, 0) << "the half answer never came: " << received;
        received.append(buffer, static_cast<std::size_t>(n));
    }
    cluster.kill("node1", SIGKILL);
    for (int n; (n = client.receiveBytes(buffer, sizeof buffer)) > 0;) received.append(buffer, static_cast<std::size_t>(n));
    EXPECT_EQ(received.rfind("HTTP/1.1 200", 0), 0u) << received;
    EXPECT_EQ(received.find("\r\n0\r\n\r\n"), std::string::npos) << "no last chunk: " << received;
    EXPECT_TRUE(waitUntil([&] {
        auto node = balancerNode(lb, "node1");
        return node && node->getValue<int>("errors") == 1;
    }, 10s)) << "the node's failure was not counted";
}
