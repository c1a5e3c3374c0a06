#include "cluster/NodeStatusManager.h"
#include "cluster/NodeEventJson.h"

#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

#include <cinttypes>
#include <cstdio>
#include <exception>

namespace mt {

namespace {


std::string silenceReason(TimeMs silence, double phi)
{
    char buf[96];
    std::snprintf(buf, sizeof buf, "no heartbeat for %" PRId64 " ms, phi %.1f", static_cast<std::int64_t>(silence), phi);
    return buf;
}

} // namespace

struct NodeStatusManager::Impl
{
    Impl(ClusterRegistry& r, FailureDetector& d, std::string local, Poco::Logger& l, std::size_t capacity)
        : registry(r), detector(d), localNode(std::move(local)), logger(l), capacity(capacity == 0 ? 1 : capacity)
    {
    }

    ClusterRegistry& registry;
    FailureDetector& detector; ///< not thread-safe: only touched under `mutex`
    const std::string localNode;
    Poco::Logger& logger;
    const std::size_t capacity;

    mutable std::mutex mutex;
    std::deque<NodeEvent> events; ///< the ring: contiguous sequence numbers
    std::uint64_t lastSequence = 0;
    std::vector<std::shared_ptr<NodeStatusListener>> listeners;
    std::deque<NodeEvent> pending; ///< transitions recorded but not yet logged / announced

    // Held while logging and calling listeners, outside `mutex`: whoever
    // holds it drains `pending` in sequence order, so two threads that both
    // made transitions can never announce them out of order. Recursive so
    // that a listener may call back into the manager.
    std::recursive_mutex announceMutex;

    /// The node if it is a known peer (never the local node).
    bool findPeer(const std::string& name, ClusterNode& out) const
    {
        if (name == localNode) return false;
        if (registry.find(name, out)) return true;
        if (logger.debug()) logger.debug("node " + name + ": message from a node not in the registry, ignored");
        return false;
    }

    void append(NodeEvent& event)
    {
        event.sequence = ++lastSequence;
        events.push_back(event);
        while (events.size() > capacity) events.pop_front();
    }

    /// Caller holds `mutex`.
    void transition(const ClusterNode& node, NodeStatus to, std::uint64_t incarnation, TimeMs lastHeard, TimeMs now,
                    std::string reason)
    {
        registry.setStatus(node.name, to, incarnation, lastHeard);
        NodeEvent event;
        event.time = now;
        event.node = node.name;
        event.from = node.status;
        event.to = to;
        event.incarnation = std::max(node.incarnation, incarnation);
        event.reason = std::move(reason);
        append(event);
        pending.push_back(std::move(event));
    }

    /// Caller does not hold `mutex`.
    void announce()
    {
        std::lock_guard<std::recursive_mutex> order(announceMutex);
        for (;;)
        {
            NodeEvent event;
            std::vector<std::shared_ptr<NodeStatusListener>> targets;
            {
                std::lock_guard<std::mutex> lock(mutex);
                if (pending.empty()) return;
                event = std::move(pending.front());
                pending.pop_front();
                targets = listeners;
            }
            log(event);
            for (const auto& listener : targets) notify(*listener, event);
        }
    }

    void log(const NodeEvent& e)
    {
        std::string line = "node " + e.node + ": " + toString(e.from) + " -> " + toString(e.to) + " (" + e.reason +
                           ") at " + isoTime(e.time);
        if (e.to == NodeStatus::Down)
            logger.warning(line);
        else
            logger.information(line);
    }

    void notify(NodeStatusListener& listener, const NodeEvent& e)
    {
        // One failing listener must not stop the others from hearing about it.
        try
        {
            switch (e.to)
            {
            case NodeStatus::Up: listener.onNodeUp(e); break;
            case NodeStatus::Suspect: listener.onNodeSuspect(e); break;
            case NodeStatus::Down: listener.onNodeDown(e); break;
            case NodeStatus::Left: listener.onNodeLeft(e); break;
            case NodeStatus::Unknown: break;
            }
        }
        catch (const std::exception& ex)
        {
            logger.error("node status listener failed on event " + std::to_string(e.sequence) + ": " + ex.what());
        }
        catch (...)
        {
            logger.error("node status listener failed on event " + std::to_string(e.sequence));
        }
    }
};

NodeStatusManager::NodeStatusManager(ClusterRegistry& registry, FailureDetector& detector, std::string localNode,
                                     Poco::Logger& logger, std::size_t eventLogCapacity)
    : _impl(std::make_unique<Impl>(registry, detector, std::move(localNode), logger, eventLogCapacity))
{
}

NodeStatusManager::~NodeStatusManager() = default;

void NodeStatusManager::onHeartbeat(const std::string& node, std::uint64_t incarnation, TimeMs now)
{
    {
        std::lock_guard<std::mutex> lock(_impl->mutex);
        ClusterNode known;
        if (!_impl->findPeer(node, known)) return;
        if (incarnation < known.incarnation)
        {
            // A heartbeat of a previous life, delayed in some queue.
            if (_impl->logger.debug())
                _impl->logger.debug("node " + node + ": heartbeat of old incarnation " + std::to_string(incarnation) +
                                    " (known " + std::to_string(known.incarnation) + "), ignored");
            return;
        }
        // A heartbeat of a new incarnation is a restart whose Join we missed
        // (sent before the connection was up): it counts as a rejoin, even
        // from LEFT. Heartbeats of the same incarnation after a Leave were in
        // flight before it and must not resurrect the node.
        const bool restarted = known.incarnation != 0 && incarnation > known.incarnation;
        if (known.status == NodeStatus::Left && !restarted) return;
        if (restarted) _impl->detector.reset(node);
        _impl->detector.heartbeat(node, now);
        if (known.status == NodeStatus::Up && !restarted)
        {
            _impl->registry.heard(node, incarnation, now);
            return;
        }
        std::string reason;
        if (restarted)
            reason = "heartbeat from new incarnation " + std::to_string(incarnation) + " (was " +
                     std::to_string(known.incarnation) + "): the node restarted";
        else if (known.lastHeard == 0)
            reason = "first heartbeat, incarnation " + std::to_string(incarnation);
        else
            reason = "heartbeat received after " + std::to_string(now - known.lastHeard) + " ms of silence";
        _impl->transition(known, NodeStatus::Up, incarnation, now, now, std::move(reason));
    }
    _impl->announce();
}

void NodeStatusManager::onJoin(const std::string& node, std::uint64_t incarnation, TimeMs now)
{
    {
        std::lock_guard<std::mutex> lock(_impl->mutex);
        ClusterNode known;
        if (!_impl->findPeer(node, known)) return;
        const bool sameLife = incarnation == known.incarnation;
        // Older: a replayed or long-delayed Join. Same incarnation while LEFT:
        // a duplicate of the Join that preceded the Leave; a node that comes
        // back after leaving does so with a new incarnation.
        if (incarnation < known.incarnation || (sameLife && known.status == NodeStatus::Left))
        {
            if (_impl->logger.debug())
                _impl->logger.debug("node " + node + ": stale join (incarnation " + std::to_string(incarnation) +
                                    ", known " + std::to_string(known.incarnation) + " " + toString(known.status) +
                                    "), ignored");
            return;
        }
        if (sameLife && known.status == NodeStatus::Up)
        {
            _impl->detector.heartbeat(node, now);
            _impl->registry.heard(node, incarnation, now);
            return;
        }
        _impl->detector.reset(node);
        _impl->detector.heartbeat(node, now);
        std::string reason;
        if (known.incarnation == 0)
            reason = "joined with incarnation " + std::to_string(incarnation);
        else if (!sameLife)
            reason = "rejoined with incarnation " + std::to_string(incarnation) + " (was " +
                     std::to_string(known.incarnation) + ")";
        else
            reason = "joined again with incarnation " + std::to_string(incarnation);
        _impl->transition(known, NodeStatus::Up, incarnation, now, now, std::move(reason));
    }
    _impl->announce();
}

void NodeStatusManager::onLeave(const std::string& node, std::uint64_t incarnation, TimeMs now)
{
    {
        std::lock_guard<std::mutex> lock(_impl->mutex);
        ClusterNode known;
        if (!_impl->findPeer(node, known)) return;
        if (incarnation < known.incarnation || known.status == NodeStatus::Left)
        {
            if (_impl->logger.debug())
                _impl->logger.debug("node " + node + ": stale or duplicate leave (incarnation " +
                                    std::to_string(incarnation) + "), ignored");
            return;
        }
        _impl->detector.reset(node);
        _impl->transition(known, NodeStatus::Left, incarnation, now, now,
                          "left gracefully, incarnation " + std::to_string(incarnation));
    }
    _impl->announce();
}

void NodeStatusManager::evaluate(TimeMs now)
{
    {
        std::lock_guard<std::mutex> lock(_impl->mutex);
        auto nodes = _impl->registry.snapshot();
        for (const auto& node : *nodes)
        {
            if (node.name == _impl->localNode) continue;
            // Only a message brings a node (back) to UP; LEFT and never-heard nodes have nothing to time out.
            if (node.status == NodeStatus::Left || node.status == NodeStatus::Unknown) continue;
            const auto verdict = _impl->detector.verdict(node.name, now);
            NodeStatus to = node.status;
            if (verdict == FailureDetector::Verdict::Down && node.status != NodeStatus::Down)
                to = NodeStatus::Down;
            else if (verdict == FailureDetector::Verdict::Suspect && node.status == NodeStatus::Up)
                to = NodeStatus::Suspect;
            if (to == node.status) continue;
            const TimeMs silence = node.lastHeard == 0 ? 0 : now - node.lastHeard;
            _impl->transition(node, to, node.incarnation, node.lastHeard, now,
                              silenceReason(silence, _impl->detector.suspicion(node.name, now)));
        }
    }
    _impl->announce();
}

void NodeStatusManager::addListener(std::shared_ptr<NodeStatusListener> listener)
{
    if (!listener) return;
    std::lock_guard<std::mutex> lock(_impl->mutex);
    _impl->listeners.push_back(std::move(listener));
}

double NodeStatusManager::suspicion(const std::string& node, TimeMs now) const
{
    std::lock_guard<std::mutex> lock(_impl->mutex);
    return _impl->detector.suspicion(node, now);
}

NodeStatusManager::EventPage NodeStatusManager::eventsSince(std::uint64_t since, std::size_t limit) const
{
    std::lock_guard<std::mutex> lock(_impl->mutex);
    EventPage page;
    page.latest = _impl->lastSequence;
    const auto& events = _impl->events;
    if (events.empty())
    {
        page.truncated = page.latest > since;
        return page;
    }
    const std::uint64_t oldest = events.front().sequence;
    page.truncated = since + 1 < oldest;
    std::size_t index = since < oldest ? 0 : static_cast<std::size_t>(since - oldest + 1);
    for (; index < events.size() && page.events.size() < limit; ++index) page.events.push_back(events[index]);
    return page;
}

std::uint64_t NodeStatusManager::recordEvent(NodeEvent event)
{
    // Not logged here: the caller (leader election, consistency switch) logs
    // its own line in its own words; this only orders it among the others.
    std::lock_guard<std::mutex> lock(_impl->mutex);
    _impl->append(event);
    return event.sequence;
}

} // namespace mt
