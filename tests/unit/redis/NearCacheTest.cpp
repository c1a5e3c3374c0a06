// NearCache without Redis: a read of a session whose write from this node is
// in flight waits for that write, and whatever settles the session (its
// completion, a failure, an invalidation, an eviction, a reset) releases that
// read at once, not at its deadline.
#include "NearCache.h"

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <ostream>
#include <string>
#include <thread>

namespace mt::redis {
namespace {

using Clock = std::chrono::steady_clock;
using DataPtr = NearCache::DataPtr;

DataPtr record(const std::string& id, std::uint64_t version)
{
    auto data = std::make_shared<SessionData>();
    data->id = id;
    data->version = version;
    return data;
}

class NearCacheTest : public ::testing::Test
{
protected:
    explicit NearCacheTest(std::size_t capacity = 16) : _cache(capacity) {}

    void SetUp() override { ASSERT_TRUE(_cache.activate(_cache.epoch())); }

    /// `id` cached at version 1.
    void hold(const std::string& id)
    {
        _cache.complete(_cache.begin(id), record(id, 1));
        ASSERT_TRUE(_cache.get(id, Clock::now()));
    }

    /// A write of `id` in flight, its ticket returned.
    NearCache::Ticket writeInFlight(const std::string& id)
    {
        NearCache::Ticket ticket;
        std::int64_t indexedAtMs = 0;
        EXPECT_TRUE(_cache.beginWrite(id, ticket, indexedAtMs));
        return ticket;
    }

    /// get(id) on another thread, with a deadline (10 s) well beyond settlesWithin()'s.
    std::future<DataPtr> readAsync(const std::string& id)
    {
        auto read = std::async(std::launch::async, [this, id] { return _cache.get(id, Clock::now() + std::chrono::seconds(10)); });
        const auto deadline = Clock::now() + std::chrono::seconds(5);
        while (_cache.stats().waits < _waitsSeen + 1 && Clock::now() < deadline) std::this_thread::yield();
        EXPECT_EQ(_cache.stats().waits, _waitsSeen + 1) << "the read did not start waiting";
        ++_waitsSeen;
        return read;
    }

    static bool settlesWithin(std::future<DataPtr>& read, std::chrono::seconds limit = std::chrono::seconds(5))
    {
        return read.wait_for(limit) == std::future_status::ready;
    }

    NearCache _cache;
    std::uint64_t _waitsSeen = 0;
};

TEST_F(NearCacheTest, AReadWaitsForTheWriteInFlightAndGetsWhatItStored)
{
    hold("a");
    const NearCache::Ticket write = writeInFlight("a");
    auto read = readAsync("a");

    _cache.complete(write, record("a", 2));

    ASSERT_TRUE(settlesWithin(read));
    const DataPtr seen = read.get();
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->version, 2u);
    EXPECT_EQ(_cache.stats().waits, 1u);
}

TEST_F(NearCacheTest, AWriteOfAnotherSessionDoesNotEndTheWait)
{
    hold("a");
    hold("b");
    const NearCache::Ticket writeA = writeInFlight("a");
    const NearCache::Ticket writeB = writeInFlight("b");
    auto read = readAsync("a");

    _cache.complete(writeB, record("b", 2));
    _cache.complete(writeA, record("a", 2));

    ASSERT_TRUE(settlesWithin(read));
    const DataPtr seen = read.get();
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->version, 2u) << "the read returned before its own session's write settled";
}

TEST_F(NearCacheTest, AnUntrackedRecordIsABaseForTheNextWriteButNeverARead)
{
    // Served by a node importing the slot (an ASK): no invalidation would tell of a change there.
    _cache.complete(_cache.begin("m"), record("m", 4), 0, false);
    EXPECT_FALSE(_cache.get("m", Clock::now())) << "a read goes to Redis";
    NearCache::Ticket ticket;
    std::int64_t indexedAtMs = -1;
    const DataPtr base = _cache.beginWrite("m", ticket, indexedAtMs);
    ASSERT_TRUE(base) << "the write's version check catches any other writer: the record may be its base";
    EXPECT_EQ(base->version, 4u);

    // The same id served by the slot's master again (the migration undone, or over): tracked.
    _cache.complete(ticket, record("m", 5));
    const DataPtr read = _cache.get("m", Clock::now());
    ASSERT_TRUE(read);
    EXPECT_EQ(read->version, 5u);
}

TEST_F(NearCacheTest, AReadWithoutAWriteInFlightDoesNotWait)
{
    hold("a");
    hold("b");
    const NearCache::Ticket write = writeInFlight("b"); // another session's
    (void)write;
    EXPECT_TRUE(_cache.get("a", Clock::now() + std::chrono::seconds(60)));
    EXPECT_EQ(_cache.stats().waits, 0u);
}

TEST_F(NearCacheTest, AWriteThatNeverSettlesReleasesTheReadAtItsDeadlineWithThePreviousRecord)
{
    hold("a");
    const NearCache::Ticket write = writeInFlight("a");
    (void)write;
    const auto started = Clock::now();
    const DataPtr seen = _cache.get("a", started + std::chrono::milliseconds(50));
    EXPECT_GE(Clock::now() - started, std::chrono::milliseconds(50));
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->version, 1u);
}

class AFullNearCache : public NearCacheTest
{
protected:
    AFullNearCache() : NearCacheTest(1) {}
};

TEST_F(AFullNearCache, EvictingASessionReleasesTheReadWaitingOnIt)
{
    hold("a");
    const NearCache::Ticket write = writeInFlight("a");
    (void)write;
    auto read = readAsync("a");

    (void)_cache.begin("b"); // room for b: a goes

    ASSERT_TRUE(settlesWithin(read)) << "the read stayed until its deadline";
    EXPECT_FALSE(read.get());
}

/// What settles a session other than a successful write, and what a read waiting on it then gets.
struct Settling
{
    const char* name;
    std::function<void(NearCache&, const NearCache::Ticket&)> settle;
};

void PrintTo(const Settling& settling, std::ostream* out)
{
    *out << settling.name;
}

class WhatSettlesTheSession : public NearCacheTest, public ::testing::WithParamInterface<Settling>
{
};

TEST_P(WhatSettlesTheSession, ReleasesTheWaitingReadAtOnceWithNothingCached)
{
    hold("a");
    const NearCache::Ticket write = writeInFlight("a");
    auto read = readAsync("a");

    GetParam().settle(_cache, write);

    ASSERT_TRUE(settlesWithin(read)) << "the read stayed until its deadline";
    EXPECT_FALSE(read.get()) << "what the cache held before is no longer known to be current";
}

INSTANTIATE_TEST_SUITE_P(
    NearCache, WhatSettlesTheSession,
    ::testing::Values(
        Settling{"the session turned out gone", [](NearCache& c, const NearCache::Ticket& t) { c.complete(t, nullptr); }},
        Settling{"the write failed", [](NearCache& c, const NearCache::Ticket& t) { c.abandon(t); }},
        Settling{"Redis reported a change", [](NearCache& c, const NearCache::Ticket&) { c.invalidate("a"); }},
        Settling{"FLUSHDB", [](NearCache& c, const NearCache::Ticket&) { c.clear(); }},
        Settling{"tracking broke", [](NearCache& c, const NearCache::Ticket&) { c.reset(); }}),
    [](const ::testing::TestParamInfo<Settling>& info) {
        std::string name;
        for (const char* p = info.param.name; *p; ++p)
            if (std::isalnum(static_cast<unsigned char>(*p))) name += *p;
        return name;
    });

} // namespace
} // namespace mt::redis
