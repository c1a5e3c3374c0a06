#include "cluster/DefaultHeartbeatService.h"

#include "mt/ThreadName.h"

#include <chrono>
#include <cstdio>

namespace mt {

namespace {

// Senders are authenticated, so this only guards against a misconfigured
// cluster growing the set without end.
constexpr std::size_t maxWarnedSenders = 1024;

} // namespace

DefaultHeartbeatService::DefaultHeartbeatService(const ClusterConfig& config, ClusterTransport& transport,
                                                 NodeStatusManager& statusManager, ClusterRegistry& registry,
                                                 const Clock& clock, std::uint64_t incarnation, Poco::Logger& logger)
    : _config(config), _transport(transport), _status(statusManager), _registry(registry), _clock(clock),
      _incarnation(incarnation), _logger(logger)
{
}

DefaultHeartbeatService::~DefaultHeartbeatService()
{
    stop();
}

void DefaultHeartbeatService::start()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_started) return;
        _started = true;
    }
    // Our own entry shows this life (status tables, the launcher's "all UP").
    const TimeMs now = _clock.nowMs();
    _registry.setStatus(_config.localNode, NodeStatus::Up, _incarnation, now);
    const auto targets = peers();
    const auto join = message(MessageType::Join);
    for (const auto& peer : targets) _transport.send(peer, join);
    _logger.information("node " + _config.localNode + " joining with incarnation " + std::to_string(_incarnation) +
                        ": sent Join to " + std::to_string(targets.size()) + " peers, heartbeat every " +
                        std::to_string(_config.heartbeatIntervalMs) + " ms");
    std::lock_guard<std::mutex> lock(_mutex);
    if (_stopping) return;
    _thread = std::thread([this] {
        nameThisThread("heartbeat");
        run();
    });
}

void DefaultHeartbeatService::stop()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (!_started || _stopping) return;
        _stopping = true;
    }
    _leaving = true;
    _wake.notify_all();
    if (_thread.joinable()) _thread.join();
    // After the thread is gone, so that no Heartbeat follows the Leave.
    const auto leave = message(MessageType::Leave);
    const auto targets = peers();
    for (const auto& peer : targets) _transport.send(peer, leave);
    _registry.setStatus(_config.localNode, NodeStatus::Left, _incarnation, _clock.nowMs());
    _logger.information("node " + _config.localNode + " leaving: sent Leave to " + std::to_string(targets.size()) +
                        " peers");
}

void DefaultHeartbeatService::run()
{
    using SteadyClock = std::chrono::steady_clock;
    const auto interval = std::chrono::milliseconds(_config.heartbeatIntervalMs);
    // Deadlines advance by a fixed step from the start, so the time a round
    // takes does not push the following ones later.
    auto deadline = SteadyClock::now();
    std::unique_lock<std::mutex> lock(_mutex);
    while (!_stopping)
    {
        lock.unlock();
        round();
        lock.lock();
        deadline += interval;
        // After a long stall (a stopped process, a suspended VM) beat once now
        // and carry on from here instead of bursting the missed rounds.
        const auto now = SteadyClock::now();
        if (deadline + interval < now) deadline = now;
        _wake.wait_until(lock, deadline, [this] { return _stopping; });
    }
}

void DefaultHeartbeatService::round()
{
    const auto targets = peers();
    const auto beat = message(MessageType::Heartbeat);
    for (const auto& peer : targets) _transport.send(peer, beat);
    const TimeMs now = _clock.nowMs();
    _status.evaluate(now);
    const auto n = ++_rounds;

    if (!_logger.debug()) return;
    std::string line = "heartbeat round " + std::to_string(n) + ": sent to " + std::to_string(targets.size()) + " peers";
    auto nodes = _registry.snapshot();
    const char* separator = "; ";
    for (const auto& node : *nodes)
    {
        if (node.name == _config.localNode) continue;
        char buf[160];
        if (node.lastHeard == 0)
            std::snprintf(buf, sizeof buf, "%s %s never heard", node.name.c_str(), toString(node.status));
        else
            std::snprintf(buf, sizeof buf, "%s %s phi %.1f last %lld ms ago", node.name.c_str(), toString(node.status),
                          _status.suspicion(node.name, now), static_cast<long long>(now - node.lastHeard));
        line += separator;
        line += buf;
        separator = ", ";
    }
    _logger.debug(line);
}

std::vector<std::string> DefaultHeartbeatService::peers() const
{
    std::vector<std::string> names;
    auto nodes = _registry.snapshot();
    for (const auto& node : *nodes)
        if (node.name != _config.localNode) names.push_back(node.name);
    return names;
}

ClusterMessage DefaultHeartbeatService::message(MessageType type) const
{
    ClusterMessage m;
    m.type = type;
    m.cluster = _config.name;
    m.sender = _config.localNode;
    m.incarnation = _incarnation;
    m.sentAtMs = static_cast<std::uint64_t>(_clock.nowMs());
    return m;
}

bool DefaultHeartbeatService::knownSender(const std::string& name)
{
    ClusterNode node;
    if (_registry.find(name, node)) return true;
    std::lock_guard<std::mutex> lock(_warnMutex);
    if (_warnedSenders.size() < maxWarnedSenders && _warnedSenders.insert(name).second)
        _logger.warning("cluster message from unknown node '" + name +
                        "' ignored (not in the cluster configuration; further messages from it are ignored silently)");
    return false;
}

void DefaultHeartbeatService::onMessage(const ClusterMessage& message)
{
    if (message.sender == _config.localNode) return;
    switch (message.type)
    {
    case MessageType::Heartbeat:
    case MessageType::Join:
    case MessageType::Leave: break;
    default: return; // gossip and raft have their own handlers
    }
    if (!knownSender(message.sender)) return;
    const TimeMs now = _clock.nowMs();
    switch (message.type)
    {
    case MessageType::Heartbeat: _status.onHeartbeat(message.sender, message.incarnation, now); break;
    case MessageType::Join:
        _status.onJoin(message.sender, message.incarnation, now);
        // Answer at once: the joiner learns we are UP now, not one interval later.
        if (!_leaving) _transport.send(message.sender, this->message(MessageType::Heartbeat));
        break;
    case MessageType::Leave: _status.onLeave(message.sender, message.incarnation, now); break;
    default: break;
    }
}

} // namespace mt
