#include "monitor/ClusterStatusController.h"
#include "cluster/NodeEventJson.h"

#include "balancer/Balancer.h"
#include "http/ServerRequest.h"
#include "http/ServerResponse.h"
#include "monitor/ClusterStatusXml.h"
#include "monitor/EventStream.h"
#include "monitor/PrometheusMetrics.h"
#include "monitor/PrometheusWriter.h"
#include "monitor/StatusPage.h"
#include "server/Kernel.h"
#include "util/Clock.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/NumberParser.h>
#include <Poco/String.h>
#include <Poco/Timestamp.h>

#include <chrono>
#include <sstream>

namespace mt::monitor {

namespace {

constexpr std::size_t kLatestEvents = 20;
/// Peer figures older than this are "stale" (they are fetched every 2 s while someone looks).
constexpr std::int64_t kFreshMs = 5000;


TimeMs wallMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int intSetting(const ServerConfig& config, const std::string& key, int fallback)
{
    int value = fallback;
    std::string text;
    try
    {
        text = config.value(key);
    }
    catch (const std::exception&)
    {
        return fallback; // a kernel without the key in its schema
    }
    return Poco::NumberParser::tryParse(text, value) ? value : fallback;
}

/// Releases an event-stream slot however the stream ends.
class SlotGuard
{
public:
    explicit SlotGuard(std::atomic<int>& count) : _count(count) {}
    ~SlotGuard() { --_count; }

private:
    std::atomic<int>& _count;
};

bool wantsXml(const http::ServerRequest& request)
{
    std::string format = request.parameter("format", "");
    if (!format.empty()) return Poco::icompare(format, "xml") == 0;
    std::string accept = request.header("Accept");
    return accept.find("application/xml") != std::string::npos || accept.find("text/xml") != std::string::npos;
}

/// Each context's sessions as this node counts them; a store that is down is said, not fatal.
Poco::JSON::Array::Ptr sessionsJson(Kernel& kernel)
{
    Poco::JSON::Array::Ptr sessions = new Poco::JSON::Array;
    auto state = kernel.state();
    if (!state) return sessions;
    for (const auto& context : state->contexts->contexts())
    {
        Poco::JSON::Object::Ptr s = new Poco::JSON::Object;
        s->set("context", context->config().id);
        s->set("path", context->path().empty() ? "/" : context->path());
        s->set("store", context->config().store);
        try
        {
            auto stats = context->sessions().stats();
            // This node's own counters hold whether or not the store can count its sessions now.
            s->set("available", stats.storeError.empty());
            if (stats.storeError.empty())
                s->set("active", stats.active);
            else
                s->set("error", stats.storeError);
            s->set("created", stats.created);
            s->set("expired", stats.expired);
            s->set("invalidated", stats.invalidated);
            s->set("rejected", stats.rejected);
            s->set("maxActive", stats.maxActive);
            s->set("createRatePerMinute", stats.createRatePerMinute);
            s->set("expireRatePerMinute", stats.expireRatePerMinute);
            s->set("averageAliveSeconds", stats.lifetimes ? static_cast<double>(stats.totalAliveMs) / 1000.0 /
                                                                static_cast<double>(stats.lifetimes)
                                                          : 0.0);
        }
        catch (const std::exception& e)
        {
            // A networked store that is down: say so rather than fail the whole status.
            s->set("available", false);
            s->set("error", std::string(e.what()));
        }
        sessions->add(s);
    }
    return sessions;
}

/// The last kLatestEvents of the cluster's event log.
Poco::JSON::Object::Ptr latestEventsJson(ClusterService* cluster)
{
    Poco::JSON::Object::Ptr events = new Poco::JSON::Object;
    Poco::JSON::Array::Ptr items = new Poco::JSON::Array;
    std::uint64_t latest = 0;
    if (cluster)
    {
        latest = cluster->status().eventsSince(~std::uint64_t(0) - 1, 0).latest;
        auto page = cluster->status().eventsSince(latest > kLatestEvents ? latest - kLatestEvents : 0, kLatestEvents);
        for (const auto& e : page.events) items->add(toJson(e));
    }
    events->set("latest", latest);
    events->set("items", items);
    return events;
}

} // namespace

ClusterStatusController::ClusterStatusController(Kernel& kernel, const ServerConfig& config)
    : _kernel(kernel),
      _nodeName(config.nodeName),
      _peers([this] { return peerTargets(); }, [this] { return _kernel.stopping(); })
{
    configure(config);
}

void ClusterStatusController::configure(const ServerConfig& config)
{
    _maxEventStreams = intSetting(config, "monitor.maxEventStreams", 8);
    _keepAliveMs = intSetting(config, "monitor.eventStreamKeepAlive", 5) * 1000;
}

bool ClusterStatusController::handles(const http::ServerRequest& request) const
{
    const std::string& path = request.path();
    if (path == "/cluster/status" || path == "/metrics" || path == "/status") return true;
    return path == "/cluster/events" && request.header("Accept").find("text/event-stream") != std::string::npos;
}

void ClusterStatusController::handle(http::ServerRequest& request, http::ServerResponse& response)
{
    if (request.method() != "GET" && request.method() != "HEAD")
    {
        response.setHeader("Allow", "GET, HEAD");
        return response.sendError(405, "read-only: use GET");
    }
    response.setHeader("Cache-Control", "no-store");
    const std::string& path = request.path();
    if (path == "/cluster/status") return serveStatus(request, response);
    if (path == "/metrics") return response.sendBody(metricsText(), PrometheusWriter::kContentType);
    if (path == "/status")
    {
        // The page is self-contained: its script and style are inline, nothing else may load.
        response.setHeader("Content-Security-Policy",
                           "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                           "connect-src 'self'; img-src data:");
        return response.sendBody(StatusPage::html(), "text/html; charset=utf-8");
    }
    serveEventStream(request, response);
}

std::vector<ClusterStatusPeers::Target> ClusterStatusController::peerTargets() const
{
    std::vector<ClusterStatusPeers::Target> targets;
    if (ClusterService* cluster = _kernel.cluster())
    {
        auto snapshot = cluster->registry().snapshot();
        for (const auto& n : *snapshot)
            if (n.name != _nodeName && (n.status == NodeStatus::Up || n.status == NodeStatus::Suspect))
                targets.push_back({n.name, n.host, n.httpPort});
    }
    return targets;
}

void ClusterStatusController::serveStatus(http::ServerRequest& request, http::ServerResponse& response)
{
    Poco::JSON::Object::Ptr json;
    if (request.parameter("scope", "") == "local")
    {
        // What a peer's ClusterStatusPeers fetches: this node's own figures
        // only. It must not call demand(), or nodes would keep each other polling.
        json = new Poco::JSON::Object;
        json->set("self", _nodeName);
        json->set("generatedAt", isoTime(wallMs()));
        json->set("local", localFigures());
    }
    else
    {
        _peers.demand();
        json = statusJson();
    }
    if (wantsXml(request))
        return response.sendBody(ClusterStatusXml::toXml(json, "clusterStatus"), "application/xml; charset=utf-8");
    std::ostringstream out;
    Poco::JSON::Stringifier::stringify(json, out, 2);
    out << "\n";
    response.sendBody(out.str(), "application/json");
}

void ClusterStatusController::serveEventStream(http::ServerRequest& request, http::ServerResponse& response)
{
    ClusterService* cluster = _kernel.cluster();
    if (!cluster) return response.sendError(404, "this node runs alone (no cluster.config)");
    std::uint64_t since = 0;
    // Last-Event-ID (sent by a reconnecting EventSource) wins over ?since=.
    std::string from = request.header("Last-Event-ID");
    if (from.empty()) from = request.parameter("since", "0");
    if (!Poco::NumberParser::tryParseUnsigned64(Poco::trim(from), since))
        return response.sendError(400, "since / Last-Event-ID: expected a sequence number, got '" + from + "'");

    // Each stream holds a worker thread for its whole life: cap them so
    // followers cannot starve the pool that serves requests.
    if (++_eventStreams > _maxEventStreams.load())
    {
        --_eventStreams;
        response.setHeader("Retry-After", "5");
        return response.sendError(503, "too many event streams (monitor.maxEventStreams=" +
                                           std::to_string(_maxEventStreams.load()) + "); poll /cluster/events?since=N");
    }
    SlotGuard slot(_eventStreams);
    response.setHeader("Content-Type", "text/event-stream; charset=utf-8");
    response.setHeader("X-Accel-Buffering", "no");
    response.setCloseConnection();
    if (request.method() == "HEAD") return response.sendBody("");
    std::ostream& out = response.send();
    EventStream::Options options;
    options.keepAliveMs = _keepAliveMs.load();
    NodeStatusManager& status = cluster->status();
    EventStream stream([&status](std::uint64_t s, std::size_t limit) { return status.eventsSince(s, limit); },
                       [this] { return _kernel.stopping(); }, options);
    stream.run(out, since);
}

Poco::JSON::Object::Ptr ClusterStatusController::localFigures()
{
    auto proc = _proc.sample();
    auto http = _kernel.httpStats();
    auto latency = _requests.snapshot();
    Poco::JSON::Object::Ptr local = new Poco::JSON::Object;
    local->set("uptimeSeconds", proc.uptimeSeconds);
    local->set("startTime", isoTime(static_cast<TimeMs>(proc.startTimeSeconds * 1000)));
    local->set("cpuSeconds", proc.cpuSeconds);
    local->set("cpuPercent", proc.cpuPercent);
    local->set("residentMemoryBytes", proc.residentBytes);
    local->set("threads", proc.threads);
    local->set("openConnections", http.openConnections);
    local->set("activeRequests", http.activeRequests);
    local->set("requests", http.requests);
    local->set("errors", http.errors);
    local->set("rejected", http.rejected);
    local->set("meanLatencyMs", latency.count ? latency.sumSeconds * 1000.0 / static_cast<double>(latency.count) : 0.0);
    local->set("eventStreams", _eventStreams.load());
    return local;
}

Poco::JSON::Object::Ptr ClusterStatusController::statusJson()
{
    const TimeMs now = wallMs();
    Poco::JSON::Object::Ptr json = new Poco::JSON::Object;
    json->set("schema", 1);
    json->set("generatedAt", isoTime(now));
    json->set("self", _nodeName);
    ClusterService* cluster = _kernel.cluster();
    json->set("cluster", cluster ? cluster->config().name : std::string());
    json->set("nodes", nodesJson(cluster));
    json->set("sessions", sessionsJson(_kernel));
    if (auto* balancer = _kernel.balancer())
        json->set("balancer", balancer->statsJson());
    else
        json->set("balancer", Poco::Dynamic::Var());

    // Replication does not exist yet: sessions live in each context's store.
    Poco::JSON::Object::Ptr consistency = new Poco::JSON::Object;
    consistency->set("level", "none");
    consistency->set("replication", Poco::JSON::Array::Ptr(new Poco::JSON::Array));
    json->set("consistency", consistency);
    json->set("events", latestEventsJson(cluster));
    return json;
}

Poco::JSON::Array::Ptr ClusterStatusController::nodesJson(ClusterService* cluster)
{
    Poco::JSON::Array::Ptr nodes = new Poco::JSON::Array;
    bool sawSelf = false;
    // Held for the loop: a range-for over *snapshot() would outlive the pointer.
    const ClusterRegistry::Snapshot snapshot = cluster ? cluster->registry().snapshot() : nullptr;
    if (snapshot)
        for (const auto& n : *snapshot)
        {
            sawSelf = sawSelf || n.name == _nodeName;
            nodes->add(nodeJson(*cluster, n));
        }
    if (!sawSelf)
    {
        // No cluster (or this node not in its file): this node alone, as a member would be shown.
        Poco::JSON::Object::Ptr node = new Poco::JSON::Object;
        node->set("name", _nodeName);
        node->set("status", _kernel.stopping() ? "LEFT" : "UP");
        Poco::JSON::Array::Ptr roles = new Poco::JSON::Array;
        roles->add("app");
        node->set("roles", roles);
        node->set("address", "");
        node->set("clusterPort", 0);
        node->set("incarnation", 0);
        node->set("lastHeartbeat", "");
        node->set("lastHeartbeatAgoMs", -1);
        node->set("self", true);
        node->set("freshness", "live");
        node->set("local", localFigures());
        nodes->add(node);
    }
    return nodes;
}

Poco::JSON::Object::Ptr ClusterStatusController::nodeJson(ClusterService& cluster, const ClusterNode& n)
{
    const bool self = n.name == _nodeName;
    Poco::JSON::Object::Ptr node = new Poco::JSON::Object;
    node->set("name", n.name);
    node->set("status", std::string(self && _kernel.stopping() ? "LEFT" : toString(n.status)));
    Poco::JSON::Array::Ptr roles = new Poco::JSON::Array;
    for (const auto& r : n.roles) roles->add(r);
    node->set("roles", roles);
    node->set("address", n.host + ":" + std::to_string(n.httpPort));
    node->set("clusterPort", n.clusterPort);
    node->set("incarnation", self ? cluster.incarnation() : n.incarnation);
    // A node is not a peer of its own: it hears itself now, not when the
    // registry last set it. Heartbeat times are on the membership's clock.
    const TimeMs clusterNow = cluster.nowMs();
    const auto heard = self ? clusterNow : n.lastHeard;
    node->set("lastHeartbeat", isoTime(heard));
    node->set("lastHeartbeatAgoMs", heard > 0 ? ageMs(clusterNow, heard) : -1);
    node->set("self", self);
    if (self)
    {
        node->set("freshness", "live");
        node->set("local", localFigures());
        return node;
    }
    node->set("suspicion", cluster.status().suspicion(n.name, clusterNow));
    // The peer's own figures as last fetched, and how old they are.
    auto figures = _peers.figures(n.name);
    if (figures.local)
    {
        const std::int64_t age = ageMs(steadyNowMs(), figures.fetchedAtMs);
        node->set("freshness", !figures.lastAttemptFailed && age < kFreshMs ? "fresh" : "stale");
        node->set("figuresAgeMs", age);
        node->set("local", figures.local);
    }
    else
    {
        node->set("freshness", "unknown");
    }
    if (figures.lastAttemptFailed) node->set("figuresError", figures.error);
    return node;
}

std::string ClusterStatusController::metricsText()
{
    PrometheusWriter w;
    writeProcessMetrics(w, _proc.sample(), _nodeName);
    const http::ServerStats http = _kernel.httpStats();
    const MetricsRecorder::Snapshot latency = _requests.snapshot();
    writeHttpMetrics(w, http, latency, _eventStreams.load());
    writeSessionMetrics(w, _kernel);
    if (ClusterService* cluster = _kernel.cluster()) writeClusterMetrics(w, *cluster, _nodeName, cluster->nowMs());
    if (auto* balancer = _kernel.balancer()) writeBalancerMetrics(w, *balancer);
    return w.str();
}

} // namespace mt::monitor
