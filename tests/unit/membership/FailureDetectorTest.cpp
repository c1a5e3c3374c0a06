// DefaultFailureDetector on simulated time: the time is just a number we
// pass in, so 10,000 intervals take milliseconds and every run is exact.

#include "cluster/DefaultFailureDetector.h"

#include "MembershipTestSupport.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <random>

using namespace mt;
using Verdict = FailureDetector::Verdict;

namespace {

const ClusterConfig defaults = test::threeNodeConfig("node1"); // 200 / 600 / 1000 / phi 8

/// MT_SEED=<n> replays a run; otherwise a fresh seed, printed.
std::uint64_t seedFor(const char* test)
{
    std::uint64_t seed = std::random_device{}();
    if (const char* env = std::getenv("MT_SEED")) seed = std::strtoull(env, nullptr, 10);
    std::cout << test << ": seed " << seed << " (replay with MT_SEED=" << seed << ")" << std::endl;
    return seed;
}

struct Counts
{
    int suspect = 0;
    int down = 0;
    int suspectEpisodes = 0; ///< Alive -> Suspect changes, what a status manager would log
    double maxPhi = 0;
    TimeMs maxGap = 0;
};

/// Beats at the given times; asks for a verdict every `probeMs` in between.
Counts run(DefaultFailureDetector& detector, const std::vector<TimeMs>& beats, TimeMs probeMs)
{
    Counts c;
    Verdict previous = Verdict::Unknown;
    std::size_t next = 0;
    for (TimeMs t = beats.front(); t <= beats.back(); t += probeMs)
    {
        while (next < beats.size() && beats[next] <= t)
        {
            if (next > 0) c.maxGap = std::max(c.maxGap, beats[next] - beats[next - 1]);
            detector.heartbeat("node2", beats[next++]);
        }
        const Verdict v = detector.verdict("node2", t);
        c.maxPhi = std::max(c.maxPhi, detector.suspicion("node2", t));
        if (v == Verdict::Suspect) ++c.suspect;
        if (v == Verdict::Down) ++c.down;
        if (v == Verdict::Suspect && previous != Verdict::Suspect) ++c.suspectEpisodes;
        previous = v;
    }
    return c;
}

} // namespace

TEST(FailureDetector, unknownBeforeTheFirstHeartbeat)
{
    DefaultFailureDetector detector(defaults);
    EXPECT_EQ(detector.verdict("node2", 5'000), Verdict::Unknown);
    EXPECT_EQ(detector.suspicion("node2", 5'000), 0.0);
    detector.heartbeat("node2", 5'000);
    EXPECT_EQ(detector.verdict("node2", 5'000), Verdict::Alive);
}

TEST(FailureDetector, steadyHeartbeatsAreNeverSuspectedIn10000Intervals)
{
    DefaultFailureDetector detector(defaults);
    std::vector<TimeMs> beats;
    for (int i = 0; i <= 10'000; ++i) beats.push_back(1'000'000 + i * 200);
    // Probed every 7 ms: every phase of the interval, including just before a beat.
    const Counts c = run(detector, beats, 7);
    EXPECT_EQ(c.suspect, 0);
    EXPECT_EQ(c.down, 0);
    EXPECT_LT(c.maxPhi, 1.0);
}

TEST(FailureDetector, aStoppedNodeIsDownWithinTheDownTimeoutPlusOneInterval)
{
    // The status manager evaluates once per interval, at some phase relative
    // to the last heartbeat: the bound must hold for every phase.
    for (TimeMs phase = 0; phase < 200; phase += 10)
    {
        DefaultFailureDetector detector(defaults);
        TimeMs last = 0;
        for (int i = 0; i < 100; ++i) detector.heartbeat("node2", last = 1'000'000 + i * 200);
        TimeMs suspectedAt = 0, downAt = 0;
        for (TimeMs t = last + phase; downAt == 0; t += 200)
        {
            const Verdict v = detector.verdict("node2", t);
            if (v == Verdict::Suspect && suspectedAt == 0) suspectedAt = t;
            if (v == Verdict::Down) downAt = t;
        }
        SCOPED_TRACE("evaluation phase " + std::to_string(phase));
        EXPECT_GT(suspectedAt, 0) << "SUSPECT comes before DOWN";
        EXPECT_GT(downAt - last, defaults.downTimeoutMs) << "not before the timeout";
        EXPECT_LE(downAt - last, defaults.downTimeoutMs + defaults.heartbeatIntervalMs);
    }
}

TEST(FailureDetector, jitteredHeartbeatsProduceNoDownAndNoSuspectIn10000Intervals)
{
    // Each heartbeat is sent at i*T + U(-T/2, T/2): +-50 % of the interval.
    const std::uint64_t seed = seedFor("jittered");
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<TimeMs> jitter(-100, 100);
    std::vector<TimeMs> beats;
    for (int i = 0; i <= 10'000; ++i) beats.push_back(1'000'000 + i * 200 + jitter(rng));

    DefaultFailureDetector detector(defaults);
    const Counts c = run(detector, beats, 5);
    std::cout << "jittered +-50%: " << c.suspect << " SUSPECT verdicts (" << c.suspectEpisodes << " episodes), "
              << c.down << " DOWN; max gap " << c.maxGap << " ms, max phi " << c.maxPhi << std::endl;
    EXPECT_EQ(c.down, 0) << "seed " << seed;
    EXPECT_EQ(c.suspect, 0) << "seed " << seed;
}

TEST(FailureDetector, jitteredIntervalsProduceNoDownAndNoSuspectIn10000Intervals)
{
    // The other reading of "jitter": each gap independently T +- 50 %.
    const std::uint64_t seed = seedFor("jittered intervals");
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<TimeMs> gap(100, 300);
    std::vector<TimeMs> beats{1'000'000};
    for (int i = 0; i < 10'000; ++i) beats.push_back(beats.back() + gap(rng));

    DefaultFailureDetector detector(defaults);
    const Counts c = run(detector, beats, 5);
    std::cout << "jittered intervals: " << c.suspect << " SUSPECT verdicts, " << c.down << " DOWN; max phi "
              << c.maxPhi << std::endl;
    EXPECT_EQ(c.down, 0) << "seed " << seed;
    EXPECT_EQ(c.suspect, 0) << "seed " << seed;
}

TEST(FailureDetector, recoveryIsDetectedAtTheFirstHeartbeatAndTheOutageIsNotLearned)
{
    DefaultFailureDetector detector(defaults);
    TimeMs t = 1'000'000;
    for (int i = 0; i < 50; ++i) detector.heartbeat("node2", t += 200);
    const double phiAt400Before = detector.suspicion("node2", t + 400);
    t += 5'000;
    ASSERT_EQ(detector.verdict("node2", t), Verdict::Down);
    detector.heartbeat("node2", t);
    EXPECT_EQ(detector.verdict("node2", t), Verdict::Alive);
    EXPECT_LT(detector.suspicion("node2", t), 0.1);
    // The 5 s gap was an outage, not the rhythm: phi is as sensitive as before.
    EXPECT_DOUBLE_EQ(detector.suspicion("node2", t + 400), phiAt400Before);
}

TEST(FailureDetector, phiSuspectsBeforeAGenerousSilenceBound)
{
    // With a suspect bound far away, phi alone decides, adapting to the rhythm.
    DefaultFailureDetector::Params p = DefaultFailureDetector::Params::fromConfig(defaults);
    p.suspectTimeoutMs = 5'000;
    p.downTimeoutMs = 10'000;
    DefaultFailureDetector detector(p);
    TimeMs t = 1'000'000;
    for (int i = 0; i < 100; ++i) detector.heartbeat("node2", t += 200);
    TimeMs suspectAfter = 0;
    for (TimeMs s = 0; s < 5'000 && suspectAfter == 0; ++s)
        if (detector.verdict("node2", t + s) == Verdict::Suspect) suspectAfter = s;
    std::cout << "regular 200 ms beats: phi > 8 after " << suspectAfter << " ms of silence" << std::endl;
    EXPECT_GT(suspectAfter, 500);
    EXPECT_LT(suspectAfter, 700);
}

TEST(FailureDetector, resetForgetsTheNode)
{
    DefaultFailureDetector detector(defaults);
    detector.heartbeat("node2", 1'000);
    detector.reset("node2");
    EXPECT_EQ(detector.verdict("node2", 100'000), Verdict::Unknown);
}

TEST(FailureDetector, aClockSteppingBackNeitherBreaksNorRewindsTheHistory)
{
    DefaultFailureDetector detector(defaults);
    detector.heartbeat("node2", 10'000);
    detector.heartbeat("node2", 9'000);
    EXPECT_EQ(detector.verdict("node2", 10'100), Verdict::Alive);
    EXPECT_EQ(detector.verdict("node2", 11'100), Verdict::Down);
}

TEST(FailureDetector, phiIsFiniteAndMonotonic)
{
    double previous = -1;
    for (double elapsed = -1'000; elapsed < 1e6; elapsed = elapsed < 0 ? elapsed + 100 : elapsed * 1.5 + 1)
    {
        const double phi = DefaultFailureDetector::phi(elapsed, 300, 50);
        ASSERT_TRUE(std::isfinite(phi)) << elapsed;
        ASSERT_GE(phi, previous) << elapsed;
        previous = phi;
    }
    EXPECT_NEAR(DefaultFailureDetector::phi(0, 300, 50), 0.0, 1e-6);
    EXPECT_NEAR(DefaultFailureDetector::phi(300, 300, 50), std::log10(2.0), 1e-9);
}
