#include "server/Kernel.h"

#include "balancer/Balancer.h"
#include "cluster/ClusterConfigLoader.h"
#include "config/ConfigLoader.h"
#include "config/ConfigSchema.h"
#include "monitor/JolokiaHandler.h"
#include "monitor/MBeanExporter.h"
#include "monitor/ClusterStatusController.h"
#include "server/KernelDispatcher.h"
#include "server/PluginContextImpl.h"
#include "util/Errors.h"
#include "util/JsonArrays.h"

#include <Poco/JSON/Array.h>

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

namespace mt {

namespace {

/// An app node behind a balancer of its cluster gets room for the fields the
/// balancer adds (three X-Forwarded-*, and a Host for an HTTP/1.0 request
/// without one; a Host is at most a DNS name and a port, longer ones are
/// refused), so that a request within the limits at the balancer is within
/// them here too: the limits a client meets stay the configured ones.
http::ServerLimits limitsBehindBalancer(http::ServerLimits limits, const ClusterService* cluster)
{
    if (!cluster || !cluster->config().self().hasRole("app")) return limits;
    const auto& nodes = cluster->config().nodes;
    if (std::none_of(nodes.begin(), nodes.end(), [](const ClusterNode& n) { return n.hasRole("balancer"); }))
        return limits;
    limits.maxHeaderFields += 4;
    limits.maxHeaderBytes += 512;
    return limits;
}

/// The routes session ids carry in `cluster`: its app nodes' names (a
/// balancer issues no session ids).
std::vector<std::string> routesOf(const ClusterConfig& cluster)
{
    std::vector<std::string> routes;
    for (const auto& node : cluster.nodes)
        if (node.hasRole("app")) routes.push_back(node.name);
    return routes;
}

Poco::JSON::Object::Ptr scanJson(const ScanReport& scan)
{
    Poco::JSON::Object::Ptr json = new Poco::JSON::Object;
    json->set("loaded", toJsonArray(scan.loaded));
    json->set("reloaded", toJsonArray(scan.reloaded));
    json->set("removed", toJsonArray(scan.removed));
    json->set("errors", toJsonArray(scan.errors));
    return json;
}

void checkPluginSettings(const PluginInfo& info, const std::map<std::string, std::string>& settings,
                         const std::string& prefix)
{
    for (const auto& [key, value] : settings)
        if (std::find(info.configKeys.begin(), info.configKeys.end(), key) == info.configKeys.end())
        {
            std::string allowed;
            for (const auto& k : info.configKeys) allowed += (allowed.empty() ? "" : ", ") + k;
            throw ConfigError(prefix + key + ": plugin " + info.kind + "/" + info.name + " has no setting '" + key +
                              "' (it accepts: " + (allowed.empty() ? "none" : allowed) + ")");
        }
}

} // namespace

Kernel::Kernel(std::string configFile, std::map<std::string, std::string> overrides, std::string defaultPluginDir)
    : _configFile(std::move(configFile)),
      _overrides(std::move(overrides)),
      _defaultPluginDir(std::move(defaultPluginDir)),
      _logger(Poco::Logger::get("mt.server")),
      _plugins(Poco::Logger::get("mt.plugins"))
{
}

Kernel::~Kernel()
{
    stop();
}

void Kernel::start()
{
    _config = ConfigLoader::load(_configFile, _overrides, _defaultPluginDir);
    _logging.apply(_config);
    // Before any plugin is made: a plugin may register its MBeans in its factory.
    _mbeanExporter = std::make_unique<MBeanExporter>(*_mbeans);
    _jolokia = std::make_unique<JolokiaHandler>(*_mbeans, _config.nodeName);
    if (!_config.clusterConfigFile.empty())
    {
        _cluster = std::make_unique<ClusterService>(ClusterConfigLoader::load(_config), _clusterClock);
        _routes->set(routesOf(_cluster->config()));
    }
    _logger.information("Micro Tomcat node '%s' starting with %s", _config.nodeName, _configFile);

    _lastScan = _plugins.scan(_config.pluginDir); // the plugin manager logs what it loaded and refused
    // The balancer role: this node proxies to the app nodes (kernel/src/balancer).
    if (_cluster && _cluster->config().self().hasRole("balancer"))
    {
        _balancer = std::make_unique<balancer::Balancer>(_cluster->registry(), _plugins, _config, _mbeans.get());
        _balancer->start();
    }

    Poco::JSON::Object::Ptr report = new Poco::JSON::Object;
    auto contexts = buildContexts(_config, nullptr, report);
    publish(_config, contexts);

    _sweeper = std::make_unique<SessionSweeper>(std::chrono::milliseconds(_config.sweepIntervalMs),
                                                Poco::Logger::get("mt.session"));
    syncSweeper(nullptr, *contexts);
    _sweeper->start();

    _statusController = std::make_unique<monitor::ClusterStatusController>(*this, _config);
    _dispatcher = std::make_unique<KernelDispatcher>(*this, _config.adminPort == 0);
    _http = std::make_unique<http::HttpServer>(limitsBehindBalancer(_config.http, _cluster.get()), *_dispatcher,
                                               Poco::Logger::get("mt.http"));
    _http->setAccessLog([this](const http::AccessRecord& record) {
        _statusController->recordResponse(record);
        _logging.logAccess(record);
    });
    // From here a worker may run a reload, which assigns _config under
    // _reloadMutex: what is left of start reads the copy.
    const ServerConfig startup = _config;
    // The admin listener first: once the HTTP port answers (what readiness
    // probes and the tests poll), every endpoint of the node is there.
    if (startup.adminPort != 0)
    {
        http::ServerLimits adminLimits = startup.http;
        adminLimits.host = startup.adminHost;
        adminLimits.port = startup.adminPort;
        adminLimits.threads = 2;
        adminLimits.name = "admin";
        _adminDispatcher = std::make_unique<KernelDispatcher>(*this, true, true);
        _admin = std::make_unique<http::HttpServer>(adminLimits, *_adminDispatcher, Poco::Logger::get("mt.admin"));
        _admin->start();
        _logger.information("admin endpoints on http://%s:%hu/admin/", startup.adminHost, _admin->port());
    }
    _http->start();
    _mbeanExporter->exportHttp(*_http, startup.http, "http");
    if (_admin) _mbeanExporter->exportHttp(*_admin, startup.http, "admin");
    if (_cluster) _mbeanExporter->exportCluster(*_cluster);
    // Join the cluster only once this node can serve what peers will send it.
    if (_cluster) _cluster->start();
    _started = true;
    _logger.information("node '%s' listening on http://%s:%hu with %d workers, %z context(s)", startup.nodeName,
                        startup.http.host, _http->port(), startup.http.threads, contexts->contexts().size());
}

int Kernel::stop()
{
    int drainTimeoutMs;
    {
        // Under the reload lock: a reload (a worker's, or SIGHUP's thread)
        // either finished before, and the state it published goes below, or
        // sees _stopping and refuses. It may also have changed the value.
        std::lock_guard<std::mutex> lock(_reloadMutex);
        _stopping = true;
        drainTimeoutMs = _config.drainTimeoutMs;
    }
    // Not started: nothing, or what a start that threw part way had built
    // (contexts, threads, listeners). It goes all the same, and now: the
    // contexts' plugin objects unregister from _mbeans when they go.
    const bool started = std::exchange(_started, false);
    if (started) _logger.information("stopping: draining requests in flight for up to %d ms", drainTimeoutMs);
    int cut = 0;
    // Leave first: peers mark this node LEFT at once and stop sending it work while it drains.
    if (_cluster) _cluster->stop();
    if (_admin) _admin->stop(0);
    if (_http) cut = _http->stop(drainTimeoutMs);
    if (_statusController) _statusController->stop(); // its peer fetches read the cluster registry
    if (_balancer) _balancer->stop();
    if (_sweeper) _sweeper->stop();
    if (started && cut > 0)
        _logger.warning("stopped; %d request(s) did not finish within the drain time", cut);
    else if (started)
        _logger.information("stopped cleanly");
    // Contexts (and the plugin objects in them) go before the plugin manager.
    _mbeanExporter.reset(); // its MBeans read _http and _cluster
    std::atomic_store(&_state, std::shared_ptr<const RuntimeState>());
    // Its strategy is a plugin object too: it may unregister MBeans as it goes.
    _balancer.reset();
    _http.reset();
    _admin.reset();
    _sweeper.reset();
    return cut;
}

http::ServerStats Kernel::httpStats() const
{
    return _http ? _http->stats() : http::ServerStats{};
}

unsigned short Kernel::httpPort() const
{
    return _http ? _http->port() : 0;
}

unsigned short Kernel::adminPort() const
{
    return _admin ? _admin->port() : 0;
}

namespace {

/// What `config` sets for store plugin `store` (its store.<store>.* keys).
std::map<std::string, std::string> storeSettings(const ServerConfig& config, const std::string& store)
{
    auto it = config.storeConfigs.find(store);
    return it == config.storeConfigs.end() ? std::map<std::string, std::string>{} : it->second;
}

/// A reload that changed nothing: why, in the report.
void refuseReload(Poco::JSON::Object& report, const std::string& error)
{
    report.set("status", "refused");
    report.set("error", error);
    if (!report.has("changed")) report.set("changed", Poco::JSON::Array::Ptr(new Poco::JSON::Array));
}

/// Key by key, what a reload changes, and whether it takes effect now
/// ("live") or after a restart; `restart` gets the keys of the second kind.
Poco::JSON::Array::Ptr changedKeys(const ServerConfig& before, const ServerConfig& after, Poco::JSON::Array& restart,
                                   Poco::Logger& logger)
{
    Poco::JSON::Array::Ptr changed = new Poco::JSON::Array;
    std::set<std::string> keys;
    for (const auto& [key, value] : before.properties) keys.insert(key);
    for (const auto& [key, value] : after.properties) keys.insert(key);
    for (const auto& key : keys)
    {
        const std::string was = before.value(key), is = after.value(key);
        if (was == is) continue;
        const KeySpec* spec = ConfigSchema::find(key);
        const bool live = spec && spec->live;
        Poco::JSON::Object::Ptr entry = new Poco::JSON::Object;
        entry->set("key", key);
        entry->set("old", was);
        entry->set("new", is);
        entry->set("applied", live ? "live" : "restart required");
        changed->add(entry);
        if (!live) restart.add(key);
        logger.information("reload: %s: '%s' -> '%s' (%s)", key, was, is,
                           std::string(live ? "applied" : "takes effect after a restart"));
    }
    return changed;
}

/// The configuration that runs after a reload: its live values, and the
/// values that need a restart as they were (they keep describing what runs).
ServerConfig appliedConfig(ServerConfig next, const ServerConfig& running)
{
    next.http = running.http;
    next.nodeName = running.nodeName;
    next.adminHost = running.adminHost;
    next.adminPort = running.adminPort;
    next.cookieName = running.cookieName;
    next.sweepIntervalMs = running.sweepIntervalMs;
    next.logFile = running.logFile;
    next.accessLogFile = running.accessLogFile;
    return next;
}

} // namespace

std::shared_ptr<DistributedSessionManager> Kernel::makeSessions(const ContextConfig& context, const ServerConfig& config,
                                                                 std::shared_ptr<SessionStoreAdapter> store)
{
    if (!store)
    {
        PluginInfo info = _plugins.info("store", context.store);
        std::map<std::string, std::string> settings = storeSettings(config, context.store);
        checkPluginSettings(info, settings, "store." + context.store + ".");
        PluginContextImpl pluginContext(config.nodeName, "mt.store." + context.store, settings, _mbeans.get());
        pluginContext.setScope(context.path.empty() ? "/" : context.path); // one store per context: keys stay apart
        store = _plugins.create<SessionStoreAdapter>("store", context.store, pluginContext);
    }

    SessionSettings sessionSettings;
    sessionSettings.nodeName = config.nodeName;
    sessionSettings.contextPath = context.path.empty() ? "/" : context.path;
    sessionSettings.cookieName = config.cookieName;
    sessionSettings.cookieSecure = config.cookieSecure;
    sessionSettings.maxInactiveInterval = context.sessionTimeout;
    sessionSettings.rewriteRoute = context.rewriteRoute;
    sessionSettings.flushImmediate = context.flushImmediate;
    sessionSettings.routes = _routes;
    return std::make_shared<DistributedSessionManager>(sessionSettings, std::move(store), _clock,
                                            Poco::Logger::get("mt.session." + context.id));
}

std::shared_ptr<const ContextTable> Kernel::buildContexts(const ServerConfig& config, const ContextTable* previous,
                                                          Poco::JSON::Object::Ptr report)
{
    std::vector<std::shared_ptr<WebContext>> contexts;
    Poco::JSON::Array::Ptr deployed = new Poco::JSON::Array, redeployed = new Poco::JSON::Array,
                           kept = new Poco::JSON::Array, undeployed = new Poco::JSON::Array;
    for (const auto& context : config.contexts)
    {
        std::string where = "context '" + context.id + "'";
        try
        {
            std::shared_ptr<WebContext> old = previous ? previous->byId(context.id) : nullptr;
            // A plugin file changed on disk, or a new plugin directory, means
            // new code: the context is made anew from what the scan loaded.
            const bool appReloaded = old && old->application() && !_plugins.isCurrent(old->application());
            // During a reload _config is still the configuration `old` was made with.
            const bool sameStore = old && old->config().path == context.path && old->config().store == context.store &&
                                   storeSettings(_config, context.store) == storeSettings(config, context.store) &&
                                   _plugins.isCurrent(old->sessionManager()->sharedStore());
            const bool sameSessionSettings = sameStore && old->config().sessionTimeout == context.sessionTimeout &&
                                             old->sessionManager()->settings().cookieSecure == config.cookieSecure;
            if (old && old->config() == context && !appReloaded && sameSessionSettings)
            {
                contexts.push_back(old);
                kept->add(context.id);
                continue;
            }
            // A redeploy keeps the sessions while where they are stored does not
            // change: a new timeout (for sessions made from now on) or cookie
            // flag makes a new manager over the same store.
            auto sessions = sameSessionSettings ? old->sessionManager()
                                                : makeSessions(context, config, sameStore ? old->sessionManager()->sharedStore() : nullptr);
            contexts.push_back(std::make_shared<WebContext>(context, config.nodeName, _plugins, _mbeans.get(), sessions,
                                                            Poco::Logger::get("mt.context")));
            (old ? redeployed : deployed)->add(context.id);
        }
        catch (const std::exception& e)
        {
            throw ConfigError(where + " could not be deployed: " + describe(e));
        }
    }
    if (previous)
        for (const auto& old : previous->contexts())
            if (std::none_of(config.contexts.begin(), config.contexts.end(),
                             [&](const ContextConfig& c) { return c.id == old->config().id; }))
                undeployed->add(old->config().id);
    Poco::JSON::Object::Ptr json = new Poco::JSON::Object;
    json->set("deployed", deployed);
    json->set("redeployed", redeployed);
    json->set("kept", kept);
    json->set("undeployed", undeployed);
    report->set("contexts", json);
    return std::make_shared<const ContextTable>(std::move(contexts));
}

void Kernel::publish(const ServerConfig& config, std::shared_ptr<const ContextTable> contexts)
{
    auto state = std::make_shared<RuntimeState>();
    state->contexts = std::move(contexts);
    state->adminToken = config.adminToken;
    state->adminAllowRemote = config.adminAllowRemote;
    state->cookieName = config.cookieName;
    auto table = state->contexts;
    std::atomic_store(&_state, std::shared_ptr<const RuntimeState>(std::move(state)));
    if (_mbeanExporter) _mbeanExporter->syncContexts(*table); // Manager MBeans follow deploy, undeploy, reload
}

void Kernel::syncSweeper(const ContextTable* previous, const ContextTable& next)
{
    std::set<DistributedSessionManager*> before, after;
    if (previous)
        for (const auto& c : previous->contexts()) before.insert(c->sessionManager().get());
    for (const auto& c : next.contexts()) after.insert(c->sessionManager().get());
    for (auto* m : after)
        if (!before.count(m)) _sweeper->add(*m);
    for (auto* m : before)
        if (!after.count(m)) _sweeper->remove(*m);
}

/// Everything a reload applies, made before anything changes.
struct Kernel::ReloadPlan
{
    ServerConfig next;
    std::optional<ClusterConfig> cluster;
    ScanReport scan;
    std::shared_ptr<const ContextTable> contexts;
    balancer::Balancer::Prepared balancer;
    Poco::JSON::Array::Ptr changed;
    Poco::JSON::Array::Ptr restart = new Poco::JSON::Array;
};

Kernel::ReloadResult Kernel::reload()
{
    std::lock_guard<std::mutex> lock(_reloadMutex);
    ReloadResult result;
    result.report = new Poco::JSON::Object;
    if (_stopping)
    {
        result.stopping = true;
        refuseReload(*result.report, "the server is stopping");
        return result;
    }
    // The scan changes the plugin registry; a refusal after it puts it back.
    const PluginManager::Snapshot pluginsBefore = _plugins.snapshot();
    bool scanned = false;
    ReloadPlan plan;
    try
    {
        plan = planReload(result.report, scanned);
        if (plan.cluster)
        {
            // The last step that may refuse; it changes nothing when it does.
            result.report->set("cluster", toJsonArray(_cluster->reload(*plan.cluster)));
            _routes->set(routesOf(*plan.cluster));
        }
    }
    catch (const std::exception& e)
    {
        if (scanned) _plugins.restore(pluginsBefore);
        // What the scan and the contexts would have done did not happen.
        result.report->remove("plugins");
        result.report->remove("contexts");
        refuseReload(*result.report, describe(e));
        _logger.error("reload refused, nothing changed: %s", describe(e));
        return result;
    }
    applyReload(std::move(plan), *result.report);
    result.ok = true;
    return result;
}

Kernel::ReloadPlan Kernel::planReload(Poco::JSON::Object::Ptr report, bool& scanned)
{
    ReloadPlan plan;
    plan.next = ConfigLoader::load(_configFile, _overrides, _defaultPluginDir);
    if (_cluster)
    {
        plan.cluster = ClusterConfigLoader::load(plan.next);
        _cluster->checkReload(*plan.cluster); // before the scan: a refused reload must leave everything as it was
    }
    scanned = true; // from here a refusal has a registry to put back, even if the scan itself throws
    plan.scan = _plugins.scan(plan.next.pluginDir);
    report->set("plugins", scanJson(plan.scan));
    if (_balancer) plan.balancer = _balancer->prepare(plan.next); // a bad strategy refuses the reload
    auto current = state();
    plan.contexts = buildContexts(plan.next, current ? current->contexts.get() : nullptr, report);
    plan.changed = changedKeys(_config, plan.next, *plan.restart, _logger);
    return plan;
}

void Kernel::applyReload(ReloadPlan plan, Poco::JSON::Object& report)
{
    if (_balancer)
    {
        Poco::JSON::Object::Ptr balancerJson = new Poco::JSON::Object;
        balancerJson->set("strategy", plan.balancer.settings->strategy);
        balancerJson->set("strategyRenewed", plan.balancer.strategy != nullptr);
        report.set("balancer", balancerJson);
        _balancer->apply(std::move(plan.balancer));
    }
    _logging.apply(plan.next);
    if (_statusController) _statusController->configure(plan.next);
    auto current = state();
    auto previousTable = current ? current->contexts : nullptr;
    publish(plan.next, plan.contexts);
    syncSweeper(previousTable.get(), *plan.contexts);
    _config = appliedConfig(std::move(plan.next), _config);
    _lastScan = plan.scan;

    report.set("status", "reloaded");
    report.set("changed", plan.changed);
    report.set("restartRequired", plan.restart);
}

} // namespace mt
