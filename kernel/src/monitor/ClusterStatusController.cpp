#include "monitor/ClusterStatusController.h"
#include "cluster/NodeEventJson.h"

#include "balancer/Balancer.h"
#include "http/ServerRequest.h"
#include "http/ServerResponse.h"
#include "monitor/ClusterStatusXml.h"
#include "monitor/EventStream.h"
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

    Poco::JSON::Array::Ptr nodes = new Poco::JSON::Array;
    bool sawSelf = false;
    if (cluster)
    {
        auto snapshot = cluster->registry().snapshot();
        for (const auto& n : *snapshot)
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
            node->set("incarnation", self ? cluster->incarnation() : n.incarnation);
            // A node is not a peer of its own: it hears itself now, not when the registry last set it.
            const auto heard = self ? now : n.lastHeard;
            node->set("lastHeartbeat", isoTime(heard));
            node->set("lastHeartbeatAgoMs", heard > 0 ? ageMs(now, heard) : -1);
            node->set("self", self);
            if (self)
            {
                sawSelf = true;
                node->set("freshness", "live");
                node->set("local", localFigures());
            }
            else
            {
                node->set("suspicion", cluster->status().suspicion(n.name, now));
                // The peer's own figures as last fetched, and how old they are.
                auto figures = _peers.figures(n.name);
                if (figures.local)
                {
                    const std::int64_t age = ageMs(now, figures.fetchedAtMs);
                    node->set("freshness", !figures.lastAttemptFailed && age < kFreshMs ? "fresh" : "stale");
                    node->set("figuresAgeMs", age);
                    node->set("local", figures.local);
                }
                else
                {
                    node->set("freshness", "unknown");
                }
                if (figures.lastAttemptFailed) node->set("figuresError", figures.error);
            }
            nodes->add(node);
        }
    }
    if (!sawSelf)
    {
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
    json->set("nodes", nodes);

    Poco::JSON::Array::Ptr sessions = new Poco::JSON::Array;
    if (auto state = _kernel.state())
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
    json->set("sessions", sessions);

    if (auto* balancer = _kernel.balancer())
        json->set("balancer", balancer->statsJson());
    else
        json->set("balancer", Poco::Dynamic::Var());

    // Replication does not exist yet: sessions live in each context's store.
    Poco::JSON::Object::Ptr consistency = new Poco::JSON::Object;
    consistency->set("level", "none");
    consistency->set("replication", Poco::JSON::Array::Ptr(new Poco::JSON::Array));
    json->set("consistency", consistency);

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
    json->set("events", events);
    return json;
}

std::string ClusterStatusController::metricsText()
{
    PrometheusWriter w;
    using L = PrometheusWriter::Labels;
    const L none;
    const TimeMs now = wallMs();

    auto proc = _proc.sample();
    w.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
    w.sample("process_cpu_seconds_total", none, proc.cpuSeconds);
    w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    w.sample("process_resident_memory_bytes", none, static_cast<double>(proc.residentBytes));
    w.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    w.sample("process_virtual_memory_bytes", none, static_cast<double>(proc.virtualBytes));
    w.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
    w.sample("process_start_time_seconds", none, proc.startTimeSeconds);
    w.family("process_threads", "gauge", "Threads of the process.");
    w.sample("process_threads", none, proc.threads);

    w.family("mt_node_info", "gauge", "This node: its name as a label, always 1.");
    w.sample("mt_node_info", {{"node", _nodeName}}, 1);

    auto http = _kernel.httpStats();
    w.family("mt_http_requests_total", "counter", "Requests answered by this node's HTTP server.");
    w.sample("mt_http_requests_total", none, static_cast<double>(http.requests));
    w.family("mt_http_server_errors_total", "counter", "Responses with a status of 500 or more.");
    w.sample("mt_http_server_errors_total", none, static_cast<double>(http.errors));
    w.family("mt_http_rejected_total", "counter",
             "Requests the server refused itself (400, 408, 413, 414, 431).");
    w.sample("mt_http_rejected_total", none, static_cast<double>(http.rejected));
    w.family("mt_http_open_connections", "gauge", "Open client connections.");
    w.sample("mt_http_open_connections", none, static_cast<double>(http.openConnections));
    w.family("mt_http_active_requests", "gauge", "Requests being processed.");
    w.sample("mt_http_active_requests", none, static_cast<double>(http.activeRequests));

    auto latency = _requests.snapshot();
    w.family("mt_http_responses_total", "counter", "Responses by status class.");
    static const char* classes[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (std::size_t i = 1; i < latency.byClass.size(); ++i)
        w.sample("mt_http_responses_total", {{"code", classes[i]}}, static_cast<double>(latency.byClass[i]));
    w.family("mt_http_request_duration_seconds", "histogram", "Time from request head to the end of the response.");
    w.histogram("mt_http_request_duration_seconds", none,
                std::vector<double>(MetricsRecorder::kBoundsSeconds.begin(), MetricsRecorder::kBoundsSeconds.end()),
                std::vector<std::uint64_t>(latency.buckets.begin(), latency.buckets.end()), latency.sumSeconds);

    w.family("mt_event_streams", "gauge", "Clients following /cluster/events as Server-Sent Events.");
    w.sample("mt_event_streams", none, _eventStreams.load());

    // Sessions per context.
    struct Row
    {
        std::string context;
        SessionStats stats;
    };
    std::vector<Row> rows;
    if (auto state = _kernel.state())
        for (const auto& context : state->contexts->contexts())
        {
            try
            {
                rows.push_back({context->config().id, context->sessions().stats()});
            }
            catch (const std::exception&)
            {
                // Store down: the context's session figures are left out of this scrape.
            }
        }
    auto sessionFamily = [&](const std::string& name, const std::string& type, const std::string& help,
                             auto value, bool needsStore = false) {
        w.family(name, type, help);
        for (const auto& row : rows)
            if (!needsStore || row.stats.storeError.empty())
                w.sample(name, {{"context", row.context}}, static_cast<double>(value(row.stats)));
    };
    sessionFamily("mt_sessions_store_available", "gauge",
                  "1 if the context's session store answers (it can count its sessions), else 0.",
                  [](const SessionStats& s) { return s.storeError.empty() ? 1 : 0; });
    // Left out while the store cannot count: an unknown is not 0.
    sessionFamily("mt_sessions_active", "gauge", "Sessions in the context's store.",
                  [](const SessionStats& s) { return s.active; }, true);
    sessionFamily("mt_sessions_max_active", "gauge", "Most sessions seen in the store at once.",
                  [](const SessionStats& s) { return s.maxActive; });
    sessionFamily("mt_sessions_created_total", "counter", "Sessions created through this node.",
                  [](const SessionStats& s) { return s.created; });
    sessionFamily("mt_sessions_expired_total", "counter", "Sessions this node expired.",
                  [](const SessionStats& s) { return s.expired; });
    sessionFamily("mt_sessions_invalidated_total", "counter", "Sessions invalidated by the application.",
                  [](const SessionStats& s) { return s.invalidated; });
    sessionFamily("mt_sessions_rejected_total", "counter", "Requests refused because the session store was unavailable.",
                  [](const SessionStats& s) { return s.rejected; });
    sessionFamily("mt_sessions_alive_seconds_total", "counter", "Summed lifetime of destroyed sessions.",
                  [](const SessionStats& s) { return static_cast<double>(s.totalAliveMs) / 1000.0; });
    sessionFamily("mt_sessions_lifetimes_total", "counter",
                  "Destroyed sessions whose lifetime mt_sessions_alive_seconds_total sums (not those whose data the store lost).",
                  [](const SessionStats& s) { return s.lifetimes; });

    if (ClusterService* cluster = _kernel.cluster())
    {
        auto snapshot = cluster->registry().snapshot();
        w.family("mt_cluster_node_up", "gauge", "1 if this node sees the node UP, else 0.");
        for (const auto& n : *snapshot)
            w.sample("mt_cluster_node_up", {{"node", n.name}}, n.status == NodeStatus::Up ? 1 : 0);
        w.family("mt_cluster_node_status", "gauge", "The node's status as this node sees it: 1 for the current one.");
        for (const auto& n : *snapshot)
            for (auto status : {NodeStatus::Unknown, NodeStatus::Up, NodeStatus::Suspect, NodeStatus::Down,
                                NodeStatus::Left})
                w.sample("mt_cluster_node_status", {{"node", n.name}, {"status", toString(status)}},
                         n.status == status ? 1 : 0);
        w.family("mt_cluster_node_incarnation", "gauge", "The node's incarnation (grows at each restart).");
        for (const auto& n : *snapshot)
            w.sample("mt_cluster_node_incarnation", {{"node", n.name}},
                     static_cast<double>(n.name == _nodeName ? cluster->incarnation() : n.incarnation));
        w.family("mt_cluster_node_last_heartbeat_age_seconds", "gauge",
                 "Seconds since this node last heard from the node (peers only).");
        for (const auto& n : *snapshot)
            if (n.name != _nodeName && n.lastHeard > 0)
                w.sample("mt_cluster_node_last_heartbeat_age_seconds", {{"node", n.name}},
                         static_cast<double>(ageMs(now, n.lastHeard)) / 1000.0);
        w.family("mt_cluster_events_total", "counter", "Events in this node's cluster event log since it started.");
        w.sample("mt_cluster_events_total", none,
                 static_cast<double>(cluster->status().eventsSince(~std::uint64_t(0) - 1, 0).latest));
    }

    if (auto* balancer = _kernel.balancer())
    {
        auto stats = balancer->statsJson();
        auto nodesArray = stats->getArray("nodes");
        std::vector<Poco::JSON::Object::Ptr> nodes;
        for (std::size_t i = 0; nodesArray && i < nodesArray->size(); ++i) nodes.push_back(nodesArray->getObject(i));
        auto num = [](const Poco::JSON::Object::Ptr& o, const std::string& key) {
            return o->has(key) ? o->getValue<double>(key) : 0.0;
        };
        auto perNode = [&](const std::string& name, const std::string& type, const std::string& help,
                           const std::string& key) {
            w.family(name, type, help);
            for (const auto& n : nodes) w.sample(name, {{"node", n->getValue<std::string>("name")}}, num(n, key));
        };
        perNode("mt_balancer_upstream_requests_total", "counter", "Requests the balancer sent to the app node.", "total");
        perNode("mt_balancer_upstream_errors_total", "counter", "Failed attempts and 5xx answers of the app node.",
                "errors");
        perNode("mt_balancer_upstream_retries_total", "counter", "Requests retried away from the app node.", "retries");
        perNode("mt_balancer_upstream_ejections_total", "counter", "Times the app node was ejected.", "ejections");
        perNode("mt_balancer_upstream_active_requests", "gauge", "Requests in flight to the app node.", "active");
        perNode("mt_balancer_upstream_weight", "gauge", "Effective weight of the app node (slow start included).",
                "weight");
        w.family("mt_balancer_upstream_selectable", "gauge", "1 if the balancer may send requests to the app node.");
        for (const auto& n : nodes)
            w.sample("mt_balancer_upstream_selectable", {{"node", n->getValue<std::string>("name")}},
                     n->optValue<bool>("selectable", false) ? 1 : 0);
        w.family("mt_balancer_upstream_duration_seconds", "histogram",
                 "Time the app node took to answer, as the balancer saw it.");
        for (const auto& n : nodes)
        {
            auto lat = n->getObject("latency");
            if (!lat) continue;
            auto buckets = lat->getArray("buckets");
            std::vector<double> bounds;
            std::vector<std::uint64_t> counts;
            for (std::size_t i = 0; buckets && i < buckets->size(); ++i)
            {
                auto b = buckets->getObject(i);
                counts.push_back(b->getValue<std::uint64_t>("count"));
                if (b->get("leMs").isNumeric()) bounds.push_back(b->getValue<double>("leMs") / 1000.0);
            }
            double count = num(lat, "count");
            w.histogram("mt_balancer_upstream_duration_seconds", {{"node", n->getValue<std::string>("name")}}, bounds,
                        counts, num(lat, "meanMs") * count / 1000.0);
        }
    }
    return w.str();
}

} // namespace mt::monitor
