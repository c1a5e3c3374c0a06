#pragma once
// The wall clock behind an interface, so expiry and detection logic can run on
// simulated time in tests. Thread-safety: nowMs() may be called from any thread.
// Session times are wall-clock (they are compared across nodes); intervals
// within a process are monotonic (steadyNowMs, SteadyWallClock).

#include "mt/SessionData.h"

#include <atomic>
#include <chrono>
#include <functional>

namespace mt {

/// How long before `now` `at` was, never negative: a status built from a
/// `now` read first sees heartbeats and fetches that land while it is built.
inline TimeMs ageMs(TimeMs now, TimeMs at)
{
    return at < now ? now - at : 0;
}

class Clock
{
public:
    virtual ~Clock() = default;
    virtual TimeMs nowMs() const = 0;
};

class SystemClock : public Clock
{
public:
    TimeMs nowMs() const override
    {
        using namespace std::chrono;
        return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    }
};

/// Milliseconds of the monotonic clock: for intervals and deadlines within
/// this process, never for dates and never compared across nodes.
inline TimeMs steadyNowMs()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

/// Wall-clock milliseconds that never step: the wall time when it was made
/// plus the monotonic time since. Membership runs on it, so that an NTP step
/// or a resumed VM neither marks every peer DOWN at once (a step forward)
/// nor hides a dead one (a step back). Its times still read as dates, off by
/// whatever steps the wall clock has made since.
class SteadyWallClock : public Clock
{
public:
    SteadyWallClock() : SteadyWallClock(SystemClock().nowMs(), steadyNowMs) {}
    /// `steady`: the monotonic source (tests pass their own).
    SteadyWallClock(TimeMs wallAtStart, std::function<TimeMs()> steady)
        : _wallAtStart(wallAtStart), _steady(std::move(steady)), _steadyAtStart(_steady())
    {
    }
    TimeMs nowMs() const override { return _wallAtStart + (_steady() - _steadyAtStart); }

private:
    const TimeMs _wallAtStart;
    const std::function<TimeMs()> _steady;
    const TimeMs _steadyAtStart;
};

class ManualClock : public Clock
{
public:
    explicit ManualClock(TimeMs start = 1'000'000) : _now(start) {}
    TimeMs nowMs() const override { return _now.load(); }
    void advance(TimeMs ms) { _now += ms; }
    void set(TimeMs ms) { _now = ms; }

private:
    std::atomic<TimeMs> _now;
};

} // namespace mt
