// Membership on two real nodes whose wall clock steps, as an NTP step or a
// resumed VM makes it: libfaketime (Debian's faketime) shifts what each node
// reads as the wall clock, by what a file the test rewrites says, and leaves
// the monotonic clock alone. Heartbeat silences are intervals: a step must
// neither mark a live peer DOWN nor keep a dead one UP.
#include "ServerProcess.h"

#include <Poco/JSON/Parser.h>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace mt::test;
using namespace std::chrono_literals;

namespace {

/// Debian's libfaketime for this machine's architecture ("" if not installed).
std::string fakeTimeLibrary()
{
    std::error_code error;
    for (const auto& dir : fs::directory_iterator("/usr/lib", error))
    {
        const fs::path candidate = dir.path() / "faketime" / "libfaketimeMT.so.1";
        if (fs::exists(candidate, error)) return candidate.string();
    }
    return "";
}
// Heartbeat 200 ms, DOWN after 1000 ms of silence; the bound allows for a
// loaded 2-core CI machine.
constexpr auto kDetectionBound = 3s;

/// The wall clock as the node on `port` reads it (GET /cluster/status's generatedAt), in seconds since the epoch.
long long wallSecondsAt(unsigned short port)
{
    try
    {
        auto reply = httpRequest(port, "GET", "/cluster/status");
        auto iso = Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>(
            "generatedAt");
        std::tm tm{};
        if (!strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
        return static_cast<long long>(timegm(&tm));
    }
    catch (const std::exception&)
    {
        return 0;
    }
}

long long realSeconds()
{
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string statusAt(unsigned short port, const std::string& node)
{
    const auto seen = transitionsSeenAt(port, node);
    if (seen.empty()) return "";
    return seen.back().substr(seen.back().find("->") + 2);
}

/// Two app nodes, a and b, in one cluster, both reading the wall clock through libfaketime.
class SteppingCluster
{
public:
    SteppingCluster()
    {
        _offsetFile = a.dir() + "/faketime";
        step("+0");
        const unsigned short clusterA = freePort(), clusterB = freePort();
        const std::string xml = a.dir() + "/cluster-config.xml";
        a.writeConfig("node.name=a\ncluster.config=" + xml);
        b.writeConfig("node.name=b\ncluster.config=" + xml);
        std::ofstream(xml) << "<cluster name=\"clock\" secret=\"a-test-secret-of-more-than-32-characters\">\n"
                              "  <heartbeat interval=\"200\" suspectTimeout=\"600\" downTimeout=\"1000\" phiThreshold=\"8\"/>\n"
                              "  <node name=\"a\" host=\"127.0.0.1\" httpPort=\""
                           << a.port() << "\" clusterPort=\"" << clusterA
                           << "\" roles=\"app\"/>\n"
                              "  <node name=\"b\" host=\"127.0.0.1\" httpPort=\""
                           << b.port() << "\" clusterPort=\"" << clusterB << "\" roles=\"app\"/>\n</cluster>\n";
        // A sanitizer's runtime wants to come first among the libraries; libfaketime does not mind coming second.
        const char* asan = std::getenv("ASAN_OPTIONS");
        const std::vector<std::string> environment{
            "LD_PRELOAD=" + fakeTimeLibrary(), "FAKETIME_TIMESTAMP_FILE=" + _offsetFile,
            "FAKETIME_DONT_FAKE_MONOTONIC=1", "FAKETIME_CACHE_DURATION=1",
            std::string("ASAN_OPTIONS=") + (asan ? std::string(asan) + ":" : "") + "verify_asan_link_order=0"};
        a.setEnvironment(environment);
        b.setEnvironment(environment);
        a.start();
        b.start();
    }

    /// Shifts both nodes' wall clock to real time + `offset` (libfaketime's syntax: "+2h", "-1h").
    void step(const std::string& offset) { std::ofstream(_offsetFile) << offset << "\n"; }

    ServerProcess a, b;

private:
    std::string _offsetFile;
};

} // namespace

TEST(ClusterClock, AWallClockStepNeitherMarksALivePeerDownNorKeepsADeadOneUp)
{
    ASSERT_NE(fakeTimeLibrary(), "") << "libfaketime is missing: scripts/install-deps.sh installs it (package faketime)";
    SteppingCluster cluster;
    ServerProcess& a = cluster.a;
    ServerProcess& b = cluster.b;
    ASSERT_TRUE(waitUntil([&] { return statusAt(a.port(), "b") == "UP" && statusAt(b.port(), "a") == "UP"; }, 10s))
        << a.output() << b.output();
    ASSERT_LT(std::llabs(wallSecondsAt(a.port()) - realSeconds()), 60) << "the nodes start on the real time";

    // Two hours forward. Each node notices within libfaketime's cache duration (1 s).
    cluster.step("+2h");
    ASSERT_TRUE(waitUntil([&] {
        return wallSecondsAt(a.port()) > realSeconds() + 3600 && wallSecondsAt(b.port()) > realSeconds() + 3600;
    }, 10s)) << "libfaketime did not step the nodes' clock";
    // Observed for twice the DOWN timeout: with silences read off the wall
    // clock, the first round after the step finds two hours of silence.
    const auto watchUntil = std::chrono::steady_clock::now() + 2s;
    while (std::chrono::steady_clock::now() < watchUntil)
    {
        ASSERT_EQ(statusAt(a.port(), "b"), "UP");
        ASSERT_EQ(statusAt(b.port(), "a"), "UP");
        std::this_thread::sleep_for(50ms); // the polls' pace over a fixed window, not a wait for an event
    }
    EXPECT_EQ(transitionsSeenAt(a.port(), "b"), std::vector<std::string>{"UNKNOWN->UP"});
    EXPECT_EQ(transitionsSeenAt(b.port(), "a"), std::vector<std::string>{"UNKNOWN->UP"});

    // Three hours back (an hour before real time), then b dies: a must still
    // see the silence grow, although its wall clock now reads earlier than
    // every heartbeat it has had.
    cluster.step("-1h");
    ASSERT_TRUE(waitUntil([&] { return wallSecondsAt(a.port()) < realSeconds() - 1800; }, 10s));
    const auto killed = std::chrono::steady_clock::now();
    b.kill();
    EXPECT_TRUE(waitUntil([&] { return statusAt(a.port(), "b") == "DOWN"; }, kDetectionBound))
        << "a still says " << statusAt(a.port(), "b") << " of b, "
        << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed).count()
        << " ms after it died";
}
