#include "server/Kernel.h"

#include "balancer/Balancer.h"
#include "cluster/ClusterConfigLoader.h"
#include "config/ConfigLoader.h"
#include "config/ConfigSchema.h"
#include "monitor/JolokiaHandler.h"
#include "monitor/MBeanExporter.h"
#include "monitor/ClusterStatusController.h"
#include "mt/ThreadName.h"
#include "server/KernelDispatcher.h"
#include "server/PluginContextImpl.h"
#include "util/Errors.h"

#include <Poco/JSON/Array.h>

#include <algorithm>
#include <optional>
#include <future>
#include <set>
#include <utility>

namespace mt {

namespace {

Poco::JSON::Array::Ptr toArray(const std::vector<std::string>& items)
{
    Poco::JSON::Array::Ptr array = new Poco::JSON::Array;
    for (const auto& item : items) array->add(item);
    return array;
}

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
    json->set("loaded", toArray(scan.loaded));
    json->set("reloaded", toArray(scan.reloaded));
    json->set("removed", toArray(scan.removed));
    json->set("errors", toArray(scan.errors));
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
        _cluster = std::make_unique<ClusterService>(ClusterConfigLoader::load(_config), _clock);
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
    auto refuseEarly = [&](const std::exception& e) {
        refuseReload(*result.report, describe(e));
        _logger.error("reload refused, nothing changed: %s", describe(e));
        return result;
    };
    ServerConfig next;
    std::optional<ClusterConfig> nextCluster;
    try
    {
        next = ConfigLoader::load(_configFile, _overrides, _defaultPluginDir);
        if (_cluster) nextCluster = ClusterConfigLoader::load(next);
        // Before anything changes: a refused reload must leave everything as it was.
        if (nextCluster) _cluster->checkReload(*nextCluster);
    }
    catch (const std::exception& e)
    {
        return refuseEarly(e);
    }

    // The scan changes the plugin registry; a refusal from here on puts it back.
    const PluginManager::Snapshot pluginsBefore = _plugins.snapshot();
    auto refuse = [&](const std::exception& e) {
        _plugins.restore(pluginsBefore);
        // What the scan and the contexts would have done did not happen.
        result.report->remove("plugins");
        result.report->remove("contexts");
        return refuseEarly(e);
    };
    ScanReport scan;
    try
    {
        scan = _plugins.scan(next.pluginDir);
    }
    catch (const std::exception& e)
    {
        return refuse(e);
    }
    result.report->set("plugins", scanJson(scan));

    auto current = state();
    std::shared_ptr<const ContextTable> contexts;
    balancer::Balancer::Prepared balancerNext;
    try
    {
        if (_balancer) balancerNext = _balancer->prepare(next); // a bad strategy refuses the reload
        contexts = buildContexts(next, current ? current->contexts.get() : nullptr, result.report);
    }
    catch (const std::exception& e)
    {
        return refuse(e);
    }

    Poco::JSON::Array::Ptr restart = new Poco::JSON::Array;
    Poco::JSON::Array::Ptr changed = changedKeys(_config, next, *restart, _logger);

    if (nextCluster)
    {
        try
        {
            result.report->set("cluster", toArray(_cluster->reload(*nextCluster)));
            _routes->set(routesOf(*nextCluster));
        }
        catch (const std::exception& e)
        {
            return refuse(e);
        }
    }
    if (_balancer)
    {
        Poco::JSON::Object::Ptr balancerJson = new Poco::JSON::Object;
        balancerJson->set("strategy", balancerNext.settings->strategy);
        balancerJson->set("strategyRenewed", balancerNext.strategy != nullptr);
        result.report->set("balancer", balancerJson);
        _balancer->apply(std::move(balancerNext));
    }
    _logging.apply(next);
    if (_statusController) _statusController->configure(next);
    auto previousTable = current ? current->contexts : nullptr;
    publish(next, contexts);
    syncSweeper(previousTable.get(), *contexts);
    _config = appliedConfig(std::move(next), _config);
    _lastScan = scan;

    result.ok = true;
    result.report->set("status", "reloaded");
    result.report->set("changed", changed);
    result.report->set("restartRequired", restart);
    return result;
}

Poco::JSON::Object::Ptr Kernel::health() const
{
    Poco::JSON::Object::Ptr components = new Poco::JSON::Object;
    bool down = _stopping;

    Poco::JSON::Object::Ptr httpJson = new Poco::JSON::Object;
    httpJson->set("status", _stopping ? "OUT_OF_SERVICE" : "UP");
    if (_http)
    {
        auto stats = _http->stats();
        Poco::JSON::Object::Ptr details = new Poco::JSON::Object;
        details->set("port", _http->port());
        details->set("openConnections", stats.openConnections);
        details->set("activeRequests", stats.activeRequests);
        details->set("requests", stats.requests);
        details->set("errors", stats.errors);
        httpJson->set("details", details);
    }
    components->set("http", httpJson);

    Poco::JSON::Object::Ptr pluginsJson = new Poco::JSON::Object;
    pluginsJson->set("status", "UP");
    Poco::JSON::Object::Ptr pluginDetails = new Poco::JSON::Object;
    Poco::JSON::Array::Ptr loaded = new Poco::JSON::Array;
    for (const auto& info : _plugins.plugins()) loaded->add(info.kind + "/" + info.name + " " + info.version);
    pluginDetails->set("loaded", loaded);
    pluginDetails->set("errors", toArray(_lastScan.errors));
    pluginsJson->set("details", pluginDetails);
    components->set("plugins", pluginsJson);

    if (_balancer)
    {
        // A balancer with no node to send to cannot serve: an outer load
        // balancer or an orchestrator should know, as it would of a dead one.
        Poco::JSON::Object::Ptr balancerJson = new Poco::JSON::Object;
        const std::size_t selectable = _balancer->selectableNodes();
        balancerJson->set("status", selectable ? "UP" : "DOWN");
        Poco::JSON::Object::Ptr details = new Poco::JSON::Object;
        details->set("selectableNodes", selectable);
        if (!selectable) details->set("reason", "no application node is UP and not ejected");
        balancerJson->set("details", details);
        components->set("balancer", balancerJson);
        down = down || !selectable;
    }

    Poco::JSON::Object::Ptr storesJson = new Poco::JSON::Object;
    Poco::JSON::Object::Ptr storeDetails = new Poco::JSON::Object;
    bool storesDown = false;
    auto probe = [](const std::shared_ptr<WebContext>& context) {
        try
        {
            std::string problem = context->sessions().store().healthProblem();
            return problem.empty() ? context->sessions().refusal() : problem;
        }
        catch (const std::exception& e)
        {
            return std::string(e.what());
        }
    };
    if (auto s = state())
    {
        // All at once: a store that cannot answer costs its timeout once,
        // not once per context that uses it.
        std::vector<std::future<std::string>> problems;
        for (const auto& context : s->contexts->contexts())
        {
            try
            {
                problems.push_back(std::async(std::launch::async, [probe, context] {
                    nameThisThread("health-probe");
                    return probe(context);
                }));
            }
            catch (const std::system_error&) // no thread to be had: ask here
            {
                std::promise<std::string> answered;
                answered.set_value(probe(context));
                problems.push_back(answered.get_future());
            }
        }
        std::size_t next = 0;
        for (const auto& context : s->contexts->contexts())
        {
            Poco::JSON::Object::Ptr one = new Poco::JSON::Object;
            const std::string problem = problems[next++].get();
            one->set("status", problem.empty() ? "UP" : "DOWN");
            one->set("store", context->config().store);
            one->set("path", context->path().empty() ? "/" : context->path());
            if (!problem.empty()) one->set("reason", problem);
            storesDown = storesDown || !problem.empty();
            storeDetails->set(context->config().id, one);
        }
    }
    storesJson->set("status", storesDown ? "DOWN" : "UP");
    storesJson->set("details", storeDetails);
    components->set("sessionStores", storesJson);
    down = down || storesDown;

    if (_cluster)
    {
        // Peers being down does not make this node unhealthy: the balancer
        // routes around them. The component says who is where.
        Poco::JSON::Object::Ptr clusterJson = new Poco::JSON::Object;
        Poco::JSON::Object::Ptr details = new Poco::JSON::Object;
        auto nodes = _cluster->registry().snapshot(); // held: see ClusterService::nodesJson
        for (const auto& node : *nodes) details->set(node.name, std::string(toString(node.status)));
        clusterJson->set("status", "UP");
        clusterJson->set("details", details);
        components->set("cluster", clusterJson);
    }

    Poco::JSON::Object::Ptr health = new Poco::JSON::Object;
    health->set("status", down ? (_stopping ? "OUT_OF_SERVICE" : "DOWN") : "UP");
    health->set("components", components);
    return health;
}

} // namespace mt
