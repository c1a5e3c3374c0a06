#pragma once
// The monitor's HTTP face, answered by every node before contexts and the
// balancer's proxying:
//   GET /cluster/status   the cluster as this node knows it (JSON; XML with
//                         Accept: application/xml or ?format=xml)
//   GET /metrics          Prometheus text format 0.0.4
//   GET /status           the live HTML status page (polls /cluster/status)
//   GET /cluster/events   with Accept: text/event-stream: the event log as SSE
// (plain GET /cluster/events stays with KernelDispatcher's JSON page).
//
// A node answers for the cluster from what it knows: membership (status,
// incarnation, last heartbeat and how long ago) and peers' own figures
// (CPU, memory, requests) as last fetched in the background by
// ClusterStatusPeers, with their age and "freshness" (fresh, stale, unknown),
// so a status request never waits on a slow or dead peer.
//
// Read-only and public like /health: nothing here is secret (no tokens,
// no session ids, no configuration values beyond names and ports).
// Thread-safety: handle() runs concurrently on the workers; configure()
// from the reload thread.

#include "config/ServerConfig.h"
#include "http/HttpServer.h"
#include "monitor/ClusterStatusPeers.h"
#include "monitor/MetricsRecorder.h"
#include "monitor/ProcStats.h"
#include "mt/ClusterNode.h"
#include "util/Clock.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <atomic>
#include <string>

namespace mt {

class Kernel;
class ClusterService;
namespace http { class ServerRequest; class ServerResponse; }

namespace monitor {

class ClusterStatusController
{
public:
    ClusterStatusController(Kernel& kernel, const ServerConfig& config);

    /// Ends the background work (peer fetches); called by Kernel::stop.
    void stop() { _peers.stop(); }
    /// Applies the live monitor.* keys.
    void configure(const ServerConfig& config);
    /// True for the paths this controller answers (see above).
    bool handles(const http::ServerRequest& request) const;
    void handle(http::ServerRequest& request, http::ServerResponse& response);
    /// Called once per response (from the access-log hook).
    void recordResponse(const http::AccessRecord& record) { _requests.record(record.status, record.durationUs); }

    Poco::JSON::Object::Ptr statusJson();
    std::string metricsText();
    int activeEventStreams() const { return _eventStreams.load(); }

private:
    void serveStatus(http::ServerRequest& request, http::ServerResponse& response);
    void serveEventStream(http::ServerRequest& request, http::ServerResponse& response);
    Poco::JSON::Object::Ptr localFigures();
    /// Every member as this node sees it (this node alone without a cluster).
    Poco::JSON::Array::Ptr nodesJson(ClusterService* cluster);
    Poco::JSON::Object::Ptr nodeJson(ClusterService& cluster, const ClusterNode& node);
    std::vector<ClusterStatusPeers::Target> peerTargets() const;

    Kernel& _kernel;
    std::string _nodeName;
    std::atomic<int> _maxEventStreams{8};
    std::atomic<int> _keepAliveMs{5000};
    std::atomic<int> _eventStreams{0};
    MetricsRecorder _requests;
    ProcStats _proc;
    ClusterStatusPeers _peers;
};

} // namespace monitor
} // namespace mt
