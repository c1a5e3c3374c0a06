#pragma once
// Routes a request: the server's own endpoints (/ping, /health, /admin/*),
// then the context with the longest matching path: its handlers, then its
// static files, else 404. Sets up the request's session scope.
// Thread-safety: dispatch() runs concurrently; it reads one RuntimeState snapshot.

#include "http/Dispatcher.h"
#include "util/ThrottledLog.h"

#include <string>
#include <vector>

namespace mt {

class Kernel;

class KernelDispatcher : public http::Dispatcher
{
public:
    /// `serveAdmin`: this listener answers /admin/*. `adminOnly`: it answers nothing else but /ping and /health.
    KernelDispatcher(Kernel& kernel, bool serveAdmin, bool adminOnly = false);
    void dispatch(http::ServerRequest& request, http::ServerResponse& response) override;

    /// The value of cookie `name` in a Cookie header ("" if absent).
    static std::string cookieValue(const std::string& cookieHeader, const std::string& name);
    /// Every value of cookie `name` in one Cookie header, in order (a browser
    /// sends one per path or domain that set it).
    static std::vector<std::string> cookieValues(const std::string& cookieHeader, const std::string& name);

private:
    void handleAdmin(http::ServerRequest& request, http::ServerResponse& response);
    void handleCluster(http::ServerRequest& request, http::ServerResponse& response);
    void handleContext(http::ServerRequest& request, http::ServerResponse& response);

    Kernel& _kernel;
    bool _serveAdmin;
    bool _adminOnly;
    ThrottledLog _storeRefusals; // a store failing fails every request that needs a session
};

} // namespace mt
