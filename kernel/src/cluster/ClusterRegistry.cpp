#include "cluster/ClusterRegistry.h"

#include <algorithm>

namespace mt {

namespace {

bool sameMember(const ClusterNode& a, const ClusterNode& b)
{
    return a.host == b.host && a.httpPort == b.httpPort && a.clusterPort == b.clusterPort && a.roles == b.roles &&
           a.weight == b.weight;
}

} // namespace

ClusterRegistry::ClusterRegistry(std::vector<ClusterNode> nodes)
    : _nodes(std::make_shared<const std::vector<ClusterNode>>(std::move(nodes)))
{
}

ClusterRegistry::Snapshot ClusterRegistry::snapshot() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _nodes;
}

bool ClusterRegistry::find(const std::string& name, ClusterNode& out) const
{
    auto nodes = snapshot();
    for (const auto& node : *nodes)
        if (node.name == name)
        {
            out = node;
            return true;
        }
    return false;
}

NodeStatus ClusterRegistry::setStatus(const std::string& name, NodeStatus status, std::uint64_t incarnation,
                                      TimeMs lastHeard)
{
    std::vector<Change> changes;
    NodeStatus previous = NodeStatus::Unknown;
    {
        // The notify lock is taken first so listeners see changes in the order they were made.
        std::lock_guard<std::mutex> order(_notifyMutex);
        {
            std::lock_guard<std::mutex> lock(_mutex);
            auto next = std::make_shared<std::vector<ClusterNode>>(*_nodes);
            auto it = std::find_if(next->begin(), next->end(), [&](const ClusterNode& n) { return n.name == name; });
            if (it == next->end()) return NodeStatus::Unknown;
            previous = it->status;
            ClusterNode before = *it;
            it->status = status;
            it->incarnation = std::max(it->incarnation, incarnation);
            if (lastHeard > it->lastHeard) it->lastHeard = lastHeard;
            if (previous != status) changes.push_back({Change::Kind::Status, before, *it});
            _nodes = std::move(next);
        }
        notify(changes);
    }
    return previous;
}

void ClusterRegistry::heard(const std::string& name, std::uint64_t incarnation, TimeMs when)
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto it = std::find_if(_nodes->begin(), _nodes->end(), [&](const ClusterNode& n) { return n.name == name; });
    if (it == _nodes->end()) return;
    if (it->incarnation >= incarnation && it->lastHeard >= when) return;
    auto next = std::make_shared<std::vector<ClusterNode>>(*_nodes);
    auto& node = (*next)[static_cast<std::size_t>(it - _nodes->begin())];
    node.incarnation = std::max(node.incarnation, incarnation);
    node.lastHeard = std::max(node.lastHeard, when);
    _nodes = std::move(next);
}

std::vector<ClusterRegistry::Change> ClusterRegistry::setTopology(const std::vector<ClusterNode>& nodes)
{
    std::vector<Change> changes;
    std::lock_guard<std::mutex> order(_notifyMutex);
    {
        std::lock_guard<std::mutex> lock(_mutex);
        auto next = std::make_shared<std::vector<ClusterNode>>();
        for (const auto& wanted : nodes)
        {
            auto it = std::find_if(_nodes->begin(), _nodes->end(), [&](const ClusterNode& n) { return n.name == wanted.name; });
            if (it == _nodes->end())
            {
                ClusterNode added = wanted;
                added.status = NodeStatus::Unknown;
                next->push_back(added);
                changes.push_back({Change::Kind::Added, ClusterNode{}, added});
                continue;
            }
            ClusterNode updated = wanted;
            updated.status = it->status;
            updated.incarnation = it->incarnation;
            updated.lastHeard = it->lastHeard;
            if (!sameMember(*it, wanted)) changes.push_back({Change::Kind::Updated, *it, updated});
            next->push_back(updated);
        }
        for (const auto& old : *_nodes)
            if (std::none_of(nodes.begin(), nodes.end(), [&](const ClusterNode& n) { return n.name == old.name; }))
                changes.push_back({Change::Kind::Removed, old, ClusterNode{}});
        _nodes = std::move(next);
    }
    notify(changes);
    return changes;
}

int ClusterRegistry::addListener(Listener listener)
{
    std::lock_guard<std::mutex> lock(_mutex);
    int id = _nextListenerId++;
    _listeners.emplace_back(id, std::make_shared<Listener>(std::move(listener)));
    return id;
}

void ClusterRegistry::removeListener(int id)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _listeners.erase(std::remove_if(_listeners.begin(), _listeners.end(), [&](const auto& l) { return l.first == id; }),
                     _listeners.end());
}

void ClusterRegistry::notify(const std::vector<Change>& changes)
{
    if (changes.empty()) return;
    std::vector<std::shared_ptr<Listener>> listeners;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        for (const auto& l : _listeners) listeners.push_back(l.second);
    }
    for (const auto& change : changes)
        for (const auto& listener : listeners) (*listener)(change);
}

} // namespace mt
