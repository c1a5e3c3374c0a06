#include "cluster/DefaultFailureDetector.h"

#include <algorithm>
#include <cmath>

namespace mt {

// Why these parameters (defaults: interval 200, suspect 600, down 1000, phi 8):
//
// - Window of 100 samples: 20 s of history at 200 ms, enough for a stable
//   mean and deviation, short enough to follow a machine that becomes loaded.
// - Minimum deviation interval/4 and acceptable pause interval/2: for a
//   perfectly regular sender (mean 200, deviation floored at 50) phi passes 8
//   (P = 1e-8, 5.6 deviations) at about 300 + 5.6 * 50 = 580 ms of silence, in
//   step with the 600 ms suspect bound; for a jittery sender the learned
//   deviation is larger and phi waits longer, so the bound suspects first.
//   Phi therefore never makes the detector more trigger-happy than the bound
//   by more than a few ms, and its value is the suspicion level reported.
// - Heartbeats jittered +-50 % (each sent at i*T + U(-T/2, T/2)) are never
//   more than 2T = 400 ms apart: below the 600 ms suspect bound and far below
//   the 1000 ms down bound; at 400 ms phi is about 1.5. Hence no SUSPECT and no
//   DOWN under that jitter.
// - Detection: DOWN once the silence exceeds 1000 ms, seen at the next
//   evaluation (every interval): at most 1200 ms after the last heartbeat,
//   under the 1.5 s target.
DefaultFailureDetector::Params DefaultFailureDetector::Params::fromConfig(const ClusterConfig& config)
{
    Params p;
    p.heartbeatIntervalMs = config.heartbeatIntervalMs;
    p.suspectTimeoutMs = config.suspectTimeoutMs;
    p.downTimeoutMs = config.downTimeoutMs;
    p.phiThreshold = config.phiThreshold;
    p.minStdDeviationMs = std::max(1.0, config.heartbeatIntervalMs / 4.0);
    p.acceptablePauseMs = config.heartbeatIntervalMs / 2.0;
    return p;
}

DefaultFailureDetector::DefaultFailureDetector(const ClusterConfig& config)
    : DefaultFailureDetector(Params::fromConfig(config))
{
}

DefaultFailureDetector::DefaultFailureDetector(const Params& params) : _params(params)
{
    _params.windowSize = std::max<std::size_t>(1, _params.windowSize);
    _params.minStdDeviationMs = std::max(1e-3, _params.minStdDeviationMs);
}

void DefaultFailureDetector::heartbeat(const std::string& node, TimeMs now)
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto found = _nodes.find(node);
    if (found == _nodes.end())
    {
        _nodes[node].last = now;
        return;
    }
    History& h = found->second;
    // A clock stepping back must not produce a negative sample or move `last` back.
    if (now <= h.last) return;
    const TimeMs interval = now - h.last;
    h.last = now;
    // A gap beyond the down bound is an outage, not the sender's rhythm:
    // learning it would blunt phi for the next 100 heartbeats.
    if (interval > _params.downTimeoutMs) return;
    h.intervals.push_back(static_cast<double>(interval));
    if (h.intervals.size() > _params.windowSize) h.intervals.pop_front();
}

FailureDetector::Verdict DefaultFailureDetector::verdict(const std::string& node, TimeMs now) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto found = _nodes.find(node);
    if (found == _nodes.end()) return Verdict::Unknown;
    const TimeMs silence = now - found->second.last;
    if (silence > _params.downTimeoutMs) return Verdict::Down;
    if (silence > _params.suspectTimeoutMs) return Verdict::Suspect;
    if (phiOf(found->second, now) > _params.phiThreshold) return Verdict::Suspect;
    return Verdict::Alive;
}

double DefaultFailureDetector::suspicion(const std::string& node, TimeMs now) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto found = _nodes.find(node);
    return found == _nodes.end() ? 0.0 : phiOf(found->second, now);
}

void DefaultFailureDetector::reset(const std::string& node)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _nodes.erase(node);
}

double DefaultFailureDetector::phiOf(const History& h, TimeMs now) const
{
    // Until samples exist, assume the configured rhythm (as Akka bootstraps).
    double mean = _params.heartbeatIntervalMs;
    double deviation = 0;
    if (!h.intervals.empty())
    {
        double sum = 0;
        for (double v : h.intervals) sum += v;
        mean = sum / h.intervals.size();
        double squares = 0;
        for (double v : h.intervals) squares += (v - mean) * (v - mean);
        deviation = std::sqrt(squares / h.intervals.size());
    }
    deviation = std::max(deviation, _params.minStdDeviationMs);
    return phi(static_cast<double>(now - h.last), mean + _params.acceptablePauseMs, deviation);
}

double DefaultFailureDetector::phi(double elapsedMs, double meanMs, double stdDeviationMs)
{
    const double x = (elapsedMs - meanMs) / stdDeviationMs / std::sqrt(2.0);
    if (x < 25.0)
    {
        // P(later) = 1 - CDF = erfc(x) / 2, exact while erfc does not underflow.
        const double later = 0.5 * std::erfc(x);
        return std::max(0.0, -std::log10(later));
    }
    // Far tail: erfc(x) ~ exp(-x^2) / (x sqrt(pi)); in logs, so it stays finite.
    const double log10Later = std::log10(0.5) - x * x / std::log(10.0) - std::log10(x * std::sqrt(M_PI));
    return -log10Later;
}

} // namespace mt
