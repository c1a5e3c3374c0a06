#include "cluster/ClusterService.h"

#include "cluster/ClusterConfigLoader.h"
#include "cluster/NodeEventJson.h"
#include "cluster/DefaultFailureDetector.h"
#include "cluster/DefaultHeartbeatService.h"
#include "cluster/TcpClusterTransport.h"
#include "config/PropertiesFile.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Timestamp.h>

namespace mt {

namespace {

std::vector<ClusterNode> peersOf(const std::vector<ClusterNode>& nodes, const std::string& self)
{
    std::vector<ClusterNode> peers;
    for (const auto& n : nodes)
        if (n.name != self) peers.push_back(n);
    return peers;
}


} // namespace

ClusterService::ClusterService(ClusterConfig config, const Clock& clock)
    : _config(std::move(config)),
      _clock(clock),
      _logger(Poco::Logger::get("mt.cluster")),
      // The start time is the incarnation: a restarted node always announces a
      // larger one than before, without any state kept on disk.
      _incarnation(static_cast<std::uint64_t>(clock.nowMs()))
{
    std::vector<ClusterNode> nodes = _config.nodes;
    for (auto& n : nodes)
        if (n.name == _config.localNode)
        {
            n.status = NodeStatus::Up;
            n.incarnation = _incarnation;
        }
    _registry = std::make_unique<ClusterRegistry>(nodes);
    _detector = std::make_unique<DefaultFailureDetector>(_config);
    _status = std::make_unique<NodeStatusManager>(*_registry, *_detector, _config.localNode,
                                                  Poco::Logger::get("mt.cluster.status"));
    _transport = std::make_unique<TcpClusterTransport>(_config, Poco::Logger::get("mt.cluster.transport"));
    _heartbeat = std::make_unique<DefaultHeartbeatService>(_config, *_transport, *_status, *_registry, _clock,
                                                           _incarnation, Poco::Logger::get("mt.cluster.heartbeat"));
    _transport->setReceiver([this](const ClusterMessage& message) { _heartbeat->onMessage(message); });
    _transport->setPeers(peersOf(_config.nodes, _config.localNode));
}

ClusterService::~ClusterService()
{
    stop();
}

void ClusterService::start()
{
    _logger.information("cluster '%s' from %s, this node '%s' (incarnation %s), heartbeat every %d ms, "
                        "suspect after %d ms, down after %d ms:\n%s",
                        _config.name, _config.file, _config.localNode, std::to_string(_incarnation),
                        _config.heartbeatIntervalMs, _config.suspectTimeoutMs, _config.downTimeoutMs,
                        ClusterConfigLoader::table(*_registry->snapshot(), _config.localNode));
    _transport->start();
    _heartbeat->start();
    _started = true;
}

void ClusterService::stop()
{
    if (!_started) return;
    _started = false;
    _heartbeat->stop();
    _transport->stop();
    _logger.information("left cluster '%s'", _config.name);
}

void ClusterService::checkReload(const ClusterConfig& next) const
{
    std::vector<std::string> restart;
    if (next.name != _config.name) restart.push_back("cluster name");
    if (next.secret != _config.secret) restart.push_back("secret");
    if (next.heartbeatIntervalMs != _config.heartbeatIntervalMs || next.suspectTimeoutMs != _config.suspectTimeoutMs ||
        next.downTimeoutMs != _config.downTimeoutMs || next.phiThreshold != _config.phiThreshold)
        restart.push_back("<heartbeat> timings");
    const ClusterNode* oldSelf = _config.find(_config.localNode);
    const ClusterNode* newSelf = next.find(next.localNode);
    if (!newSelf || oldSelf->host != newSelf->host || oldSelf->clusterPort != newSelf->clusterPort ||
        oldSelf->httpPort != newSelf->httpPort)
        restart.push_back("this node's address");
    if (!restart.empty())
    {
        std::string what;
        for (const auto& r : restart) what += (what.empty() ? "" : ", ") + r;
        throw ConfigError(next.file + ": changes need a restart of every node (" + what +
                          "); only adding, removing and changing other nodes applies live");
    }
}

std::vector<std::string> ClusterService::reload(const ClusterConfig& next)
{
    checkReload(next);
    std::vector<std::string> lines;
    for (const auto& change : _registry->setTopology(next.nodes))
    {
        switch (change.kind)
        {
        case ClusterRegistry::Change::Kind::Added: lines.push_back("node added: " + change.after.name); break;
        case ClusterRegistry::Change::Kind::Removed:
            _detector->reset(change.before.name);
            lines.push_back("node removed: " + change.before.name);
            break;
        case ClusterRegistry::Change::Kind::Updated: lines.push_back("node changed: " + change.after.name); break;
        case ClusterRegistry::Change::Kind::Status: break;
        }
    }
    _transport->setPeers(peersOf(next.nodes, next.localNode));
    _config.nodes = next.nodes;
    for (const auto& line : lines) _logger.information("cluster reload: %s", line);
    return lines;
}

std::string ClusterService::transportStats() const
{
    return _transport->statsJson();
}

Poco::JSON::Object::Ptr ClusterService::nodesJson() const
{
    Poco::JSON::Object::Ptr json = new Poco::JSON::Object;
    json->set("cluster", _config.name);
    json->set("self", _config.localNode);
    json->set("incarnation", _incarnation);
    Poco::JSON::Array::Ptr nodes = new Poco::JSON::Array;
    TimeMs now = _clock.nowMs();
    // Hold the snapshot: a range-for over `*snapshot()` would iterate a vector
    // whose last owner, the temporary, is already gone.
    auto snapshot = _registry->snapshot();
    for (const auto& n : *snapshot)
    {
        Poco::JSON::Object::Ptr node = new Poco::JSON::Object;
        node->set("name", n.name);
        node->set("host", n.host);
        node->set("httpPort", n.httpPort);
        node->set("clusterPort", n.clusterPort);
        Poco::JSON::Array::Ptr roles = new Poco::JSON::Array;
        for (const auto& r : n.roles) roles->add(r);
        node->set("roles", roles);
        node->set("weight", n.weight);
        node->set("status", std::string(toString(n.status)));
        node->set("incarnation", n.incarnation);
        node->set("lastHeard", isoTime(n.lastHeard));
        node->set("lastHeardAgoMs", n.lastHeard > 0 ? ageMs(now, n.lastHeard) : -1);
        node->set("self", n.name == _config.localNode);
        nodes->add(node);
    }
    json->set("nodes", nodes);
    try
    {
        json->set("transport", Poco::JSON::Parser().parse(_transport->statsJson()));
    }
    catch (const Poco::Exception&)
    {
    }
    return json;
}

Poco::JSON::Object::Ptr ClusterService::eventsJson(std::uint64_t since, std::size_t limit) const
{
    auto page = _status->eventsSince(since, limit);
    Poco::JSON::Object::Ptr json = new Poco::JSON::Object;
    json->set("latest", page.latest);
    json->set("truncated", page.truncated);
    Poco::JSON::Array::Ptr events = new Poco::JSON::Array;
    for (const auto& e : page.events) events->add(toJson(e));
    json->set("events", events);
    return json;
}

} // namespace mt
