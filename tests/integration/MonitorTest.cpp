// Monitoring with real processes (3 app nodes + the balancer from the
// launcher): /cluster/status in JSON and XML before and after a node dies,
// /metrics through promtool, the /cluster/events SSE stream across a kill and
// a restart, and the /status page in headless Chromium.
#include "LocalCluster.h"
#include "MonitorSseClient.h"

#include <gtest/gtest.h>

#include <Poco/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/DOM/NodeList.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/TemporaryFile.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

using namespace mt::test;
using namespace std::chrono_literals;

namespace {

constexpr auto kDetection = 8s; // DOWN after 1 s of silence; generous for a loaded 2-core CI machine

Poco::JSON::Object::Ptr getJson(unsigned short port, const std::string& target)
{
    auto reply = httpRequest(port, "GET", target);
    if (reply.status != 200) throw std::runtime_error(target + ": HTTP " + std::to_string(reply.status) + " " + reply.body);
    return Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>();
}

Poco::JSON::Object::Ptr nodeIn(const Poco::JSON::Object::Ptr& status, const std::string& name)
{
    auto nodes = status->getArray("nodes");
    for (std::size_t i = 0; i < nodes->size(); ++i)
        if (nodes->getObject(i)->getValue<std::string>("name") == name) return nodes->getObject(i);
    return nullptr;
}

/// The documented schema of GET /cluster/status; `expected` maps node -> status.
void checkStatusJson(const Poco::JSON::Object::Ptr& json, const std::string& self,
                     const std::map<std::string, std::string>& expected)
{
    for (const char* key : {"schema", "generatedAt", "self", "cluster", "nodes", "sessions", "balancer", "consistency", "events"})
        EXPECT_TRUE(json->has(key)) << "missing " << key;
    EXPECT_EQ(json->getValue<int>("schema"), 1);
    EXPECT_EQ(json->getValue<std::string>("self"), self);
    auto nodes = json->getArray("nodes");
    ASSERT_TRUE(nodes);
    EXPECT_EQ(nodes->size(), expected.size());
    for (const auto& [name, status] : expected)
    {
        auto node = nodeIn(json, name);
        ASSERT_TRUE(node) << name;
        for (const char* key : {"name", "status", "roles", "address", "clusterPort", "incarnation", "lastHeartbeat",
                                "lastHeartbeatAgoMs", "self", "freshness"})
            EXPECT_TRUE(node->has(key)) << name << " lacks " << key;
        EXPECT_EQ(node->getValue<std::string>("status"), status) << name;
        EXPECT_TRUE(node->getArray("roles") && node->getArray("roles")->size() >= 1) << name;
        EXPECT_NE(node->getValue<std::string>("address").find("127.0.0.1:"), std::string::npos) << name;
        EXPECT_GE(node->getValue<std::int64_t>("incarnation"), 1) << name;
        const bool isSelf = name == self;
        EXPECT_EQ(node->getValue<bool>("self"), isSelf);
        if (isSelf)
        {
            EXPECT_EQ(node->getValue<std::string>("freshness"), "live");
            EXPECT_EQ(node->getValue<std::int64_t>("lastHeartbeatAgoMs"), 0) << "a node hears itself now";
            auto local = node->getObject("local");
            ASSERT_TRUE(local) << "the local node's figures";
            EXPECT_GT(local->getValue<double>("uptimeSeconds"), 0);
            EXPECT_GE(local->getValue<double>("cpuSeconds"), 0);
            EXPECT_GE(local->getValue<double>("cpuPercent"), 0);
            EXPECT_GT(local->getValue<std::int64_t>("residentMemoryBytes"), 1 << 20);
            EXPECT_GE(local->getValue<std::int64_t>("openConnections"), 1); // this request's
            EXPECT_GE(local->getValue<std::int64_t>("requests"), 1);
            EXPECT_GE(local->getValue<std::int64_t>("errors"), 0);
        }
        else
        {
            // Peers' own figures come from a background fetch: fresh, stale or not there yet.
            const auto freshness = node->getValue<std::string>("freshness");
            EXPECT_TRUE(freshness == "fresh" || freshness == "stale" || freshness == "unknown") << freshness;
            EXPECT_EQ(node->has("local"), freshness != "unknown") << name;
            if (node->has("local"))
            {
                EXPECT_GE(node->getValue<std::int64_t>("figuresAgeMs"), 0) << name;
            }
            EXPECT_GE(node->getValue<std::int64_t>("lastHeartbeatAgoMs"), 0) << name;
        }
    }
    auto consistency = json->getObject("consistency");
    ASSERT_TRUE(consistency);
    EXPECT_TRUE(consistency->has("level"));
    EXPECT_TRUE(consistency->getArray("replication"));
    auto events = json->getObject("events");
    ASSERT_TRUE(events);
    EXPECT_GE(events->getValue<std::int64_t>("latest"), 1);
    ASSERT_TRUE(events->getArray("items"));
    EXPECT_GE(events->getArray("items")->size(), 1u);
    EXPECT_LE(events->getArray("items")->size(), 20u);
}

void checkSessions(const Poco::JSON::Object::Ptr& json)
{
    auto sessions = json->getArray("sessions");
    ASSERT_TRUE(sessions);
    std::set<std::string> contexts;
    for (std::size_t i = 0; i < sessions->size(); ++i)
    {
        auto s = sessions->getObject(i);
        contexts.insert(s->getValue<std::string>("path"));
        for (const char* key : {"context", "store", "active", "created", "expired", "createRatePerMinute", "expireRatePerMinute"})
            EXPECT_TRUE(s->has(key)) << "session entry lacks " << key;
    }
    EXPECT_EQ(contexts, (std::set<std::string>{"/counter", "/cart"}));
}

Poco::AutoPtr<Poco::XML::Document> getXml(unsigned short port, const std::string& target,
                                          const std::map<std::string, std::string>& headers)
{
    auto reply = httpRequest(port, "GET", target, headers);
    if (reply.status != 200) throw std::runtime_error(target + ": HTTP " + std::to_string(reply.status));
    if (reply.header("content-type").find("application/xml") != 0)
        throw std::runtime_error("content type " + reply.header("content-type"));
    Poco::XML::DOMParser parser;
    return parser.parseString(reply.body);
}

std::map<std::string, std::string> xmlNodeStatuses(Poco::XML::Document& doc)
{
    std::map<std::string, std::string> out;
    auto* root = doc.documentElement();
    if (root->nodeName() != "clusterStatus") throw std::runtime_error("root " + root->nodeName());
    auto* nodes = root->getChildElement("nodes");
    if (!nodes) throw std::runtime_error("no <nodes>");
    Poco::AutoPtr<Poco::XML::NodeList> list = nodes->getElementsByTagName("node");
    for (unsigned long i = 0; i < list->length(); ++i)
    {
        auto* node = static_cast<Poco::XML::Element*>(list->item(i));
        for (const char* child : {"name", "status", "roles", "address", "incarnation", "lastHeartbeat", "freshness"})
            if (!node->getChildElement(child)) throw std::runtime_error(std::string("<node> lacks <") + child + ">");
        out[node->getChildElement("name")->innerText()] = node->getChildElement("status")->innerText();
    }
    for (const char* child : {"sessions", "consistency", "events", "balancer", "self"})
        if (!root->getChildElement(child)) throw std::runtime_error(std::string("no <") + child + ">");
    return out;
}

void traffic(LocalCluster& cluster, int requests)
{
    for (int i = 0; i < requests; ++i) httpRequest(cluster.httpPort("lb"), "GET", i % 2 ? "/counter/" : "/cart/");
}

std::string toolPath(const std::string& name)
{
    for (const char* dir : {"/usr/bin/", "/usr/local/bin/", "/bin/"})
        if (std::filesystem::exists(std::string(dir) + name)) return std::string(dir) + name;
    return "";
}

/// promtool's verdict on a scrape: "" if it passes (exit 0, no lint problems).
std::string promtoolProblems(const std::string& promtool, const std::string& text)
{
    std::string file = Poco::TemporaryFile::tempName() + ".prom";
    std::ofstream(file) << text;
    std::string output;
    int code = runCommand("/bin/sh", {"-c", promtool + " check metrics < " + file}, output);
    std::filesystem::remove(file);
    return code == 0 && output.find_first_not_of(" \n") == std::string::npos ? "" : "exit " + std::to_string(code) + ": " + output;
}

const std::map<std::string, std::string> kAllUp{{"lb", "UP"}, {"node1", "UP"}, {"node2", "UP"}, {"node3", "UP"}};

} // namespace

TEST(Monitor, StatusJsonAndXmlBeforeAndAfterANodeDies)
{
    LocalCluster cluster(3);
    traffic(cluster, 30);
    auto node1 = cluster.httpPort("node1");

    auto json = getJson(node1, "/cluster/status");
    checkStatusJson(json, "node1", kAllUp);
    checkSessions(json);
    EXPECT_TRUE(json->get("balancer").isEmpty()) << "node1 is no balancer";

    // Asking for the status starts the background fetch of the peers' own figures.
    ASSERT_TRUE(waitUntil(
        [&] {
            auto status = getJson(node1, "/cluster/status");
            for (const char* peer : {"lb", "node2", "node3"})
                if (nodeIn(status, peer)->getValue<std::string>("freshness") != "fresh") return false;
            return true;
        },
        6s, 200ms));
    json = getJson(node1, "/cluster/status");
    auto node3Figures = nodeIn(json, "node3")->getObject("local");
    ASSERT_TRUE(node3Figures);
    EXPECT_GT(node3Figures->getValue<std::int64_t>("residentMemoryBytes"), 1 << 20);
    EXPECT_GT(node3Figures->getValue<double>("uptimeSeconds"), 0);
    EXPECT_LT(nodeIn(json, "node3")->getValue<std::int64_t>("figuresAgeMs"), 5000);

    auto lb = getJson(cluster.httpPort("lb"), "/cluster/status");
    checkStatusJson(lb, "lb", kAllUp);
    auto balancer = lb->getObject("balancer");
    ASSERT_TRUE(balancer) << "the balancer node shows its per-node figures";
    ASSERT_EQ(balancer->getArray("nodes")->size(), 3u);
    long long total = 0;
    for (std::size_t i = 0; i < 3; ++i) total += balancer->getArray("nodes")->getObject(i)->getValue<long long>("total");
    EXPECT_GE(total, 30);

    auto viaAccept = getXml(node1, "/cluster/status", {{"Accept", "application/xml"}});
    EXPECT_EQ(xmlNodeStatuses(*viaAccept), kAllUp);
    auto viaFormat = getXml(node1, "/cluster/status?format=xml", {});
    EXPECT_EQ(xmlNodeStatuses(*viaFormat), kAllUp);
    auto* sessions = viaFormat->documentElement()->getChildElement("sessions");
    Poco::AutoPtr<Poco::XML::NodeList> sessionList = sessions->getElementsByTagName("session");
    EXPECT_EQ(sessionList->length(), 2u);

    EXPECT_EQ(httpRequest(node1, "POST", "/cluster/status", {}, "x").status, 405);

    cluster.kill("node2", SIGKILL);
    ASSERT_TRUE(waitUntil([&] { return cluster.statusSeenBy("node1", "node2") == "DOWN"; }, kDetection));
    auto after = std::map<std::string, std::string>(kAllUp);
    after["node2"] = "DOWN";
    json = getJson(node1, "/cluster/status");
    checkStatusJson(json, "node1", after);
    EXPECT_GE(nodeIn(json, "node2")->getValue<std::int64_t>("lastHeartbeatAgoMs"), 900);
    EXPECT_TRUE(waitUntil([&] { return nodeIn(getJson(node1, "/cluster/status"), "node2")->getValue<std::string>("freshness") == "stale"; },
                          8s, 200ms))
        << "a dead node's last figures are kept, marked stale";
    bool sawDown = false;
    auto items = json->getObject("events")->getArray("items");
    for (std::size_t i = 0; i < items->size(); ++i)
        sawDown |= items->getObject(i)->getValue<std::string>("node") == "node2" &&
                   items->getObject(i)->getValue<std::string>("to") == "DOWN";
    EXPECT_TRUE(sawDown) << "the latest events include node2 going DOWN";
    EXPECT_EQ(xmlNodeStatuses(*getXml(node1, "/cluster/status?format=xml", {})), after);
    EXPECT_TRUE(waitUntil([&] { return cluster.statusSeenBy("lb", "node2") == "DOWN"; }, kDetection));
    EXPECT_EQ(xmlNodeStatuses(*getXml(cluster.httpPort("lb"), "/cluster/status", {{"Accept", "application/xml"}})), after);
}

TEST(Monitor, MetricsPassPromtoolOnAppAndBalancerNodes)
{
    std::string promtool = toolPath("promtool");
    if (promtool.empty())
        GTEST_SKIP() << "promtool not found: install Debian's 'prometheus' package (bash scripts/install-deps.sh does)";
    LocalCluster cluster(3);
    traffic(cluster, 20);
    for (const std::string node : {"node1", "lb"})
    {
        auto reply = httpRequest(cluster.httpPort(node), "GET", "/metrics");
        ASSERT_EQ(reply.status, 200);
        EXPECT_EQ(reply.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
        EXPECT_EQ(promtoolProblems(promtool, reply.body), "") << node << ":\n" << reply.body;
        for (const char* name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ", "mt_http_requests_total ",
                                 "mt_http_request_duration_seconds_bucket{le=\"+Inf\"} ", "mt_http_request_duration_seconds_sum ",
                                 "mt_cluster_node_up{node=\"node2\"} 1", "mt_cluster_events_total "})
            EXPECT_NE(reply.body.find(name), std::string::npos) << node << " lacks " << name;
        if (node == "node1") // the balancer mounts no contexts
        {
            for (const char* name : {"mt_sessions_active{context=\"counter\"} ", "mt_sessions_created_total{context=\"cart\"} "})
                EXPECT_NE(reply.body.find(name), std::string::npos) << name;
        }
        if (node == "lb")
        {
            for (const char* name : {"mt_balancer_upstream_requests_total{node=\"node1\"} ",
                                     "mt_balancer_upstream_duration_seconds_bucket{node=\"node3\",le=\"+Inf\"} "})
                EXPECT_NE(reply.body.find(name), std::string::npos) << name;
        }
    }
    cluster.kill("node2", SIGKILL);
    ASSERT_TRUE(waitUntil([&] { return cluster.statusSeenBy("lb", "node2") == "DOWN"; }, kDetection));
    auto reply = httpRequest(cluster.httpPort("lb"), "GET", "/metrics");
    EXPECT_NE(reply.body.find("mt_cluster_node_up{node=\"node2\"} 0"), std::string::npos);
    EXPECT_NE(reply.body.find("mt_cluster_node_status{node=\"node2\",status=\"DOWN\"} 1"), std::string::npos);
    EXPECT_EQ(promtoolProblems(promtool, reply.body), "") << reply.body;
}

TEST(Monitor, EventStreamSeesDownThenUpOnceEachAndResumesWithLastEventId)
{
    // Keep-alive every second: a server notices a client that left only when a write fails.
    LocalCluster cluster(3, {"-Dmonitor.maxEventStreams=2", "-Dmonitor.eventStreamKeepAlive=1"});
    auto node1 = cluster.httpPort("node1");
    auto start = getJson(node1, "/cluster/events?since=0")->getValue<std::uint64_t>("latest");

    MonitorSseClient follower(node1, "/cluster/events?since=" + std::to_string(start));
    ASSERT_EQ(follower.status(), 200);
    EXPECT_EQ(follower.contentType().find("text/event-stream"), 0u);

    cluster.kill("node2", SIGKILL);
    ASSERT_TRUE(waitUntil([&] { return cluster.statusSeenBy("node1", "node2") == "DOWN"; }, kDetection));
    std::string output;
    ASSERT_EQ(cluster.launcher({"start", "node2"}, output), 0) << output;
    ASSERT_TRUE(waitUntil([&] { return cluster.statusSeenBy("node1", "node2") == "UP"; }, kDetection));

    auto logNow = getJson(node1, "/cluster/events?since=" + std::to_string(start));
    const auto latest = logNow->getValue<std::uint64_t>("latest");
    ASSERT_TRUE(follower.waitFor([&](const std::vector<SseMessage>& m) { return !m.empty() && m.back().id == std::to_string(latest); },
                                 5s));
    std::this_thread::sleep_for(500ms); // anything duplicated would show up now
    auto seen = follower.messages();

    // Exactly the log's events after `start`, in order, each once, as JSON /cluster/events lists them.
    auto logEvents = logNow->getArray("events");
    ASSERT_EQ(seen.size(), logEvents->size());
    std::vector<std::string> node2;
    std::string downId;
    for (std::size_t i = 0; i < seen.size(); ++i)
    {
        auto expected = logEvents->getObject(i);
        EXPECT_EQ(seen[i].event, "");
        EXPECT_EQ(seen[i].id, std::to_string(expected->getValue<std::uint64_t>("sequence")));
        auto data = Poco::JSON::Parser().parse(seen[i].data).extract<Poco::JSON::Object::Ptr>();
        EXPECT_EQ(data->getValue<std::string>("to"), expected->getValue<std::string>("to"));
        EXPECT_EQ(data->getValue<std::string>("node"), expected->getValue<std::string>("node"));
        if (data->getValue<std::string>("node") != "node2") continue;
        std::string to = data->getValue<std::string>("to");
        if (to == "DOWN" || to == "UP") node2.push_back(to);
        if (to == "DOWN") downId = seen[i].id;
    }
    EXPECT_EQ(node2, (std::vector<std::string>{"DOWN", "UP"}));
    ASSERT_FALSE(downId.empty());
    follower.close();

    // Reconnect as EventSource does after the DOWN event: exactly what came after it.
    MonitorSseClient resumed(node1, "/cluster/events", {{"Last-Event-ID", downId}});
    ASSERT_EQ(resumed.status(), 200);
    auto missed = getJson(node1, "/cluster/events?since=" + downId)->getArray("events");
    ASSERT_GE(missed->size(), 1u);
    const std::string last = std::to_string(missed->getObject(missed->size() - 1)->getValue<std::uint64_t>("sequence"));
    ASSERT_TRUE(resumed.waitFor([&](const std::vector<SseMessage>& m) { return !m.empty() && m.back().id == last; }, 5s));
    std::this_thread::sleep_for(300ms);
    auto again = resumed.messages();
    ASSERT_EQ(again.size(), missed->size());
    for (std::size_t i = 0; i < again.size(); ++i)
        EXPECT_EQ(again[i].id, std::to_string(missed->getObject(i)->getValue<std::uint64_t>("sequence")));

    // monitor.maxEventStreams=2: a third concurrent stream is refused, not queued behind the workers.
    // (`follower` left above: its slot is free once a keep-alive write to it failed.)
    ASSERT_TRUE(waitUntil([&] { return getJson(node1, "/cluster/status")->getArray("nodes")->size() == 4 &&
                                       nodeIn(getJson(node1, "/cluster/status"), "node1")->getObject("local")->getValue<int>("eventStreams") == 1; },
                          5s));
    MonitorSseClient second(node1, "/cluster/events");
    EXPECT_EQ(second.status(), 200);
    MonitorSseClient third(node1, "/cluster/events");
    EXPECT_EQ(third.status(), 503);
    resumed.close();
    EXPECT_TRUE(waitUntil([&] { return MonitorSseClient(node1, "/cluster/events").status() == 200; }, 5s))
        << "a closed stream frees its slot";

    // A stream open at SIGTERM ends with the drain, well within http.drainTimeout (10 s), and cleanly.
    MonitorSseClient draining(cluster.httpPort("node3"), "/cluster/events");
    ASSERT_EQ(draining.status(), 200);
    int pid3 = cluster.pid("node3");
    auto stopAt = std::chrono::steady_clock::now();
    cluster.kill("node3", SIGTERM);
    EXPECT_TRUE(waitUntil([&] { return ::kill(pid3, 0) != 0; }, 8s)) << "node3 did not exit";
    EXPECT_LT(std::chrono::steady_clock::now() - stopAt, 5s);
    EXPECT_TRUE(waitUntil([&] { return draining.ended(); }, 2s));
    EXPECT_NE(cluster.log("node3").find("stopped cleanly"), std::string::npos) << cluster.log("node3");
}

TEST(Monitor, StatusPageInChromiumShowsAKilledNodeGoDown)
{
    const std::string chromium = toolPath("chromium");
    ASSERT_FALSE(chromium.empty()) << "chromium not found: install Debian's 'chromium' (bash scripts/install-deps.sh does)";
    const std::string node = toolPath("node");
    ASSERT_FALSE(node.empty()) << "node not found: install Debian's 'nodejs' and 'npm' (bash scripts/install-deps.sh does)";
    const std::string dir = std::string(MT_SOURCE_DIR) + "/tests/integration/statuspage";
    std::string output;
    if (!std::filesystem::exists(dir + "/node_modules/playwright-core"))
    {
        ASSERT_EQ(runCommand("/bin/sh", {"-c", "cd '" + dir + "' && npm ci --no-audit --no-fund"}, output, 180s), 0)
            << "npm ci in " << dir << " failed (playwright-core is needed to drive Chromium):\n" << output;
    }

    LocalCluster cluster(3);
    traffic(cluster, 30);
    const std::string screenshot = std::string(MT_BUILD_DIR) + "/status-page.png";
    const std::string url = "http://127.0.0.1:" + std::to_string(cluster.httpPort("lb")) + "/status";
    int code = runCommand(node, {dir + "/statuspage.mjs", url, "node2", std::to_string(cluster.pid("node2")), screenshot},
                          output, 120s);
    ASSERT_EQ(code, 0) << output;
    auto line = output.substr(output.rfind("{\"url\""));
    auto result = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(result->getArray("foreign")->size(), 0u) << "the page loaded something from elsewhere: " << line;
    auto seen = result->getArray("seen");
    ASSERT_EQ(seen->size(), 2u);
    EXPECT_NE(seen->getElement<std::string>(0).find("node2=UP"), std::string::npos) << line;
    EXPECT_NE(seen->getElement<std::string>(1).find("node2=DOWN"), std::string::npos) << line;
    EXPECT_NE(seen->getElement<std::string>(1).find("node1=UP"), std::string::npos) << line;
    EXPECT_LT(result->getValue<int>("downAfterMs"), 10000) << line;
    EXPECT_TRUE(std::filesystem::exists(screenshot));
}
