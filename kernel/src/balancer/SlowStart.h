#pragma once
// Slow start: a node that comes back (UP again after DOWN/SUSPECT/LEFT, or
// back from an ejection) starts at minPercent of its weight and ramps
// linearly to the full weight over the window, so a cold node is not handed
// its full share at once (Envoy's slow_start_config, nginx's slow_start).
// Pure: the times are passed in.

#include "mt/SessionData.h"

#include <algorithm>

namespace mt::balancer {

struct SlowStart
{
    static constexpr int kMinPercent = 10;

    /// The effective weight (configured x 100, ramped; at least 1). `since` is
    /// when the node came back (0: it never left, full weight).
    static int weight(int configured, TimeMs since, TimeMs now, int windowMs)
    {
        long long full = static_cast<long long>(std::max(configured, 1)) * 100;
        if (windowMs <= 0 || since <= 0 || now - since >= windowMs) return static_cast<int>(full);
        double ramp = static_cast<double>(std::max<TimeMs>(now - since, 0)) / windowMs;
        double factor = std::max(kMinPercent / 100.0, ramp);
        return std::max(1, static_cast<int>(full * factor));
    }

    static bool ramping(TimeMs since, TimeMs now, int windowMs)
    {
        return windowMs > 0 && since > 0 && now - since < windowMs;
    }
};

} // namespace mt::balancer
