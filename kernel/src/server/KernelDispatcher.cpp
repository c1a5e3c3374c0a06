#include "server/KernelDispatcher.h"

#include "balancer/Balancer.h"
#include "http/ProtocolError.h"
#include "http/ServerRequest.h"
#include "http/ServerResponse.h"
#include "monitor/JolokiaHandler.h"
#include "monitor/ClusterStatusController.h"
#include "server/Kernel.h"
#include "session/SessionScope.h"

#include <Poco/JSON/Stringifier.h>
#include <Poco/NumberParser.h>
#include <Poco/String.h>

#include <algorithm>
#include <sstream>

namespace mt {

namespace {

std::string toJson(const Poco::JSON::Object::Ptr& object)
{
    std::ostringstream out;
    Poco::JSON::Stringifier::stringify(object, out, 2);
    out << "\n";
    return out.str();
}

bool constantTimeEquals(const std::string& a, const std::string& b)
{
    // Compare every byte whatever the first difference, so the time taken
    // says nothing about how much of a guessed token was right.
    if (b.empty()) return false;
    unsigned char diff = static_cast<unsigned char>(a.size() != b.size());
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % b.size()]);
    return diff == 0;
}

bool isLoopback(const Poco::Net::SocketAddress& address)
{
    return address.host().isLoopback() || address.host().toString().rfind("::ffff:127.", 0) == 0;
}

/// Clears the before-commit hook when the dispatch ends, whatever way it ends,
/// so the connection code never calls into a SessionScope that is gone.
class HookGuard
{
public:
    explicit HookGuard(http::ServerResponse& response) : _response(response) {}
    ~HookGuard() { _response.setBeforeCommit(nullptr); }

private:
    http::ServerResponse& _response;
};

} // namespace

KernelDispatcher::KernelDispatcher(Kernel& kernel, bool serveAdmin, bool adminOnly)
    : _kernel(kernel), _serveAdmin(serveAdmin), _adminOnly(adminOnly), _storeRefusals(Poco::Logger::get("mt.session"))
{
}

std::vector<std::string> KernelDispatcher::cookieValues(const std::string& header, const std::string& name)
{
    std::vector<std::string> values;
    std::size_t pos = 0;
    while (pos < header.size())
    {
        while (pos < header.size() && (header[pos] == ' ' || header[pos] == ';')) ++pos;
        auto end = header.find(';', pos);
        if (end == std::string::npos) end = header.size();
        auto eq = header.find('=', pos);
        if (eq != std::string::npos && eq < end && eq - pos == name.size() && header.compare(pos, name.size(), name) == 0)
        {
            std::string value = header.substr(eq + 1, end - eq - 1);
            while (!value.empty() && value.back() == ' ') value.pop_back();
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
            values.push_back(std::move(value));
        }
        pos = end + 1;
    }
    return values;
}

std::string KernelDispatcher::cookieValue(const std::string& header, const std::string& name)
{
    auto values = cookieValues(header, name);
    return values.empty() ? std::string() : values.front();
}

void KernelDispatcher::dispatch(http::ServerRequest& request, http::ServerResponse& response)
{
    const std::string& path = request.path();
    if (path == "/ping")
    {
        response.setHeader("Cache-Control", "no-store");
        response.sendBody("pong\n", "text/plain; charset=utf-8");
        return;
    }
    if (path == "/health")
    {
        auto health = _kernel.health();
        std::string status = health->getValue<std::string>("status");
        response.setStatus(status == "UP" ? 200 : 503);
        response.setHeader("Cache-Control", "no-store");
        response.sendBody(toJson(health), "application/json");
        return;
    }
    // Monitoring (read-only, public like /health): /cluster/status, /metrics, /status, the SSE event stream.
    if (auto* monitor = _kernel.statusController(); monitor && monitor->handles(request))
        return monitor->handle(request, response);
    if (path == "/cluster" || path.compare(0, 9, "/cluster/") == 0)
    {
        handleCluster(request, response);
        return;
    }
    // JMX over HTTP (monitor/JolokiaHandler.h): reads are public like /health;
    // write and exec need what /admin/* needs: the listener that serves it
    // (the admin port when there is one), a loopback client unless allowed,
    // and the token.
    if ((path == "/jolokia" || path.compare(0, 9, "/jolokia/") == 0) && _kernel.jolokia())
    {
        auto state = _kernel.state();
        std::string auth = request.header("Authorization");
        const bool adminListener = _adminOnly || _serveAdmin;
        bool mayWrite = state && !state->adminToken.empty() && adminListener &&
                        (_adminOnly || state->adminAllowRemote || isLoopback(request.clientAddress())) &&
                        auth.compare(0, 7, "Bearer ") == 0 && constantTimeEquals(auth.substr(7), state->adminToken);
        response.setHeader("Cache-Control", "no-store");
        return _kernel.jolokia()->handle(request, response, mayWrite);
    }
    if (path == "/admin" || path.compare(0, 7, "/admin/") == 0)
    {
        if (_serveAdmin)
            handleAdmin(request, response);
        else
            response.sendError(404, "not found (admin endpoints are on the admin port)");
        return;
    }
    if (_adminOnly)
    {
        response.sendError(404, "not found (this is the admin listener)");
        return;
    }
    if (auto* balancer = _kernel.balancer()) return balancer->proxy(request, response); // the balancer role
    handleContext(request, response);
}

void KernelDispatcher::handleAdmin(http::ServerRequest& request, http::ServerResponse& response)
{
    static Poco::Logger& logger = Poco::Logger::get("mt.admin");
    logger.debug("admin request %s %s from %s", request.method(), request.path(), request.clientAddress().toString());
    auto state = _kernel.state();
    if (!state) return response.sendError(503, "shutting down");
    if (!_adminOnly && !state->adminAllowRemote && !isLoopback(request.clientAddress()))
        return response.sendError(403, "admin endpoints answer loopback clients only (see admin.allowRemote)");
    if (state->adminToken.empty())
        return response.sendError(403, "admin endpoints are disabled: set admin.token in server.properties");
    std::string auth = request.header("Authorization");
    std::string token = auth.compare(0, 7, "Bearer ") == 0 ? auth.substr(7) : request.header("X-Admin-Token");
    if (!constantTimeEquals(token, state->adminToken))
    {
        response.setHeader("WWW-Authenticate", "Bearer realm=\"microtomcat-admin\"");
        return response.sendError(401, "admin token missing or wrong (Authorization: Bearer <admin.token>)");
    }
    if (request.path() == "/admin/reload")
    {
        if (request.method() != "POST")
        {
            response.setHeader("Allow", "POST");
            return response.sendError(405, "use POST");
        }
        auto result = _kernel.reload();
        response.setStatus(result.ok ? 200 : result.stopping ? 503 : 400);
        response.sendBody(toJson(result.report), "application/json");
        return;
    }
    response.sendError(404, "no such admin endpoint (known: POST /admin/reload)");
}

void KernelDispatcher::handleCluster(http::ServerRequest& request, http::ServerResponse& response)
{
    ClusterService* cluster = _kernel.cluster();
    if (!cluster) return response.sendError(404, "this node runs alone (no cluster.config)");
    response.setHeader("Cache-Control", "no-store");
    if (request.path() == "/cluster/nodes")
        return response.sendBody(toJson(cluster->nodesJson()), "application/json");
    if (request.path() == "/cluster/events")
    {
        Poco::UInt64 since = 0;
        std::string sinceText = request.parameter("since", "0");
        if (!Poco::NumberParser::tryParseUnsigned64(sinceText, since))
            return response.sendError(400, "since: expected a sequence number, got '" + sinceText + "'");
        return response.sendBody(toJson(cluster->eventsJson(since, 1000)), "application/json");
    }
    if (request.path() == "/cluster/balancer" && _kernel.balancer())
        return response.sendBody(toJson(_kernel.balancer()->statsJson()), "application/json");
    response.sendError(404, "known: /cluster/nodes, /cluster/events?since=N, /cluster/balancer (balancer nodes)");
}

void KernelDispatcher::handleContext(http::ServerRequest& request, http::ServerResponse& response)
{
    auto state = _kernel.state();
    if (!state) return response.sendError(503, "shutting down");
    const std::string& path = request.path();
    auto context = state->contexts->match(path);
    if (!context) return response.sendError(404, "no context is mounted at " + path);

    std::string pathInfo = path.substr(context->path().size());
    if (pathInfo.empty()) pathInfo = "/";
    request.setContext(context->path(), pathInfo);

    // Every session cookie, from every Cookie header, then the URL's id: the
    // first that names a session is the request's. Empty and repeated ones
    // are left out, so that they cannot use up the lookups.
    std::vector<std::string> requestedIds;
    auto add = [&](std::string id) {
        if (!id.empty() && std::find(requestedIds.begin(), requestedIds.end(), id) == requestedIds.end())
            requestedIds.push_back(std::move(id));
    };
    for (const auto& [name, value] : request.headers())
        if (Poco::icompare(name, "Cookie") == 0)
            for (auto& id : cookieValues(value, state->cookieName)) add(std::move(id));
    add(request.pathSessionId());
    SessionScope scope(context->sessions(), std::move(requestedIds),
                       [&response](const std::string& cookie) { response.addHeader("Set-Cookie", cookie); });
    HookGuard guard(response);
    request.setSessionSource(&scope);
    response.setBeforeCommit([&scope, &response] {
        try
        {
            // A write the store can finish on its own thread frees this
            // worker: the response leaves when the write is stored.
            if (auto pending = scope.commitAsync()) response.awaitBeforeSending(std::move(pending));
        }
        catch (const StoreUnavailable& e)
        {
            throw http::CommitRefused(503, std::string("session store unavailable: ") + e.what(), 5);
        }
    });
    try
    {
        if (RequestHandler* handler = context->handlerFor(pathInfo))
            handler->service(request, response);
        else if (!context->staticFiles() || !context->staticFiles()->serve(request, response, pathInfo))
            response.sendError(404, "not found: " + path);
        // Commit the session while the scope lives, even if the handler sent nothing.
        if (!response.committed()) response.sendBody("");
    }
    catch (const StoreUnavailable& e)
    {
        if (response.committed()) throw;
        response.setBeforeCommit(nullptr); // the store is down: committing again would only throw again
        _storeRefusals.warning("request " + path + " refused: session store unavailable: " + e.what());
        response.setHeader("Retry-After", "5");
        response.sendError(503, http::kSessionStoreUnavailable);
    }
    request.setSessionSource(nullptr);
}

} // namespace mt
