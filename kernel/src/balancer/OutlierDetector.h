#pragma once
// Passive health checking (Envoy's outlier detection): a node whose last
// `consecutiveFailures` attempts all failed (connect failure, reset, timeout,
// 5xx answer) is ejected for baseTime x (number of recent ejections), capped
// at maxTime. Never more than maxPercent of the nodes, and never all of them,
// are ejected at once: with every node failing, ejecting would only turn
// slow errors into instant 503s. Pure: the time is passed in.
// Thread-safety: none; BalancerCore serialises calls.

#include "mt/SessionData.h"

#include <map>
#include <string>
#include <vector>

namespace mt::balancer {

class OutlierDetector
{
public:
    struct Settings
    {
        int consecutiveFailures = 5; ///< 0: never eject
        int baseTimeMs = 5000;
        int maxTimeMs = 60000;
        int maxPercent = 50;
    };

    OutlierDetector() = default;
    explicit OutlierDetector(Settings settings) : _settings(settings) {}
    void setSettings(const Settings& settings) { _settings = settings; }

    /// The nodes to consider (membership UP); state of nodes that stay is kept.
    void setNodes(const std::vector<std::string>& nodes);
    void onSuccess(const std::string& node);
    /// True if this failure ejected the node.
    bool onFailure(const std::string& node, TimeMs now);
    bool ejected(const std::string& node) const;
    /// Ends ejections whose time is over; returns the nodes that came back.
    std::vector<std::string> expire(TimeMs now);
    /// When the next ejection ends (0: none ejected).
    TimeMs nextExpiry() const;
    int ejectionCount(const std::string& node) const;

private:
    struct State
    {
        int failures = 0;
        int ejections = 0;     ///< recent ejections: the multiplier of the next interval
        TimeMs ejectedUntil = 0;
        TimeMs lastReturn = 0;
        int totalEjections = 0;
    };
    std::size_t ejectedCount() const;

    Settings _settings;
    std::map<std::string, State> _nodes;
};

} // namespace mt::balancer
