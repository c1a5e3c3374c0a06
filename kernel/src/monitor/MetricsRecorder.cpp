#include "monitor/MetricsRecorder.h"

namespace mt::monitor {

void MetricsRecorder::record(int status, std::int64_t durationUs)
{
    if (durationUs < 0) durationUs = 0;
    const double seconds = static_cast<double>(durationUs) / 1e6;
    std::size_t i = 0;
    while (i < kBoundsSeconds.size() && seconds > kBoundsSeconds[i]) ++i;
    _buckets[i].fetch_add(1, std::memory_order_relaxed);
    _sumUs.fetch_add(static_cast<std::uint64_t>(durationUs), std::memory_order_relaxed);
    const int cls = status >= 100 && status < 600 ? status / 100 : 0;
    _byClass[static_cast<std::size_t>(cls)].fetch_add(1, std::memory_order_relaxed);
}

MetricsRecorder::Snapshot MetricsRecorder::snapshot() const
{
    Snapshot s;
    for (std::size_t i = 0; i < _buckets.size(); ++i)
    {
        s.buckets[i] = _buckets[i].load(std::memory_order_relaxed);
        s.count += s.buckets[i];
    }
    for (std::size_t i = 0; i < _byClass.size(); ++i) s.byClass[i] = _byClass[i].load(std::memory_order_relaxed);
    s.sumSeconds = static_cast<double>(_sumUs.load(std::memory_order_relaxed)) / 1e6;
    return s;
}

} // namespace mt::monitor
