#include "monitor/ClusterStatusPeers.h"
#include "util/Clock.h"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

using mt::monitor::ClusterStatusPeers;
using namespace std::chrono_literals;

namespace {

bool waitFor(const std::function<bool()>& check, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline)
    {
        if (check()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return check();
}

/// A peer that answers every connection with one canned HTTP response.
class CannedPeer
{
public:
    explicit CannedPeer(std::string response)
        : _socket(Poco::Net::SocketAddress("127.0.0.1", 0)), _response(std::move(response))
    {
        _thread = std::thread([this] {
            while (!_stop)
            {
                if (!_socket.poll(Poco::Timespan(0, 50000), Poco::Net::Socket::SELECT_READ)) continue;
                Poco::Net::StreamSocket client = _socket.acceptConnection();
                char buf[4096];
                client.setReceiveTimeout(Poco::Timespan(1, 0));
                try
                {
                    client.receiveBytes(buf, sizeof buf);
                    client.sendBytes(_response.data(), static_cast<int>(_response.size()));
                    ++requests;
                }
                catch (const Poco::Exception&)
                {
                }
                client.close();
            }
        });
    }
    ~CannedPeer()
    {
        _stop = true;
        _thread.join();
    }
    unsigned short port() const { return _socket.address().port(); }
    std::atomic<int> requests{0};

private:
    Poco::Net::ServerSocket _socket;
    std::string _response;
    std::atomic<bool> _stop{false};
    std::thread _thread;
};

unsigned short closedPort()
{
    Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
    return probe.address().port();
}

} // namespace

TEST(StatusPeers, FetchesAPeersLocalFiguresOnlyOnceSomeoneAsks)
{
    const std::string body = R"({"self":"b","local":{"uptimeSeconds":12.5,"requests":7}})";
    CannedPeer peer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\n\r\n" + body);
    ClusterStatusPeers peers([&] { return std::vector<ClusterStatusPeers::Target>{{"b", "127.0.0.1", peer.port()}}; },
                             [] { return false; }, 100, 500);
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(peer.requests.load(), 0) << "nobody asked: no polling";
    EXPECT_FALSE(peers.figures("b").local);

    peers.demand();
    ASSERT_TRUE(waitFor([&] { return bool(peers.figures("b").local); }, 3s));
    auto figures = peers.figures("b");
    EXPECT_EQ(figures.local->getValue<int>("requests"), 7);
    EXPECT_FALSE(figures.lastAttemptFailed);
    EXPECT_GT(figures.fetchedAtMs, 0);
    EXPECT_TRUE(waitFor([&] { return peer.requests.load() >= 3; }, 3s)) << "refreshed every interval while wanted";
}

TEST(StatusPeers, ADeadPeerIsAFailedAttemptNotAHang)
{
    const unsigned short port = closedPort();
    ClusterStatusPeers peers([&] { return std::vector<ClusterStatusPeers::Target>{{"dead", "127.0.0.1", port}}; },
                             [] { return false; }, 100, 300);
    peers.demand();
    ASSERT_TRUE(waitFor([&] { return peers.figures("dead").lastAttemptFailed; }, 3s));
    EXPECT_FALSE(peers.figures("dead").local);
    EXPECT_FALSE(peers.figures("dead").error.empty());
    auto started = std::chrono::steady_clock::now();
    peers.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms);
}

TEST(StatusPeers, StopsWhenTheServerStops)
{
    std::atomic<bool> stopping{false};
    ClusterStatusPeers peers([] { return std::vector<ClusterStatusPeers::Target>{}; }, [&] { return stopping.load(); },
                             100, 300);
    peers.demand();
    stopping = true;
    auto started = std::chrono::steady_clock::now();
    peers.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

TEST(StatusPeers, AFetchThatLandsWhileTheStatusIsBuiltIsZeroMillisecondsOldNotNegative)
{
    // The status reads `now` first, then the newest figures and heartbeats.
    EXPECT_EQ(mt::ageMs(10'000, 9'400), 600);
    EXPECT_EQ(mt::ageMs(10'000, 10'000), 0);
    EXPECT_EQ(mt::ageMs(10'000, 10'018), 0);
}
