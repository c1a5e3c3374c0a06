#pragma once
// The wall clock behind an interface, so expiry and detection logic can run on
// simulated time in tests. Thread-safety: nowMs() may be called from any thread.

#include "mt/SessionData.h"

#include <atomic>
#include <chrono>

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
