#include "balancer/NodeStats.h"

#include <Poco/JSON/Array.h>

namespace mt::balancer {

void NodeStats::recordLatency(std::int64_t micros)
{
    std::size_t i = 0;
    while (i < kBoundsMs.size() && micros > static_cast<std::int64_t>(kBoundsMs[i]) * 1000) ++i;
    _buckets[i].fetch_add(1, std::memory_order_relaxed);
    _sumMicros.fetch_add(micros, std::memory_order_relaxed);
}

Poco::JSON::Object::Ptr NodeStats::toJson() const
{
    auto load = [](const std::atomic<long long>& a) { return a.load(std::memory_order_relaxed); };
    Poco::JSON::Object::Ptr json = new Poco::JSON::Object;
    json->set("active", load(active));
    json->set("total", load(total));
    json->set("errors", load(errors));
    json->set("retries", load(retries));
    json->set("ejections", load(ejections));
    Poco::JSON::Array::Ptr histogram = new Poco::JSON::Array;
    long long count = 0;
    for (std::size_t i = 0; i < _buckets.size(); ++i)
    {
        Poco::JSON::Object::Ptr bucket = new Poco::JSON::Object;
        if (i < kBoundsMs.size())
            bucket->set("leMs", kBoundsMs[i]);
        else
            bucket->set("leMs", "+Inf");
        bucket->set("count", load(_buckets[i]));
        count += load(_buckets[i]);
        histogram->add(bucket);
    }
    Poco::JSON::Object::Ptr latency = new Poco::JSON::Object;
    latency->set("buckets", histogram);
    latency->set("count", count);
    latency->set("meanMs", count ? static_cast<double>(load(_sumMicros)) / count / 1000.0 : 0.0);
    json->set("latency", latency);
    return json;
}

} // namespace mt::balancer
