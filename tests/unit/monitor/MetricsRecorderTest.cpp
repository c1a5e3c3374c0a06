#include "monitor/MetricsRecorder.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

using mt::monitor::MetricsRecorder;

TEST(MetricsRecorder, PutsDurationsInTheirBucketAndCountsStatusClasses)
{
    MetricsRecorder r;
    r.record(200, 500);        // 0.5 ms -> le 0.001
    r.record(200, 1000);       // exactly 1 ms -> le 0.001 (bounds are inclusive)
    r.record(404, 3000);       // 3 ms -> le 0.005
    r.record(503, 20'000'000); // 20 s -> +Inf
    r.record(0, 10);           // no status (connection cut): "other"
    auto s = r.snapshot();
    EXPECT_EQ(s.count, 5u);
    EXPECT_EQ(s.buckets[0], 3u);
    EXPECT_EQ(s.buckets[2], 1u);
    EXPECT_EQ(s.buckets.back(), 1u);
    EXPECT_NEAR(s.sumSeconds, 20.00451, 1e-9);
    EXPECT_EQ(s.byClass[2], 2u);
    EXPECT_EQ(s.byClass[4], 1u);
    EXPECT_EQ(s.byClass[5], 1u);
    EXPECT_EQ(s.byClass[0], 1u);
}

TEST(MetricsRecorder, NegativeDurationCountsAsZero)
{
    MetricsRecorder r;
    r.record(200, -5);
    auto s = r.snapshot();
    EXPECT_EQ(s.buckets[0], 1u);
    EXPECT_EQ(s.sumSeconds, 0.0);
}

TEST(MetricsRecorder, ConcurrentRecordsAreAllCounted)
{
    MetricsRecorder r;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&r] {
            for (int i = 0; i < 10000; ++i) r.record(200, i);
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(r.snapshot().count, 40000u);
    EXPECT_EQ(r.snapshot().byClass[2], 40000u);
}
