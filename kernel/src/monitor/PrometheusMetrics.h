#pragma once
// What /metrics says (Prometheus text format 0.0.4), one function per part
// of the node, so that each part's families read together. Names follow
// Prometheus' conventions: process_* as its client libraries export them,
// mt_* for the server's own, counters ending in _total.
// Thread-safety: each call reads only what it is given (and the kernel's
// thread-safe accessors); concurrent scrapes are fine.

#include "http/HttpServer.h"
#include "monitor/MetricsRecorder.h"
#include "monitor/ProcStats.h"
#include "util/Clock.h"

#include <string>

namespace mt {

class Kernel;
class ClusterService;
namespace balancer { class Balancer; }

namespace monitor {

class PrometheusWriter;

/// process_* and mt_node_info.
void writeProcessMetrics(PrometheusWriter& w, const ProcSample& proc, const std::string& nodeName);
/// The HTTP server's counters, responses by class, the latency histogram, event streams.
void writeHttpMetrics(PrometheusWriter& w, const http::ServerStats& http, const MetricsRecorder::Snapshot& latency,
                      int eventStreams);
/// mt_sessions_* per context; a context whose store is down is left out of what needs it.
void writeSessionMetrics(PrometheusWriter& w, Kernel& kernel);
/// mt_cluster_*: membership as this node sees it at `now`.
void writeClusterMetrics(PrometheusWriter& w, ClusterService& cluster, const std::string& nodeName, TimeMs now);
/// mt_balancer_upstream_* per app node.
void writeBalancerMetrics(PrometheusWriter& w, balancer::Balancer& balancer);

} // namespace monitor
} // namespace mt
