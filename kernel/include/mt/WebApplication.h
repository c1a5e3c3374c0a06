#pragma once
// An application plugin (kind "app"), mounted at a context path.

#include "mt/Plugin.h"
#include "mt/RequestHandler.h"
#include "mt/SessionListener.h"

#include <memory>
#include <string>

namespace mt {

/// Given to WebApplication::deploy. Thread-safety: deploy's thread only.
class MT_API HandlerRegistry
{
public:
    virtual ~HandlerRegistry();
    /// Servlet URL patterns, relative to the context path:
    ///   "/exact"  one path;  "/prefix/*"  the prefix and everything below;
    ///   "*.ext"   by extension;  "/"  the default (else static files, else 404).
    /// Longest exact, then longest prefix, then extension, then default wins.
    /// Throws std::invalid_argument for a malformed or duplicate pattern.
    virtual void addHandler(const std::string& pattern, std::shared_ptr<RequestHandler> handler) = 0;
    virtual void addSessionListener(std::shared_ptr<SessionListener> listener) = 0;
    virtual const std::string& contextPath() const = 0;
};

class MT_API WebApplication : public PluginObject
{
public:
    ~WebApplication() override;
    /// Called once when the context is mounted (at start or by reload).
    virtual void deploy(HandlerRegistry& registry) = 0;
    /// Called once when the context is unmounted; requests in flight have finished.
    virtual void undeploy() {}
};

} // namespace mt
