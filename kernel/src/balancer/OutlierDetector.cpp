#include "balancer/OutlierDetector.h"

#include <algorithm>

namespace mt::balancer {

void OutlierDetector::setNodes(const std::vector<std::string>& nodes)
{
    std::map<std::string, State> next;
    for (const auto& name : nodes)
    {
        auto it = _nodes.find(name);
        next[name] = it == _nodes.end() ? State{} : it->second;
    }
    _nodes = std::move(next);
}

void OutlierDetector::onSuccess(const std::string& node)
{
    auto it = _nodes.find(node);
    if (it != _nodes.end()) it->second.failures = 0;
}

std::size_t OutlierDetector::ejectedCount() const
{
    return static_cast<std::size_t>(
        std::count_if(_nodes.begin(), _nodes.end(), [](const auto& n) { return n.second.ejectedUntil != 0; }));
}

bool OutlierDetector::onFailure(const std::string& node, TimeMs now)
{
    auto it = _nodes.find(node);
    if (it == _nodes.end() || _settings.consecutiveFailures <= 0) return false;
    State& s = it->second;
    if (s.ejectedUntil != 0) return false;
    if (++s.failures < _settings.consecutiveFailures) return false;
    std::size_t after = ejectedCount() + 1;
    if (after >= _nodes.size() || after * 100 > _nodes.size() * static_cast<std::size_t>(_settings.maxPercent))
        return false; // keep counting: it is ejected as soon as another node comes back
    // A node that stayed healthy for a whole max interval starts again from the base interval.
    if (s.lastReturn != 0 && now - s.lastReturn > _settings.maxTimeMs) s.ejections = 0;
    ++s.ejections;
    ++s.totalEjections;
    long long interval = std::min<long long>(static_cast<long long>(_settings.baseTimeMs) * s.ejections, _settings.maxTimeMs);
    s.ejectedUntil = now + std::max<long long>(interval, 1);
    s.failures = 0;
    return true;
}

bool OutlierDetector::ejected(const std::string& node) const
{
    auto it = _nodes.find(node);
    return it != _nodes.end() && it->second.ejectedUntil != 0;
}

std::vector<std::string> OutlierDetector::expire(TimeMs now)
{
    std::vector<std::string> back;
    for (auto& [name, s] : _nodes)
        if (s.ejectedUntil != 0 && now >= s.ejectedUntil)
        {
            s.ejectedUntil = 0;
            s.lastReturn = now;
            back.push_back(name);
        }
    return back;
}

TimeMs OutlierDetector::nextExpiry() const
{
    TimeMs next = 0;
    for (const auto& [name, s] : _nodes)
        if (s.ejectedUntil != 0 && (next == 0 || s.ejectedUntil < next)) next = s.ejectedUntil;
    return next;
}

int OutlierDetector::ejectionCount(const std::string& node) const
{
    auto it = _nodes.find(node);
    return it == _nodes.end() ? 0 : it->second.totalEjections;
}

} // namespace mt::balancer
