#pragma once
// The balancer role of a node: a reverse proxy to the cluster's app nodes.
// Wires the pure decisions (BalancerCore: membership, ejection, slow start,
// stickiness, the strategy plugin; RetryPolicy) to the I/O (one
// UpstreamPool per app node) and to the kernel (membership listener, reload,
// statistics). proxy() runs on the HTTP worker threads.
//
// Lifetime: created by the Kernel when this node's <node> in
// cluster-config.xml has the role "balancer"; start() after the registry
// exists, stop() after the HTTP listener stopped.
// Thread-safety: proxy() and statsJson() from any thread; reconfigure()
// from the kernel's reload (serialised by it).

#include "balancer/BalancerCore.h"
#include "balancer/BalancerSettings.h"
#include "balancer/NodeStats.h"
#include "balancer/UpstreamPool.h"
#include "cluster/ClusterRegistry.h"
#include "config/ServerConfig.h"
#include "plugin/PluginManager.h"

#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace mt::http {
class ServerRequest;
class ServerResponse;
}

namespace mt::balancer {

class Balancer
{
public:
    /// Creates the strategy plugin; throws ConfigError / PluginError naming the key.
    /// `mbeans` is handed on to the strategy plugins (may be null).
    Balancer(ClusterRegistry& registry, PluginManager& plugins, const ServerConfig& config, MBeanRegistry* mbeans);
    ~Balancer();

    void start();
    void stop();
    /// balancer.* and lb.* of a reloaded configuration, ready to apply: a new
    /// strategy is created here (throws, changing nothing, if it cannot be).
    struct Prepared
    {
        std::shared_ptr<const BalancerSettings> settings;
        std::shared_ptr<LoadBalancer> strategy; ///< null: the strategy stays
    };
    Prepared prepare(const ServerConfig& config) const;
    /// Applies what prepare() made; requests in flight finish with the
    /// strategy they started with.
    void apply(Prepared prepared);
    void reconfigure(const ServerConfig& config) { apply(prepare(config)); }

    /// Forwards the request to an app node and streams the answer back.
    void proxy(http::ServerRequest& request, http::ServerResponse& response);
    /// GET /cluster/balancer: strategy, settings, and per node its state and counters.
    Poco::JSON::Object::Ptr statsJson() const;
    /// App nodes a request may go to now (UP, not ejected).
    std::size_t selectableNodes() const { return _core.candidates()->size(); }

private:
    struct Upstream
    {
        Upstream(const ClusterNode& node, const sockaddr_storage& address, socklen_t length);
        std::string name;
        std::string hostPort;
        UpstreamPool pool;
        NodeStats stats;
    };
    using Upstreams = std::map<std::string, std::shared_ptr<Upstream>>;
    struct Attempt;

    std::shared_ptr<LoadBalancer> makeStrategy(const BalancerSettings& settings, const ServerConfig& config) const;
    void refreshMembers();
    void run();
    std::shared_ptr<Upstream> upstream(const std::string& name) const;
    /// The request's upstream head and body framing, before any node is chosen.
    static Attempt firstAttempt(const http::ServerRequest& request, const BalancerSettings& settings,
                                const std::string& clientIp);
    /// select() found no node: a 503 before any attempt, else giveUp().
    void noNodeLeft(Attempt& a, http::ServerResponse& response);
    /// One attempt on `node`, and its outcome in the node's statistics and
    /// the outlier detection.
    void runAttempt(Attempt& a, const std::string& name, Upstream& node, LoadBalancer& strategy,
                    http::ServerRequest& request, http::ServerResponse& response);
    /// The attempt's result in the node's statistics and the outlier detection.
    void recordOutcome(const Attempt& a, const std::string& name, Upstream& node, std::int64_t started);
    /// Sets a's outcome. Throws when the client's side fails, and
    /// (ConnectionLost, a.nodeFailure set) when the node fails once its
    /// answer has begun: the client can then only see the connection close.
    void attempt(Attempt& a, Upstream& node, http::ServerRequest& request, http::ServerResponse& response);
    /// Sends the request and reads the answer's head; true if the node
    /// answered before it took the whole body. Throws UpstreamError.
    bool exchange(Attempt& a, Upstream& node, UpstreamConnection& connection, http::ServerRequest& request,
                  ResponseHead& head);
    void failAttempt(Attempt& a, Upstream& node, std::unique_ptr<UpstreamConnection> connection, const UpstreamError& e);
    /// A 502/503/504 that the retry rules let us try elsewhere, before the client sees it.
    bool retriesGatewayAnswer(const Attempt& a, const http::ServerRequest& request, int status) const;
    void holdGatewayAnswer(Attempt& a, Upstream& node, std::unique_ptr<UpstreamConnection> connection,
                           const ResponseHead& head);
    /// The node's answer to the client, streamed; the answer is committed.
    void relay(Attempt& a, Upstream& node, std::unique_ptr<UpstreamConnection> connection, const ResponseHead& head,
               bool answeredEarly, http::ServerResponse& response);
    /// The client's body to the node (none, Content-Length or chunked),
    /// streamed the first time and kept for a retry when small enough.
    void sendRequestBody(Attempt& a, UpstreamConnection& connection, http::ServerRequest& request);
    /// No node (left) to try: the last gateway answer a node gave, as it gave
    /// it, else a 502 (504 after a timeout) saying why.
    void giveUp(Attempt& a, http::ServerResponse& response);

    ClusterRegistry& _registry;
    PluginManager& _plugins;
    MBeanRegistry* _mbeans;
    Poco::Logger& _logger;
    std::string _cookieName;
    BalancerCore _core;
    std::shared_ptr<const BalancerSettings> _settings;
    std::shared_ptr<const Upstreams> _upstreams = std::make_shared<const Upstreams>();
    std::mutex _upstreamsMutex; ///< serialises rebuilding _upstreams
    std::atomic<long long> _active{0};
    std::atomic<long long> _activeRetries{0};
    std::atomic<long long> _noNode{0};

    int _listener = 0;
    std::mutex _mutex;
    std::condition_variable _wake;
    bool _dirty = true;
    bool _stopping = false;
    std::thread _thread;
};

} // namespace mt::balancer
