#include "balancer/RetryPolicy.h"

#include <algorithm>

namespace mt::balancer {

bool RetryPolicy::idempotent(const std::string& method)
{
    return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" || method == "DELETE" ||
           method == "TRACE";
}

RetryPolicy::Decision RetryPolicy::decide(const Attempt& a) const
{
    if (a.stage == Stage::ResponseStarted) return {false, "response already started"};
    if (a.stage == Stage::TimedOut) return {false, "response timeout"};
    if (a.retriesSoFar >= _settings.maxRetries) return {false, "retry limit reached"};
    if (a.nodeAnswered)
    {
        long long budget = std::max<long long>(_settings.minConcurrent, a.activeRequests * _settings.budgetPercent / 100);
        if (a.activeRetries >= budget) return {false, "retry budget exhausted"};
    }
    if (a.stage == Stage::NotSent) return {true, "request never reached the node"};
    if (!idempotent(a.method)) return {false, "not idempotent and already sent"};
    if (!a.bodyReplayable) return {false, "request body too large to send again"};
    return {true, "idempotent request, no response sent yet"};
}

int RetryPolicy::backoffMs(int retry, std::uint64_t random) const
{
    if (retry < 1 || _settings.backoffMaxMs <= 0) return 0;
    long long cap = _settings.backoffBaseMs;
    for (int i = 1; i < retry && cap < _settings.backoffMaxMs; ++i) cap *= 2;
    cap = std::min<long long>(cap, _settings.backoffMaxMs);
    return static_cast<int>(random % static_cast<std::uint64_t>(cap + 1));
}

} // namespace mt::balancer
