#pragma once
// The server: configuration, plugins, contexts, the HTTP listener(s), the
// session sweeper, and reload. Subsystem-shaped: start (initialize), reload
// (reinitialize), stop (uninitialize).
// Thread-safety: start/stop from the main thread; reload from any thread
// (serialized); the request path reads one atomic snapshot (RuntimeState).

#include "cluster/ClusterService.h"
#include "config/ServerConfig.h"
#include "http/HttpServer.h"
#include "monitor/MBeanServer.h"
#include "plugin/PluginManager.h"
#include "server/Logging.h"
#include "server/RuntimeState.h"
#include "session/KnownRoutes.h"
#include "session/SessionSweeper.h"
#include "util/Clock.h"

#include <Poco/JSON/Object.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace mt {

class KernelDispatcher;
class MBeanExporter;
class JolokiaHandler;
namespace balancer { class Balancer; }
namespace monitor { class ClusterStatusController; }

class Kernel
{
public:
    Kernel(std::string configFile, std::map<std::string, std::string> overrides, std::string defaultPluginDir);
    ~Kernel();

    /// Throws ConfigError / PluginError / Poco::Exception with a message naming what is wrong.
    void start();
    /// Drains (http.drainTimeout) and stops; returns requests cut off.
    int stop();

    struct ReloadResult
    {
        bool ok = false;
        bool stopping = false;          ///< refused because the server is stopping (HTTP 503)
        Poco::JSON::Object::Ptr report; ///< what changed, what needs a restart, or why nothing changed
    };
    ReloadResult reload();

    unsigned short httpPort() const;
    unsigned short adminPort() const; ///< 0 when admin is served on the HTTP port
    std::shared_ptr<const RuntimeState> state() const { return std::atomic_load(&_state); }
    Poco::JSON::Object::Ptr health() const;
    bool stopping() const { return _stopping; }
    /// Null when this node runs alone (no cluster.config).
    ClusterService* cluster() const { return _cluster.get(); }
    /// Null unless this node's role in cluster-config.xml is "balancer".
    balancer::Balancer* balancer() const { return _balancer.get(); }
    /// /cluster/status, /metrics, /status and the event stream (kernel/src/monitor).
    monitor::ClusterStatusController* statusController() const { return _statusController.get(); }
    /// The HTTP listener's counters (zeros before start).
    http::ServerStats httpStats() const;
    /// The MBean registry (Catalina:type=Manager,context=...,host=localhost and
    /// the others; see monitor/MBeanExporter.h), served over Jolokia at /jolokia/.
    MBeanRegistry& mbeans() const { return *_mbeans; }
    /// GET/POST /jolokia/ (null before start).
    JolokiaHandler* jolokia() const { return _jolokia.get(); }

private:
    /// A manager for `context`, over `store` if given, else over a new store.
    std::shared_ptr<DistributedSessionManager> makeSessions(const ContextConfig& context, const ServerConfig& config,
                                                            std::shared_ptr<SessionStoreAdapter> store = nullptr);
    /// Builds the table for `config`, reusing contexts of `previous` that did
    /// not change and whose plugins the last scan did not replace.
    std::shared_ptr<const ContextTable> buildContexts(const ServerConfig& config, const ContextTable* previous,
                                                      Poco::JSON::Object::Ptr report);
    void publish(const ServerConfig& config, std::shared_ptr<const ContextTable> contexts);
    void syncSweeper(const ContextTable* previous, const ContextTable& next);
    struct ReloadPlan;
    /// Loads and checks the files, scans the plugins, prepares the balancer
    /// and builds the contexts; throws if the reload must be refused, with
    /// `scanned` saying whether the plugins' scan has to be undone.
    ReloadPlan planReload(Poco::JSON::Object::Ptr report, bool& scanned);
    /// Puts a plan into effect; cannot fail.
    void applyReload(ReloadPlan plan, Poco::JSON::Object& report);

    std::string _configFile;
    std::map<std::string, std::string> _overrides;
    std::string _defaultPluginDir;
    Poco::Logger& _logger;
    SystemClock _clock;
    SteadyWallClock _clusterClock; ///< membership's: see SteadyWallClock
    Logging _logging;
    std::mutex _reloadMutex;
    ServerConfig _config;
    PluginManager _plugins;
    ScanReport _lastScan;
    std::shared_ptr<const RuntimeState> _state;
    // Before the listeners: their access-log hook feeds it until they are gone.
    std::unique_ptr<monitor::ClusterStatusController> _statusController;
    std::unique_ptr<KernelDispatcher> _dispatcher;
    std::unique_ptr<KernelDispatcher> _adminDispatcher;
    std::unique_ptr<http::HttpServer> _http;
    std::unique_ptr<http::HttpServer> _admin;
    std::unique_ptr<SessionSweeper> _sweeper;
    std::unique_ptr<ClusterService> _cluster;
    /// The cluster's node names, for finding a session another node renamed
    /// (shared with the session managers, which may outlive a reload).
    std::shared_ptr<KnownRoutes> _routes = std::make_shared<KnownRoutes>();
    std::unique_ptr<balancer::Balancer> _balancer;
    // After what the MBeans read (the members above), so they are destroyed first.
    std::unique_ptr<MBeanServer> _mbeans = std::make_unique<MBeanServer>();
    std::unique_ptr<MBeanExporter> _mbeanExporter;
    std::unique_ptr<JolokiaHandler> _jolokia;
    std::atomic<bool> _stopping{false};
    bool _started = false;
};

} // namespace mt
