// Kernel::health: GET /health, one component per part of the node. Kept
// apart from Kernel.cpp (start, stop, reload) to keep both short.
#include "server/Kernel.h"

#include "balancer/Balancer.h"
#include "mt/ThreadName.h"
#include "util/JsonArrays.h"

#include <future>
#include <system_error>

namespace mt {

namespace {

Poco::JSON::Object::Ptr component(const std::string& status, Poco::JSON::Object::Ptr details)
{
    Poco::JSON::Object::Ptr json = new Poco::JSON::Object;
    json->set("status", status);
    if (details) json->set("details", details);
    return json;
}

Poco::JSON::Object::Ptr httpHealth(const http::HttpServer* http, bool stopping)
{
    Poco::JSON::Object::Ptr details;
    if (http)
    {
        auto stats = http->stats();
        details = new Poco::JSON::Object;
        details->set("port", http->port());
        details->set("openConnections", stats.openConnections);
        details->set("activeRequests", stats.activeRequests);
        details->set("requests", stats.requests);
        details->set("errors", stats.errors);
    }
    return component(stopping ? "OUT_OF_SERVICE" : "UP", details);
}

Poco::JSON::Object::Ptr pluginsHealth(const PluginManager& plugins, const ScanReport& lastScan)
{
    Poco::JSON::Object::Ptr details = new Poco::JSON::Object;
    Poco::JSON::Array::Ptr loaded = new Poco::JSON::Array;
    for (const auto& info : plugins.plugins()) loaded->add(info.kind + "/" + info.name + " " + info.version);
    details->set("loaded", loaded);
    details->set("errors", toJsonArray(lastScan.errors));
    return component("UP", details);
}

/// A balancer with no node to send to cannot serve: an outer load balancer
/// or an orchestrator should know, as it would of a dead one.
Poco::JSON::Object::Ptr balancerHealth(const balancer::Balancer& balancer)
{
    const std::size_t selectable = balancer.selectableNodes();
    Poco::JSON::Object::Ptr details = new Poco::JSON::Object;
    details->set("selectableNodes", selectable);
    if (!selectable) details->set("reason", "no application node is UP and not ejected");
    return component(selectable ? "UP" : "DOWN", details);
}

/// Why `context`'s sessions cannot be served now; empty if they can.
std::string storeProblem(const std::shared_ptr<WebContext>& context)
{
    try
    {
        std::string problem = context->sessions().store().healthProblem();
        return problem.empty() ? context->sessions().refusal() : problem;
    }
    catch (const std::exception& e)
    {
        return std::string(e.what());
    }
}

/// Every context's storeProblem(), asked all at once: a store that cannot
/// answer costs its timeout once, not once per context that uses it.
std::vector<std::string> storeProblems(const std::vector<std::shared_ptr<WebContext>>& contexts)
{
    std::vector<std::future<std::string>> pending;
    for (const auto& context : contexts)
    {
        try
        {
            pending.push_back(std::async(std::launch::async, [context] {
                nameThisThread("health-probe");
                return storeProblem(context);
            }));
        }
        catch (const std::system_error&) // no thread to be had: ask here
        {
            std::promise<std::string> answered;
            answered.set_value(storeProblem(context));
            pending.push_back(answered.get_future());
        }
    }
    std::vector<std::string> problems;
    for (auto& one : pending) problems.push_back(one.get());
    return problems;
}

Poco::JSON::Object::Ptr storesHealth(const RuntimeState* state)
{
    Poco::JSON::Object::Ptr details = new Poco::JSON::Object;
    bool down = false;
    if (state)
    {
        const auto& contexts = state->contexts->contexts();
        const std::vector<std::string> problems = storeProblems(contexts);
        for (std::size_t i = 0; i < contexts.size(); ++i)
        {
            const auto& context = contexts[i];
            const std::string& problem = problems[i];
            Poco::JSON::Object::Ptr one = new Poco::JSON::Object;
            one->set("status", problem.empty() ? "UP" : "DOWN");
            one->set("store", context->config().store);
            one->set("path", context->path().empty() ? "/" : context->path());
            if (!problem.empty()) one->set("reason", problem);
            down = down || !problem.empty();
            details->set(context->config().id, one);
        }
    }
    return component(down ? "DOWN" : "UP", details);
}

/// Peers being down does not make this node unhealthy: the balancer routes
/// around them. The component says who is where.
Poco::JSON::Object::Ptr clusterHealth(ClusterService& cluster)
{
    Poco::JSON::Object::Ptr details = new Poco::JSON::Object;
    auto nodes = cluster.registry().snapshot(); // held: see ClusterService::nodesJson
    for (const auto& node : *nodes) details->set(node.name, std::string(toString(node.status)));
    return component("UP", details);
}

} // namespace

Poco::JSON::Object::Ptr Kernel::health() const
{
    Poco::JSON::Object::Ptr components = new Poco::JSON::Object;
    bool down = _stopping;
    auto add = [&](const std::string& name, Poco::JSON::Object::Ptr json) {
        components->set(name, json);
        down = down || json->getValue<std::string>("status") == "DOWN";
    };
    add("http", httpHealth(_http.get(), _stopping));
    add("plugins", pluginsHealth(_plugins, _lastScan));
    if (_balancer) add("balancer", balancerHealth(*_balancer));
    add("sessionStores", storesHealth(state().get()));
    if (_cluster) add("cluster", clusterHealth(*_cluster));

    Poco::JSON::Object::Ptr health = new Poco::JSON::Object;
    health->set("status", down ? (_stopping ? "OUT_OF_SERVICE" : "DOWN") : "UP");
    health->set("components", components);
    return health;
}

} // namespace mt
