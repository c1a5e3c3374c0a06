#include "balancer/Balancer.h"

#include "mt/ThreadName.h"
#include "server/PluginContextImpl.h"
#include "util/Clock.h"
#include "util/Errors.h"

#include <Poco/JSON/Array.h>
#include <Poco/Net/SocketAddress.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace mt::balancer {

namespace {

} // namespace

Balancer::Upstream::Upstream(const ClusterNode& node, const sockaddr_storage& address, socklen_t length)
    : name(node.name), hostPort(node.host + ":" + std::to_string(node.httpPort)), pool(address, length)
{
}

Balancer::Balancer(ClusterRegistry& registry, PluginManager& plugins, const ServerConfig& config, MBeanRegistry* mbeans)
    : _registry(registry),
      _plugins(plugins),
      _mbeans(mbeans),
      _logger(Poco::Logger::get("mt.balancer")),
      _cookieName(config.cookieName)
{
    auto settings = std::make_shared<const BalancerSettings>(BalancerSettings::from(config));
    _core.setSettings(settings->core, steadyNowMs());
    _core.setStrategy(makeStrategy(*settings, config));
    _settings = settings;
}

Balancer::~Balancer()
{
    stop();
}

std::shared_ptr<LoadBalancer> Balancer::makeStrategy(const BalancerSettings& settings, const ServerConfig& config) const
{
    if (!_plugins.has("lb", settings.strategy))
    {
        std::string known;
        for (const auto& info : _plugins.plugins())
            if (info.kind == "lb") known += (known.empty() ? "" : ", ") + info.name;
        throw ConfigError("balancer.strategy: no load-balancing plugin named '" + settings.strategy +
                          "' (available: " + (known.empty() ? "none" : known) + ")");
    }
    PluginInfo info = _plugins.info("lb", settings.strategy);
    auto strategySettings = settings.strategySettings;
    for (const auto& [key, value] : strategySettings)
        if (std::find(info.configKeys.begin(), info.configKeys.end(), key) == info.configKeys.end())
            throw ConfigError("lb." + settings.strategy + "." + key + ": plugin lb/" + settings.strategy +
                              " has no setting '" + key + "'");
    // balancer.hashKey is the documented switch; a strategy that declares the key gets it.
    if (std::find(info.configKeys.begin(), info.configKeys.end(), "hashKey") != info.configKeys.end() &&
        !strategySettings.count("hashKey"))
        strategySettings["hashKey"] = settings.hashKey;
    PluginContextImpl context(config.nodeName, "mt.lb." + settings.strategy, strategySettings, _mbeans);
    return _plugins.create<LoadBalancer>("lb", settings.strategy, context);
}

void Balancer::start()
{
    _listener = _registry.addListener([this](const ClusterRegistry::Change&) {
        // Called under the registry's notification order and must not block: just wake the thread.
        std::lock_guard<std::mutex> lock(_mutex);
        _dirty = true;
        _wake.notify_one();
    });
    refreshMembers();
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _dirty = false;
    }
    _thread = std::thread([this] {
        nameThisThread("balancer-tick");
        run();
    });
    _logger.information("balancer: strategy %s, %z app node(s) selectable", _settings->strategy,
                        _core.candidates()->size());
}

void Balancer::stop()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_stopping) return;
        _stopping = true;
        _wake.notify_one();
    }
    if (_listener) _registry.removeListener(_listener);
    if (_thread.joinable()) _thread.join();
    // Hold the map: a range-for over `*atomic_load(...)` would iterate a map
    // whose owner, the temporary, is already gone.
    auto upstreams = std::atomic_load(&_upstreams);
    for (const auto& [name, upstream] : *upstreams) upstream->pool.closeAll();
}

Balancer::Prepared Balancer::prepare(const ServerConfig& config) const
{
    Prepared prepared;
    prepared.settings = std::make_shared<const BalancerSettings>(BalancerSettings::from(config));
    // A strategy whose plugin file changed on disk (or moved to a new plugin
    // directory) is made anew, from the code the scan just loaded.
    if (!prepared.settings->sameStrategy(*std::atomic_load(&_settings)) || !_plugins.isCurrent(_core.strategy()))
        prepared.strategy = makeStrategy(*prepared.settings, config);
    return prepared;
}

void Balancer::apply(Prepared prepared)
{
    _core.setSettings(prepared.settings->core, steadyNowMs());
    if (prepared.strategy)
    {
        _core.setStrategy(prepared.strategy);
        _logger.information("balancer: strategy now %s", prepared.settings->strategy);
    }
    std::atomic_store(&_settings, prepared.settings);
}

void Balancer::refreshMembers()
{
    auto snapshot = _registry.snapshot();
    {
        // Addresses first, so a node is never selectable without its pool.
        std::lock_guard<std::mutex> lock(_upstreamsMutex);
        auto current = std::atomic_load(&_upstreams);
        auto next = std::make_shared<Upstreams>();
        for (const auto& node : *snapshot)
        {
            if (!node.hasRole("app")) continue;
            auto it = current->find(node.name);
            if (it != current->end() && it->second->hostPort == node.host + ":" + std::to_string(node.httpPort))
            {
                (*next)[node.name] = it->second;
                continue;
            }
            try
            {
                Poco::Net::SocketAddress address(node.host, node.httpPort);
                sockaddr_storage storage{};
                std::memcpy(&storage, address.addr(), address.length());
                (*next)[node.name] = std::make_shared<Upstream>(node, storage, address.length());
            }
            catch (const std::exception& e)
            {
                _logger.error("balancer: cannot resolve %s's address %s: %s", node.name, node.host, describe(e));
            }
        }
        for (const auto& [name, upstream] : *current)
            if (!next->count(name)) upstream->pool.closeAll();
        std::atomic_store(&_upstreams, std::shared_ptr<const Upstreams>(std::move(next)));
    }
    std::vector<ClusterNode> members;
    auto upstreams = std::atomic_load(&_upstreams);
    for (const auto& node : *snapshot)
        if (upstreams->count(node.name)) members.push_back(node);
    for (const auto& name : _core.setMembers(members, steadyNowMs()))
        if (auto u = upstream(name))
        {
            u->pool.closeAll(); // DOWN/SUSPECT/LEFT: its kept connections lead nowhere
            _logger.information("balancer: %s no longer selectable; its pooled connections closed", name);
        }
}

void Balancer::run()
{
    std::unique_lock<std::mutex> lock(_mutex);
    while (!_stopping)
    {
        _wake.wait_for(lock, std::chrono::milliseconds(100), [this] { return _dirty || _stopping; });
        if (_stopping) break;
        bool dirty = _dirty;
        _dirty = false;
        lock.unlock();
        try
        {
            if (dirty) refreshMembers();
            TimeMs now = steadyNowMs();
            _core.tick(now);
            auto settings = std::atomic_load(&_settings);
            auto upstreams = std::atomic_load(&_upstreams);
            for (const auto& [name, upstream] : *upstreams) upstream->pool.prune(settings->pool, now);
        }
        catch (const std::exception& e)
        {
            _logger.error("balancer: refresh failed: %s", describe(e));
        }
        lock.lock();
    }
}

std::shared_ptr<Balancer::Upstream> Balancer::upstream(const std::string& name) const
{
    auto upstreams = std::atomic_load(&_upstreams);
    auto it = upstreams->find(name);
    return it == upstreams->end() ? nullptr : it->second;
}

Poco::JSON::Object::Ptr Balancer::statsJson() const
{
    auto settings = std::atomic_load(&_settings);
    Poco::JSON::Object::Ptr json = new Poco::JSON::Object;
    json->set("strategy", settings->strategy);
    json->set("hashKey", settings->hashKey);
    json->set("activeRequests", _active.load());
    json->set("activeRetries", _activeRetries.load());
    json->set("noNodeAvailable", _noNode.load());
    Poco::JSON::Array::Ptr nodes = new Poco::JSON::Array;
    auto upstreams = std::atomic_load(&_upstreams);
    for (const auto& [name, upstream] : *upstreams)
    {
        Poco::JSON::Object::Ptr node = upstream->stats.toJson();
        node->set("name", name);
        node->set("address", upstream->hostPort);
        node->set("selectable", _core.selectable(name));
        node->set("ejected", _core.ejected(name));
        node->set("weight", _core.weight(name));
        node->set("poolOpen", upstream->pool.open());
        node->set("poolIdle", upstream->pool.idle());
        nodes->add(node);
    }
    json->set("nodes", nodes);
    return json;
}

} // namespace mt::balancer
