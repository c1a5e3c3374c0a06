#pragma once
// What the HTTP server's counters lack for monitoring: a latency histogram of
// the responses this node served and their count per status class. Fed from
// the access-log hook (called once per response on the worker thread), so
// the http module needs no change.
// Thread-safety: relaxed atomics; readers may see figures from slightly
// different instants, which is fine for monitoring.

#include <array>
#include <atomic>
#include <cstdint>

namespace mt::monitor {

class MetricsRecorder
{
public:
    /// Upper bounds of the latency buckets in seconds (Prometheus' defaults
    /// plus 1 ms and 2.5 ms, which a local answer usually falls under).
    static constexpr std::array<double, 13> kBoundsSeconds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                            0.25,  0.5,    1.0,   2.5,  5.0,   10.0};

    struct Snapshot
    {
        std::array<std::uint64_t, kBoundsSeconds.size() + 1> buckets{}; ///< per bucket, not cumulative; last is +Inf
        std::uint64_t count = 0;
        double sumSeconds = 0;
        std::array<std::uint64_t, 6> byClass{}; ///< index 1..5: 1xx..5xx; 0: anything else
    };

    void record(int status, std::int64_t durationUs);
    Snapshot snapshot() const;

private:
    std::array<std::atomic<std::uint64_t>, kBoundsSeconds.size() + 1> _buckets{};
    std::array<std::atomic<std::uint64_t>, 6> _byClass{};
    std::atomic<std::uint64_t> _sumUs{0};
};

} // namespace mt::monitor
