#include "server/WebContext.h"

#include "config/PropertiesFile.h"
#include "plugin/PluginManager.h"
#include "server/PluginContextImpl.h"

#include <algorithm>
#include <atomic>

namespace mt {

/// Forwards session events to an application's listener until cut.
class WebContext::ListenerLink : public SessionListener
{
public:
    explicit ListenerLink(std::shared_ptr<SessionListener> target) : _target(std::move(target)) {}
    void cut() { std::atomic_store(&_target, std::shared_ptr<SessionListener>()); }
    void sessionCreated(const SessionData& d) override
    {
        if (auto t = std::atomic_load(&_target)) t->sessionCreated(d);
    }
    void sessionDestroyed(const SessionData& d, DestroyReason r) override
    {
        if (auto t = std::atomic_load(&_target)) t->sessionDestroyed(d, r);
    }
    void attributeAdded(const std::string& id, const std::string& n, const std::string& v) override
    {
        if (auto t = std::atomic_load(&_target)) t->attributeAdded(id, n, v);
    }
    void attributeReplaced(const std::string& id, const std::string& n, const std::string& o, const std::string& v) override
    {
        if (auto t = std::atomic_load(&_target)) t->attributeReplaced(id, n, o, v);
    }
    void attributeRemoved(const std::string& id, const std::string& n, const std::string& o) override
    {
        if (auto t = std::atomic_load(&_target)) t->attributeRemoved(id, n, o);
    }

private:
    std::shared_ptr<SessionListener> _target;
};

class WebContext::Registry : public HandlerRegistry
{
public:
    Registry(WebContext& context) : _context(context) {}
    void addHandler(const std::string& pattern, std::shared_ptr<RequestHandler> handler) override
    {
        if (!handler) throw std::invalid_argument("null handler for pattern '" + pattern + "'");
        _context._handlers.add(pattern, std::move(handler));
    }
    void addSessionListener(std::shared_ptr<SessionListener> listener) override
    {
        if (!listener) return;
        auto link = std::make_shared<ListenerLink>(std::move(listener));
        _context._listenerLinks.push_back(link);
        _context._sessions->addListener(link);
    }
    const std::string& contextPath() const override { return _context._config.path; }

private:
    WebContext& _context;
};

WebContext::WebContext(const ContextConfig& config, const std::string& nodeName, PluginManager& plugins, MBeanRegistry* mbeans,
                       std::shared_ptr<DistributedSessionManager> sessions, Poco::Logger& logger)
    : _config(config), _logger(logger), _sessions(std::move(sessions))
{
    std::string where = "context '" + config.id + "' (" + (config.path.empty() ? "/" : config.path) + ")";
    if (!config.docRoot.empty()) _static = std::make_unique<StaticFiles>(config.docRoot);
    if (config.app.empty()) return;

    PluginInfo info = plugins.info("app", config.app);
    for (const auto& [key, value] : config.appConfig)
        if (std::find(info.configKeys.begin(), info.configKeys.end(), key) == info.configKeys.end())
        {
            std::string allowed;
            for (const auto& k : info.configKeys) allowed += (allowed.empty() ? "" : ", ") + k;
            throw ConfigError("context." + config.id + ".app." + key + ": the application '" + config.app +
                              "' has no setting '" + key + "' (it accepts: " + (allowed.empty() ? "none" : allowed) + ")");
        }
    PluginContextImpl pluginContext(nodeName, "mt.app." + config.app, config.appConfig, mbeans);
    _app = plugins.create<WebApplication>("app", config.app, pluginContext);
    Registry registry(*this);
    try
    {
        _app->deploy(registry);
    }
    catch (...)
    {
        for (auto& link : _listenerLinks) link->cut(); // no destructor runs for a failed constructor
        throw;
    }
    _appDescription = info.kind + "/" + info.name + " " + info.version + " (" + info.file + ")";
    _logger.information("deployed %s: %s", where, _appDescription);
}

WebContext::~WebContext()
{
    for (auto& link : _listenerLinks) link->cut();
    if (!_app) return;
    try
    {
        _app->undeploy();
    }
    catch (const std::exception& e)
    {
        _logger.error("undeploy of context '%s' failed: %s", _config.id, std::string(e.what()));
    }
    _logger.information("undeployed context '%s'", _config.id);
}

} // namespace mt
