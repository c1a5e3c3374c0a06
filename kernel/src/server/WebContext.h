#pragma once
// One mounted web application: its handlers, static files, and sessions.
// Immutable once deployed (handlers are registered during construction), so
// requests use it without locks. Destroyed when the last request holding it
// ends: then the application's undeploy() runs.

#include "config/ServerConfig.h"
#include "mt/WebApplication.h"
#include "session/DistributedSessionManager.h"
#include "web/HandlerMapping.h"
#include "web/StaticFiles.h"

#include <memory>
#include <string>
#include <vector>

namespace mt {

class PluginManager;

class WebContext
{
public:
    /// Creates the application object and deploys it. `sessions` may be shared
    /// with the context this one replaces, so a redeploy keeps the sessions.
    /// Throws PluginError / ConfigError / std::exception naming the context.
    WebContext(const ContextConfig& config, const std::string& nodeName, PluginManager& plugins, MBeanRegistry* mbeans,
               std::shared_ptr<DistributedSessionManager> sessions, Poco::Logger& logger);
    ~WebContext();

    const ContextConfig& config() const { return _config; }
    const std::string& path() const { return _config.path; }
    DistributedSessionManager& sessions() { return *_sessions; }
    const std::shared_ptr<DistributedSessionManager>& sessionManager() const { return _sessions; }
    RequestHandler* handlerFor(const std::string& pathInfo) const { return _handlers.match(pathInfo); }
    const StaticFiles* staticFiles() const { return _static.get(); }
    /// The application plugin's object, or null for static files only.
    const std::shared_ptr<WebApplication>& application() const { return _app; }
    /// The application plugin's "kind/name version (file)", or "" for static only.
    const std::string& appDescription() const { return _appDescription; }

private:
    class Registry;
    class ListenerLink;
    // Declaration order matters: members die in reverse, and every object the
    // application made (handlers, listeners) must die before _app, whose
    // deleter may unload the plugin's library.
    ContextConfig _config;
    Poco::Logger& _logger;
    std::shared_ptr<DistributedSessionManager> _sessions;
    std::shared_ptr<WebApplication> _app;
    std::string _appDescription;
    HandlerMapping _handlers;
    std::unique_ptr<StaticFiles> _static;
    /// The session manager may outlive this context (it is handed to the
    /// context that replaces it), so it holds links, which are cut here.
    std::vector<std::shared_ptr<ListenerLink>> _listenerLinks;
};

} // namespace mt
