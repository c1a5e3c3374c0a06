#include "monitor/MBeanExporter.h"

#include "cluster/ClusterService.h"
#include "http/HttpServer.h"
#include "http/ServerLimits.h"
#include "server/ContextTable.h"
#include "session/DistributedSessionManager.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <algorithm>

namespace mt {

namespace {

/// `value` as an ObjectName value: as is when JMX allows it unquoted.
std::string nameValue(const std::string& value)
{
    if (!value.empty() && value.find_first_of(",=:\"*?\n") == std::string::npos) return value;
    return ObjectName::quote(value);
}

Poco::JSON::Object::Ptr nodeJson(const ClusterNode& node)
{
    Poco::JSON::Object::Ptr json = new Poco::JSON::Object;
    json->set("name", node.name);
    json->set("status", std::string(toString(node.status)));
    json->set("host", node.host);
    json->set("httpPort", node.httpPort);
    json->set("clusterPort", node.clusterPort);
    Poco::JSON::Array::Ptr roles = new Poco::JSON::Array;
    for (const auto& role : node.roles) roles->add(role);
    json->set("roles", roles);
    json->set("weight", node.weight);
    json->set("incarnation", node.incarnation);
    json->set("lastHeard", node.lastHeard);
    return json;
}

std::uint64_t countStatus(const std::vector<ClusterNode>& nodes, NodeStatus status)
{
    return std::uint64_t(std::count_if(nodes.begin(), nodes.end(), [&](const ClusterNode& n) { return n.status == status; }));
}

} // namespace

MBeanExporter::MBeanExporter(MBeanRegistry& registry) : _registry(registry)
{
}

MBeanExporter::~MBeanExporter()
{
    std::lock_guard<std::mutex> lock(_mutex);
    for (const auto& name : _fixed) _registry.unregisterMBean(name);
    for (const auto& [name, manager] : _managers) _registry.unregisterMBean(name);
}

void MBeanExporter::add(const ObjectName& name, std::shared_ptr<const MBean> mbean)
{
    _registry.replaceMBean(name, std::move(mbean));
    std::lock_guard<std::mutex> lock(_mutex);
    if (std::find(_fixed.begin(), _fixed.end(), name) == _fixed.end()) _fixed.push_back(name);
}

void MBeanExporter::exportHttp(const http::HttpServer& server, const http::ServerLimits& limits, const std::string& name)
{
    const http::HttpServer* s = &server;
    auto pool = std::make_shared<MBean>("Worker thread pool and connections of the " + name + " listener",
                                        "org.apache.tomcat.util.net.ThreadPool");
    pool->attribute("maxThreads", "int", "Worker threads running requests (http.threads)",
                    [threads = limits.threads] { return threads; })
        .attribute("currentThreadCount", "int", "Worker threads started (a fixed pool)",
                   [threads = limits.threads] { return threads; })
        .attribute("currentThreadsBusy", "int", "Worker threads running a request now",
                   [s] { return int(s->stats().activeRequests); })
        .attribute("connectionCount", "long", "Open connections, idle kept-alive ones included",
                   [s] { return Poco::Int64(s->stats().openConnections); })
        .attribute("maxConnections", "int", "Open connections allowed (http.maxConnections)",
                   [max = limits.maxConnections] { return max; })
        .attribute("port", "int", "The bound port", [s] { return int(s->port()); })
        .attribute("keepAlive", "boolean", "HTTP keep-alive enabled", [keepAlive = limits.keepAlive] { return keepAlive; });
    add(ObjectName("Catalina", {{"type", "ThreadPool"}, {"name", ObjectName::quote(name)}}), pool);

    auto processor = std::make_shared<MBean>("Request figures of the " + name + " listener",
                                             "org.apache.coyote.RequestGroupInfo");
    processor->attribute("requestCount", "long", "Requests answered", [s] { return Poco::UInt64(s->stats().requests); })
        .attribute("errorCount", "long", "Responses with status >= 500",
                   [s] { return Poco::UInt64(s->stats().errors); })
        .attribute("rejectedCount", "long", "Requests refused by the server itself (400/408/413/414/431)",
                   [s] { return Poco::UInt64(s->stats().rejected); })
        .attribute("processingTime", "long", "Total time spent in requests, ms",
                   [s] { return Poco::UInt64(s->stats().processingTimeUs / 1000); })
        .attribute("activeRequests", "int", "Requests in flight", [s] { return int(s->stats().activeRequests); });
    add(ObjectName("Catalina", {{"type", "GlobalRequestProcessor"}, {"name", ObjectName::quote(name)}}), processor);
}

void MBeanExporter::exportCluster(ClusterService& service)
{
    ClusterService* c = &service;
    auto cluster = std::make_shared<MBean>("Cluster membership as this node sees it", "mt.cluster.ClusterMBean");
    cluster->attribute("clusterName", "java.lang.String", "Name from cluster-config.xml",
                       [c] { return c->config().name; })
        .attribute("localMemberName", "java.lang.String", "This node's name", [c] { return c->config().localNode; })
        .attribute("incarnation", "long", "This node's incarnation (grows at every start)",
                   [c] { return Poco::UInt64(c->incarnation()); })
        .attribute("members", "[Ljava.lang.String;", "Every configured node",
                   [c] {
                       auto nodes = c->registry().snapshot(); // held while iterated
                       Poco::JSON::Array::Ptr names = new Poco::JSON::Array;
                       for (const auto& n : *nodes) names->add(n.name);
                       return Poco::Dynamic::Var(names);
                   })
        .attribute("memberCount", "int", "Configured nodes", [c] { return int(c->registry().snapshot()->size()); })
        .attribute("upCount", "int", "Nodes UP", [c] { return int(countStatus(*c->registry().snapshot(), NodeStatus::Up)); })
        .attribute("suspectCount", "int", "Nodes SUSPECT",
                   [c] { return int(countStatus(*c->registry().snapshot(), NodeStatus::Suspect)); })
        .attribute("downCount", "int", "Nodes DOWN, LEFT or never heard from",
                   [c] {
                       auto nodes = c->registry().snapshot();
                       return int(countStatus(*nodes, NodeStatus::Down) + countStatus(*nodes, NodeStatus::Left) +
                                  countStatus(*nodes, NodeStatus::Unknown));
                   });
    add(ObjectName("Catalina:type=Cluster"), cluster);

    auto status = std::make_shared<MBean>("Every node's status and incarnation", "mt.cluster.ClusterStatusMBean");
    status
        ->attribute("nodes", "java.util.List", "Every node: name, status, host, ports, roles, weight, incarnation, lastHeard",
                    [c] {
                        auto nodes = c->registry().snapshot();
                        Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
                        for (const auto& n : *nodes) list->add(nodeJson(n));
                        return Poco::Dynamic::Var(list);
                    })
        .attribute("statuses", "java.util.Map", "Node name to UNKNOWN, UP, SUSPECT, DOWN or LEFT",
                   [c] {
                       auto nodes = c->registry().snapshot();
                       Poco::JSON::Object::Ptr map = new Poco::JSON::Object;
                       for (const auto& n : *nodes) map->set(n.name, std::string(toString(n.status)));
                       return Poco::Dynamic::Var(map);
                   })
        .attribute("incarnations", "java.util.Map", "Node name to its last known incarnation",
                   [c] {
                       auto nodes = c->registry().snapshot();
                       Poco::JSON::Object::Ptr map = new Poco::JSON::Object;
                       for (const auto& n : *nodes) map->set(n.name, Poco::UInt64(n.incarnation));
                       return Poco::Dynamic::Var(map);
                   })
        .attribute("upCount", "int", "Nodes UP", [c] { return int(countStatus(*c->registry().snapshot(), NodeStatus::Up)); })
        .attribute("downCount", "int", "Nodes DOWN, LEFT or never heard from",
                   [c] {
                       auto nodes = c->registry().snapshot();
                       return int(countStatus(*nodes, NodeStatus::Down) + countStatus(*nodes, NodeStatus::Left) +
                                  countStatus(*nodes, NodeStatus::Unknown));
                   })
        .attribute("latestEventSequence", "long", "Sequence number of the latest membership event",
                   [c] { return c->eventsJson(0, 0)->get("latest"); });
    add(ObjectName("Catalina:type=ClusterStatus"), status);
}

ObjectName MBeanExporter::managerName(const std::string& contextPath)
{
    return ObjectName("Catalina", {{"type", "Manager"},
                                   {"context", nameValue(contextPath.empty() ? "/" : contextPath)},
                                   {"host", "localhost"}});
}

std::shared_ptr<MBean> MBeanExporter::makeManager(const std::shared_ptr<DistributedSessionManager>& sessions)
{
    std::weak_ptr<DistributedSessionManager> weak = sessions;
    std::string path = sessions->settings().contextPath;
    // The context may be undeployed between a lookup and a call: say so rather than crash.
    auto lock = [weak, path] {
        auto manager = weak.lock();
        if (!manager) throw MBeanError::instanceNotFound("context " + path + " was undeployed");
        return manager;
    };
    auto mbean = std::make_shared<MBean>("Sessions of context " + path + " (Tomcat's Manager)",
                                         "mt.session.DistributedSessionManager");
    mbean->attribute("activeSessions", "int", "Sessions in the store now (an error while the store is unavailable)",
                     [lock] {
                         auto stats = lock()->stats();
                         if (!stats.storeError.empty()) throw StoreUnavailable(stats.storeError);
                         return Poco::Int64(stats.active);
                     })
        .attribute("sessionCounter", "long", "Sessions created by this node",
                   [lock] { return Poco::UInt64(lock()->stats().created); })
        .attribute("expiredSessions", "long", "Sessions that timed out (explicit invalidations not included)",
                   [lock] { return Poco::UInt64(lock()->stats().expired); })
        .attribute("rejectedSessions", "int", "Requests refused because the session store was unavailable",
                   [lock] { return Poco::UInt64(lock()->stats().rejected); })
        .attribute("maxActive", "int", "Most sessions active at once seen by this node",
                   [lock] { return Poco::UInt64(lock()->stats().maxActive); })
        .attribute("sessionCreateRate", "int", "Sessions created per minute (over the last 100)",
                   [lock] { return int(lock()->stats().createRatePerMinute); })
        .attribute("sessionExpireRate", "int", "Sessions expired or invalidated per minute (over the last 100)",
                   [lock] { return int(lock()->stats().expireRatePerMinute); })
        .attribute("sessionAverageAliveTime", "int", "Average lifetime of destroyed sessions, seconds",
                   [lock] {
                       auto s = lock()->stats();
                       return int(s.lifetimes ? s.totalAliveMs / s.lifetimes / 1000 : 0);
                   })
        .attribute("processingTime", "long", "Time spent in expiry sweeps, ms",
                   [lock] { return Poco::UInt64(lock()->stats().sweepTimeUs / 1000); })
        .attribute("maxInactiveInterval", "int", "Max inactive interval of new sessions, seconds (<= 0: never expire)",
                   [lock] { return lock()->maxInactiveInterval(); },
                   [lock](const Poco::Dynamic::Var& value) { lock()->setMaxInactiveInterval(value.convert<int>()); })
        .attribute("name", "java.lang.String", "The context path", [path] { return path; })
        .operation("listSessionIds", "Ids of the active sessions, separated by spaces", "java.lang.String", {},
                   [lock](const std::vector<Poco::Dynamic::Var>&) {
                       std::string ids;
                       for (const auto& id : lock()->store().list()) ids += (ids.empty() ? "" : " ") + id;
                       return Poco::Dynamic::Var(ids);
                   })
        .operation("expireSession", "Invalidates one session now (its destroyed listeners fire)", "void",
                   {{"sessionId", "java.lang.String", "Id of the session"}},
                   [lock](const std::vector<Poco::Dynamic::Var>& args) {
                       std::string id = args.at(0).isEmpty() ? std::string() : args.at(0).toString();
                       lock()->invalidate(id);
                       return Poco::Dynamic::Var();
                   })
        .operation("getSessionCount", "Sessions in the store now", "int", {},
                   [lock](const std::vector<Poco::Dynamic::Var>&) {
                       return Poco::Dynamic::Var(Poco::UInt64(lock()->store().count()));
                   });
    return mbean;
}

void MBeanExporter::syncContexts(const ContextTable& contexts)
{
    std::map<ObjectName, std::shared_ptr<DistributedSessionManager>> wanted;
    for (const auto& context : contexts.contexts()) wanted[managerName(context->path())] = context->sessionManager();
    std::lock_guard<std::mutex> lock(_mutex);
    for (auto it = _managers.begin(); it != _managers.end();)
    {
        if (!wanted.count(it->first))
        {
            _registry.unregisterMBean(it->first);
            it = _managers.erase(it);
        }
        else
            ++it;
    }
    for (const auto& [name, sessions] : wanted)
    {
        auto it = _managers.find(name);
        if (it != _managers.end() && it->second == sessions.get()) continue;
        _registry.replaceMBean(name, makeManager(sessions));
        _managers[name] = sessions.get();
    }
}

} // namespace mt
