#include "balancer/BalancerCore.h"

#include "balancer/SlowStart.h"

#include <algorithm>

namespace mt::balancer {

BalancerCore::BalancerCore(Settings settings) : _settings(settings), _outlier(settings.outlier) {}

void BalancerCore::setSettings(const Settings& settings, TimeMs now)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _settings = settings;
    _outlier.setSettings(settings.outlier);
    publish(now);
}

void BalancerCore::setStrategy(std::shared_ptr<LoadBalancer> strategy)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (strategy) strategy->setNodes(*std::atomic_load(&_candidates));
    std::atomic_store(&_strategy, std::move(strategy));
}

std::vector<std::string> BalancerCore::setMembers(const std::vector<ClusterNode>& nodes, TimeMs now)
{
    std::lock_guard<std::mutex> lock(_mutex);
    std::map<std::string, Member> next;
    std::vector<std::string> names;
    for (const auto& n : nodes)
    {
        if (!n.hasRole("app")) continue;
        Member m;
        auto it = _members.find(n.name);
        if (it != _members.end()) m = it->second;
        m.node = n;
        next[n.name] = m;
        if (n.isAvailable()) names.push_back(n.name);
    }
    _members = std::move(next);
    _outlier.setNodes(names); // only UP nodes count towards the ejection limit
    return publish(now);
}

void BalancerCore::onSuccess(const std::string& node)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _outlier.onSuccess(node);
}

bool BalancerCore::onFailure(const std::string& node, TimeMs now)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (!_outlier.onFailure(node, now)) return false;
    publish(now);
    return true;
}

void BalancerCore::tick(TimeMs now)
{
    std::lock_guard<std::mutex> lock(_mutex);
    TimeMs expiry = _outlier.nextExpiry();
    bool returned = expiry != 0 && now >= expiry && !_outlier.expire(now).empty();
    if (returned || _ramping) publish(now);
}

std::vector<std::string> BalancerCore::publish(TimeMs now)
{
    std::vector<std::string> lost;
    auto candidates = std::make_shared<std::vector<LbNode>>();
    _ramping = false;
    for (auto& [name, m] : _members)
    {
        bool ok = m.node.isAvailable() && !_outlier.ejected(name);
        if (ok && !m.selectable)
            m.since = _seenSelectable.count(name) ? now : 0; // a return ramps up; the first UP does not
        if (!ok && m.selectable) lost.push_back(name);
        m.selectable = ok;
        if (!ok) continue;
        _seenSelectable.insert(name);
        if (m.since != 0 && !SlowStart::ramping(m.since, now, _settings.slowStartMs)) m.since = 0;
        _ramping = _ramping || m.since != 0;
        candidates->push_back({m.node, SlowStart::weight(m.node.weight, m.since, now, _settings.slowStartMs)});
    }
    if (auto strategy = std::atomic_load(&_strategy)) strategy->setNodes(*candidates);
    std::atomic_store(&_candidates, Candidates(std::move(candidates)));
    return lost;
}

std::string BalancerCore::select(const LbRequest& request, LoadBalancer* strategy) const
{
    if (!request.route.empty() && !request.excluded(request.route))
    {
        auto candidates = std::atomic_load(&_candidates);
        for (const auto& c : *candidates)
            if (c.node.name == request.route) return c.node.name;
    }
    return strategy ? strategy->selectNode(request) : std::string();
}

bool BalancerCore::selectable(const std::string& node) const
{
    auto candidates = std::atomic_load(&_candidates);
    return std::any_of(candidates->begin(), candidates->end(), [&](const LbNode& c) { return c.node.name == node; });
}

bool BalancerCore::ejected(const std::string& node) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _outlier.ejected(node);
}

int BalancerCore::ejections(const std::string& node) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _outlier.ejectionCount(node);
}

int BalancerCore::weight(const std::string& node) const
{
    auto candidates = std::atomic_load(&_candidates);
    for (const auto& c : *candidates)
        if (c.node.name == node) return c.weight;
    return 0;
}

} // namespace mt::balancer
