#include "monitor/PrometheusMetrics.h"

#include "balancer/Balancer.h"
#include "cluster/ClusterService.h"
#include "monitor/PrometheusWriter.h"
#include "server/Kernel.h"

#include <vector>

namespace mt::monitor {

namespace {

using L = PrometheusWriter::Labels;
const L none;

} // namespace

void writeProcessMetrics(PrometheusWriter& w, const ProcSample& proc, const std::string& nodeName)
{
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
    w.sample("mt_node_info", {{"node", nodeName}}, 1);
}

void writeHttpMetrics(PrometheusWriter& w, const http::ServerStats& http, const MetricsRecorder::Snapshot& latency,
                      int eventStreams)
{
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

    w.family("mt_http_responses_total", "counter", "Responses by status class.");
    static const char* classes[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (std::size_t i = 1; i < latency.byClass.size(); ++i)
        w.sample("mt_http_responses_total", {{"code", classes[i]}}, static_cast<double>(latency.byClass[i]));
    w.family("mt_http_request_duration_seconds", "histogram", "Time from request head to the end of the response.");
    w.histogram("mt_http_request_duration_seconds", none,
                std::vector<double>(MetricsRecorder::kBoundsSeconds.begin(), MetricsRecorder::kBoundsSeconds.end()),
                std::vector<std::uint64_t>(latency.buckets.begin(), latency.buckets.end()), latency.sumSeconds);

    w.family("mt_event_streams", "gauge", "Clients following /cluster/events as Server-Sent Events.");
    w.sample("mt_event_streams", none, eventStreams);
}

void writeSessionMetrics(PrometheusWriter& w, Kernel& kernel)
{
    struct Row
    {
        std::string context;
        SessionStats stats;
    };
    std::vector<Row> rows;
    if (auto state = kernel.state())
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
}

void writeClusterMetrics(PrometheusWriter& w, ClusterService& cluster, const std::string& nodeName, TimeMs now)
{
    auto snapshot = cluster.registry().snapshot();
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
                 static_cast<double>(n.name == nodeName ? cluster.incarnation() : n.incarnation));
    w.family("mt_cluster_node_last_heartbeat_age_seconds", "gauge",
             "Seconds since this node last heard from the node (peers only).");
    for (const auto& n : *snapshot)
        if (n.name != nodeName && n.lastHeard > 0)
            w.sample("mt_cluster_node_last_heartbeat_age_seconds", {{"node", n.name}},
                     static_cast<double>(ageMs(now, n.lastHeard)) / 1000.0);
    w.family("mt_cluster_events_total", "counter", "Events in this node's cluster event log since it started.");
    w.sample("mt_cluster_events_total", none,
             static_cast<double>(cluster.status().eventsSince(~std::uint64_t(0) - 1, 0).latest));
}

void writeBalancerMetrics(PrometheusWriter& w, balancer::Balancer& balancer)
{
    auto stats = balancer.statsJson();
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

} // namespace mt::monitor
