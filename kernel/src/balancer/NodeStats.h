#pragma once
// Counters of one app node as the balancer sees it, for GET /cluster/balancer
// and the monitor: requests in flight, total, errors (5xx answers and failed
// attempts), retries away from it, ejections, and a latency histogram.
// Thread-safety: relaxed atomics; a reader may see counters from slightly
// different instants, which is fine for monitoring.

#include <Poco/JSON/Object.h>

#include <array>
#include <atomic>
#include <cstdint>

namespace mt::balancer {

class NodeStats
{
public:
    /// Upper bounds of the latency buckets, milliseconds; the last bucket is "above".
    static constexpr std::array<int, 12> kBoundsMs{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000};

    std::atomic<long long> active{0};
    std::atomic<long long> total{0};
    std::atomic<long long> errors{0};
    std::atomic<long long> retries{0};
    std::atomic<long long> ejections{0};

    void recordLatency(std::int64_t micros);
    Poco::JSON::Object::Ptr toJson() const;

private:
    std::array<std::atomic<long long>, kBoundsMs.size() + 1> _buckets{};
    std::atomic<long long> _sumMicros{0};
};

} // namespace mt::balancer
