#pragma once
// The cluster transport over TCP. One I/O thread does everything with poll():
// it accepts and reads inbound connections (one frame stream per peer that
// talks to us), and keeps one persistent outbound connection per peer, fed
// from a bounded per-peer queue. Connections are one-way: A's messages to B
// travel on A's connection to B, B's answers on B's connection to A.
//
// Inbound bytes go through FrameCodec; any refusal is one warning line with
// the peer's address and the reason, a counter per reason, and the connection
// is closed; an inbound connection silent for the idle timeout is closed too.
// Outbound connections are opened at start, re-established with exponential
// backoff and jitter, and closed by us after half the idle timeout without
// traffic (reopened on the next send), so that the receiver's idle timeout
// never closes a connection we are writing to. send() only encodes and
// queues (never touches a socket).
//
// Thread-safety: as ClusterTransport. The receiver runs on the I/O thread; it
// must not block and must not call stop().

#include "cluster/ClusterConfig.h"
#include "cluster/ClusterTransport.h"
#include "cluster/FrameCodec.h"

#include <Poco/Logger.h>

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

struct pollfd;

namespace mt {

struct TcpTransportOptions
{
    std::size_t queueCapacity = 1024;       ///< frames per peer; beyond it the oldest is dropped
    int idleTimeoutMs = 0;                  ///< inbound silence before closing; 0: 10 × heartbeat interval (≥ 1 s)
    int stopFlushMs = 200;                  ///< how long stop() lets queued frames drain
    std::size_t maxInboundConnections = 256;
};

class TcpClusterTransport : public ClusterTransport
{
public:
    struct Stats
    {
        std::uint64_t sent = 0;
        std::uint64_t received = 0;
        std::uint64_t droppedQueueFull = 0;
        std::uint64_t droppedUnknownPeer = 0;
        std::uint64_t droppedUnencodable = 0;
        std::uint64_t droppedOnDisconnect = 0; ///< half-written frames lost with their connection
        std::array<std::uint64_t, FrameCodec::ErrorCount> rejected{}; ///< indexed by FrameCodec::Error
        std::uint64_t connects = 0;
        std::uint64_t reconnects = 0;          ///< connects after a failure or a lost connection
        std::uint64_t connectFailures = 0;
        std::uint64_t idleTimeouts = 0;
        std::uint64_t inboundRefused = 0;      ///< over maxInboundConnections
        std::uint64_t replayed = 0;            ///< frames dropped as no newer than the last from their sender
        std::uint64_t connectedPeers = 0;      ///< outbound connections up now (idle ones are closed)
        std::uint64_t inboundAccepted = 0;
        std::uint64_t inboundOpen = 0;

        std::uint64_t rejectedFor(FrameCodec::Error e) const { return rejected[static_cast<std::size_t>(e)]; }
    };

    TcpClusterTransport(const ClusterConfig& config, Poco::Logger& logger, TcpTransportOptions options = {});
    ~TcpClusterTransport() override;

    void setReceiver(Receiver receiver) override;
    void setPeers(const std::vector<ClusterNode>& peers) override;
    /// Binds host:clusterPort of the local node (port 0: any free port, see listenPort()).
    /// Throws Poco::IOException naming the address if it cannot listen.
    void start() override;
    void stop() override;
    /// Fills in an empty cluster name and sender from the configuration.
    void send(const std::string& nodeName, const ClusterMessage& message) override;
    std::string statsJson() const override;

    Stats stats() const;
    /// Register extra message types here before start().
    FrameCodec& codec() { return _codec; }
    unsigned short listenPort() const { return _listenPort; }

private:
    using SteadyTime = std::chrono::steady_clock::time_point;
    struct Peer;
    struct Inbound;

    void run();
    void wake();
    int buildPeerPolls(std::vector<::pollfd>& fds, std::vector<std::shared_ptr<Peer>>& polled, SteadyTime now,
                       bool stopping);
    void startConnect(Peer& peer, SteadyTime now);
    void connectFailed(Peer& peer, const std::string& why, SteadyTime now);
    void connected(Peer& peer);
    void park(Peer& peer, SteadyTime now);
    void disconnect(Peer& peer, const std::string& why, SteadyTime now);
    void handlePeer(Peer& peer, short revents, SteadyTime now);
    void flush(Peer& peer, SteadyTime now);
    bool pendingOutput();
    void acceptAll(SteadyTime now);
    /// At the connection limit: closes the oldest inbound connection that
    /// has not sent an authenticated frame; false if there is none.
    bool evictUnauthenticated(const std::string& forWhom);
    void readInbound(Inbound& in, SteadyTime now);
    /// True for a frame newer than the last one taken from its sender (a
    /// higher incarnation, or a later sentAtMs in the same); the I/O thread's.
    bool fresh(const ClusterMessage& message);
    void reject(Inbound& in, FrameCodec::Error error, const std::string& text);
    void closeInbound(Inbound& in);
    void closeAll();
    int jitteredBackoff(Peer& peer);

    ClusterConfig _config;
    Poco::Logger& _logger;
    TcpTransportOptions _options;
    FrameCodec _codec;
    int _idleTimeoutMs;

    mutable std::mutex _mutex; ///< guards _peers, _retiredFds, _receiver, _started, _lastStamp, _wakeFd's closing
    std::map<std::string, std::shared_ptr<Peer>> _peers;
    std::uint64_t _lastStamp = 0; ///< sentAtMs of the last frame queued (see send())
    std::vector<int> _retiredFds;
    Receiver _receiver;
    bool _started = false;
    std::mt19937_64 _random;

    // Owned by the I/O thread.
    std::vector<std::unique_ptr<Inbound>> _inbound;
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> _lastTaken; ///< sender -> (incarnation, sentAtMs)
    int _listenFd = -1;
    int _wakeFd = -1;
    std::atomic<unsigned short> _listenPort{0};
    std::thread _thread;
    std::atomic<bool> _stopping{false};
    std::atomic<bool> _wakePending{false};
    SteadyTime _stopDeadline;

    struct Counters;
    std::unique_ptr<Counters> _counters;
};

} // namespace mt
