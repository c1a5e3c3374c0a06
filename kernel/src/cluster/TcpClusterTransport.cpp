#include "cluster/TcpClusterTransport.h"

#include "cluster/TcpSocket.h"
#include "mt/ThreadName.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <sstream>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mt {

namespace {

using SteadyClock = std::chrono::steady_clock;

long long msUntil(SteadyClock::time_point now, SteadyClock::time_point then)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(then - now).count();
}

constexpr std::size_t ReadChunk = 64 * 1024;
// Bytes read from one connection per loop turn, so one busy peer cannot starve the others.
constexpr std::size_t ReadBudget = 4 * ReadChunk;
constexpr int MaxPollMs = 1000;

} // namespace

struct TcpClusterTransport::Peer
{
    enum class State { Idle, Connecting, Connected };

    ClusterNode node;
    int fd = -1;
    State state = State::Idle;
    std::deque<std::string> queue;
    std::string out;          ///< the frame being written; never dropped half-way while connected
    std::size_t outPos = 0;
    SteadyTime nextAttempt{};
    SteadyTime connectDeadline{};
    int backoffMs = 0;
    bool everConnected = false;
    bool troubled = false;    ///< failed or lost since the last good connection: log and count as reconnect
    bool parked = false;      ///< closed by us for idleness: reconnect when there is something to send
    SteadyTime lastActivity{};

    std::string address() const { return node.host + ":" + std::to_string(node.clusterPort); }
    bool hasOutput() const { return outPos < out.size() || !queue.empty(); }
};

struct TcpClusterTransport::Inbound
{
    int fd = -1;
    std::string address;
    std::string buffer;
    SteadyTime lastActivity{};
    SteadyTime accepted{};
    SteadyTime frameStarted{}; ///< when the first byte of the frame now in `buffer` came
    bool authenticated = false; ///< a frame with a good MAC came on it: a peer, not just anyone
};

struct TcpClusterTransport::Counters
{
    std::atomic<std::uint64_t> sent{0}, received{0}, droppedQueueFull{0}, droppedUnknownPeer{0},
        droppedUnencodable{0}, droppedOnDisconnect{0}, connects{0}, reconnects{0}, connectFailures{0},
        idleTimeouts{0}, inboundRefused{0}, inboundAccepted{0}, inboundOpen{0}, replayed{0};
    std::array<std::atomic<std::uint64_t>, FrameCodec::ErrorCount> rejected{};
};

TcpClusterTransport::TcpClusterTransport(const ClusterConfig& config, Poco::Logger& logger,
                                         TcpTransportOptions options)
    : _config(config), _logger(logger), _options(options),
      _codec(config.name, config.secret, config.maxFrameBytes),
      _idleTimeoutMs(options.idleTimeoutMs > 0 ? options.idleTimeoutMs
                                                 : std::max(10 * config.heartbeatIntervalMs, 1000)),
      _random(std::random_device{}()), _counters(std::make_unique<Counters>())
{
}

TcpClusterTransport::~TcpClusterTransport()
{
    stop();
}

void TcpClusterTransport::setReceiver(Receiver receiver)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _receiver = std::move(receiver);
}

void TcpClusterTransport::setPeers(const std::vector<ClusterNode>& peers)
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto now = SteadyClock::now();
    std::map<std::string, std::shared_ptr<Peer>> next;
    for (const auto& node : peers)
    {
        if (node.name == _config.localNode) continue;
        auto it = _peers.find(node.name);
        std::shared_ptr<Peer> peer;
        if (it != _peers.end())
        {
            peer = it->second;
            if (peer->node.host != node.host || peer->node.clusterPort != node.clusterPort)
            {
                // Moved: the old connection leads nowhere useful any more.
                _logger.information("cluster transport: peer " + node.name + " moved from " + peer->address() +
                                    " to " + node.host + ":" + std::to_string(node.clusterPort));
                if (peer->fd >= 0) _retiredFds.push_back(peer->fd);
                peer->fd = -1;
                peer->state = Peer::State::Idle;
                peer->out.clear();
                peer->outPos = 0;
                peer->nextAttempt = now;
                peer->backoffMs = 0;
            }
            peer->node = node;
        }
        else
        {
            peer = std::make_shared<Peer>();
            peer->node = node;
            peer->nextAttempt = now;
        }
        next[node.name] = peer;
    }
    for (auto& [name, peer] : _peers)
        if (!next.count(name) && peer->fd >= 0)
        {
            _retiredFds.push_back(peer->fd);
            peer->fd = -1;
        }
    _peers.swap(next);
    wake();
}

void TcpClusterTransport::start()
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_started) return;
    const ClusterNode* self = _config.find(_config.localNode);
    if (!self) throw Poco::InvalidArgumentException("cluster transport: local node \"" + _config.localNode +
                                                    "\" is not in the cluster configuration");
    std::string where = self->host + ":" + std::to_string(self->clusterPort);
    tcp::Address address;
    std::string error = tcp::resolve(self->host, self->clusterPort, true, address);
    if (!error.empty()) throw Poco::IOException("cluster transport cannot listen on " + where + ": " + error);
    _listenFd = tcp::openSocket(address);
    if (_listenFd < 0)
        throw Poco::IOException("cluster transport cannot listen on " + where + ": " + tcp::errorText(errno));
    int one = 1;
    ::setsockopt(_listenFd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(_listenFd, reinterpret_cast<sockaddr*>(&address.storage), address.length) != 0 ||
        ::listen(_listenFd, 128) != 0)
    {
        int e = errno;
        tcp::closeFd(_listenFd);
        throw Poco::IOException("cluster transport cannot listen on " + where + ": " + tcp::errorText(e));
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    ::getsockname(_listenFd, reinterpret_cast<sockaddr*>(&bound), &length);
    _listenPort = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                              : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    _wakeFd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (_wakeFd < 0)
    {
        int e = errno;
        tcp::closeFd(_listenFd);
        throw Poco::IOException("cluster transport: eventfd: " + tcp::errorText(e));
    }
    _started = true;
    _stopping = false;
    _thread = std::thread([this] {
        nameThisThread("cluster-io");
        run();
    });
    _logger.information("cluster transport listening on " + self->host + ":" + std::to_string(_listenPort.load()) +
                        " for cluster \"" + _config.name + "\"");
}

void TcpClusterTransport::stop()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (!_started || _stopping) return;
        _stopDeadline = SteadyClock::now() + std::chrono::milliseconds(_options.stopFlushMs);
        _stopping = true;
        wake();
    }
    if (_thread.joinable()) _thread.join();
    {
        std::lock_guard<std::mutex> lock(_mutex);
        tcp::closeFd(_wakeFd);
    }
    _logger.information("cluster transport stopped");
}

void TcpClusterTransport::send(const std::string& nodeName, const ClusterMessage& message)
{
    ClusterMessage stamped = message;
    if (stamped.cluster.empty()) stamped.cluster = _config.name;
    if (stamped.sender.empty()) stamped.sender = _config.localNode;
    std::lock_guard<std::mutex> lock(_mutex);
    auto it = _peers.find(nodeName);
    if (it == _peers.end() || _stopping)
    {
        ++_counters->droppedUnknownPeer;
        return;
    }
    // Stamped and encoded in queue order, under the lock: receivers drop a
    // frame no newer than the last they took from us (a replay), so frames
    // must leave in the order of their stamps.
    stamped.sentAtMs = std::max(stamped.sentAtMs, _lastStamp + 1);
    std::string frame;
    try
    {
        frame = _codec.encode(stamped);
    }
    catch (const Poco::Exception& e)
    {
        ++_counters->droppedUnencodable;
        _logger.warning("cluster transport: not sending a message to " + nodeName + ": " + e.message());
        return;
    }
    _lastStamp = stamped.sentAtMs;
    Peer& peer = *it->second;
    if (peer.queue.size() >= _options.queueCapacity)
    {
        peer.queue.pop_front();
        ++_counters->droppedQueueFull;
    }
    peer.queue.push_back(std::move(frame));
    wake();
}

bool TcpClusterTransport::fresh(const ClusterMessage& message)
{
    auto [it, first] = _lastTaken.try_emplace(message.sender, message.incarnation, message.sentAtMs);
    if (first) return true;
    auto& [incarnation, sentAt] = it->second;
    if (message.incarnation < incarnation || (message.incarnation == incarnation && message.sentAtMs <= sentAt))
        return false;
    incarnation = message.incarnation;
    sentAt = message.sentAtMs;
    return true;
}

void TcpClusterTransport::wake()
{
    if (_wakeFd >= 0 && !_wakePending.exchange(true))
    {
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(_wakeFd, &one, sizeof one);
    }
}

// ---------------------------------------------------------------- I/O thread

void TcpClusterTransport::run()
{
    std::vector<pollfd> fds;
    std::vector<std::shared_ptr<Peer>> polled;
    for (;;)
    {
        auto now = SteadyClock::now();
        bool stopping = _stopping;
        if (stopping && (now >= _stopDeadline || !pendingOutput())) break;

        fds.clear();
        fds.push_back({_wakeFd, POLLIN, 0});
        fds.push_back({stopping ? -1 : _listenFd, POLLIN, 0});
        int timeoutMs = buildPeerPolls(fds, polled, now, stopping);
        if (stopping) timeoutMs = static_cast<int>(std::clamp<long long>(msUntil(now, _stopDeadline), 0, timeoutMs));
        std::size_t inboundStart = fds.size();
        for (const auto& in : _inbound)
        {
            fds.push_back({in->fd, POLLIN, 0});
            const SteadyTime since = in->buffer.empty() ? in->lastActivity : in->frameStarted;
            auto left = msUntil(now, since + std::chrono::milliseconds(_idleTimeoutMs));
            timeoutMs = static_cast<int>(std::clamp<long long>(left, 0, timeoutMs));
        }

        int rc = ::poll(fds.data(), fds.size(), timeoutMs);
        if (rc < 0 && errno != EINTR)
        {
            _logger.error("cluster transport: poll failed: " + tcp::errorText(errno));
            break;
        }
        now = SteadyClock::now();
        if (fds[0].revents)
        {
            // Drain, then clear: a wake() in between finds the flag still set
            // and skips writing, but its work is seen by the next loop turn.
            std::uint64_t value;
            [[maybe_unused]] auto n = ::read(_wakeFd, &value, sizeof value);
            _wakePending = false;
        }
        if (fds[1].revents & POLLIN) acceptAll(now);
        {
            std::lock_guard<std::mutex> lock(_mutex);
            for (std::size_t i = 0; i < polled.size(); ++i)
            {
                // A peer removed or moved meanwhile had its fd retired: ignore stale events.
                if (polled[i]->fd == fds[2 + i].fd && fds[2 + i].revents)
                    handlePeer(*polled[i], fds[2 + i].revents, now);
            }
        }
        std::size_t polledInbound = fds.size() - inboundStart;
        for (std::size_t i = 0; i < polledInbound; ++i)
        {
            Inbound& in = *_inbound[i];
            if (fds[inboundStart + i].revents && in.fd >= 0) readInbound(in, now);
            // Any byte resets the idle timer; a frame must still be whole
            // within the idle timeout of its first byte, or a client that
            // trickles one byte at a time would keep its slot for ever.
            if (in.fd >= 0 && !in.buffer.empty() && msUntil(in.frameStarted, now) >= _idleTimeoutMs)
            {
                const std::string text = "truncated: " + std::to_string(in.buffer.size()) +
                                         " bytes of a frame not completed within " + std::to_string(_idleTimeoutMs) +
                                         " ms";
                reject(in, FrameCodec::Error::Truncated, text);
            }
            if (in.fd >= 0 && msUntil(in.lastActivity, now) >= _idleTimeoutMs)
            {
                ++_counters->idleTimeouts;
                _logger.information("cluster transport: closing connection from " + in.address + " after " +
                                    std::to_string(_idleTimeoutMs) + " ms without data");
                closeInbound(in);
            }
        }
        _inbound.erase(std::remove_if(_inbound.begin(), _inbound.end(), [](const auto& in) { return in->fd < 0; }),
                       _inbound.end());
    }
    closeAll();
}

int TcpClusterTransport::buildPeerPolls(std::vector<pollfd>& fds, std::vector<std::shared_ptr<Peer>>& polled,
                                        SteadyTime now, bool stopping)
{
    int timeoutMs = MaxPollMs;
    polled.clear();
    std::lock_guard<std::mutex> lock(_mutex);
    for (int& fd : _retiredFds) tcp::closeFd(fd);
    _retiredFds.clear();
    for (auto& [name, peerPtr] : _peers)
    {
        Peer& peer = *peerPtr;
        if (peer.state == Peer::State::Connected && !peer.hasOutput())
        {
            // Close idle connections before the peer's idle timeout does: a
            // frame written into a connection the peer is closing is lost.
            auto idleLeft = msUntil(now, peer.lastActivity + std::chrono::milliseconds(_idleTimeoutMs / 2));
            if (idleLeft <= 0) park(peer, now);
            else timeoutMs = static_cast<int>(std::min<long long>(timeoutMs, idleLeft + 1));
        }
        // While stopping, only a peer known to be reachable is worth a
        // connect: that lets a Leave reach a peer whose idle connection we closed.
        bool wanted = stopping ? !peer.troubled && peer.hasOutput() : !peer.parked || peer.hasOutput();
        if (peer.state == Peer::State::Idle && wanted)
        {
            if (now >= peer.nextAttempt) startConnect(peer, now);
            else timeoutMs = static_cast<int>(std::min<long long>(timeoutMs, msUntil(now, peer.nextAttempt) + 1));
        }
        if (peer.state == Peer::State::Connecting)
        {
            if (now >= peer.connectDeadline)
                connectFailed(peer, "no answer within " + std::to_string(_config.connectTimeoutMs) + " ms", now);
            else
                timeoutMs =
                    static_cast<int>(std::min<long long>(timeoutMs, msUntil(now, peer.connectDeadline) + 1));
        }
        if (peer.fd < 0) continue;
        short events = peer.state == Peer::State::Connecting ? POLLOUT
                                                              : static_cast<short>(POLLIN | (peer.hasOutput() ? POLLOUT : 0));
        fds.push_back({peer.fd, events, 0});
        polled.push_back(peerPtr);
    }
    return timeoutMs;
}

bool TcpClusterTransport::pendingOutput()
{
    std::lock_guard<std::mutex> lock(_mutex);
    for (auto& [name, peer] : _peers)
        if (peer->hasOutput() && (peer->state != Peer::State::Idle || !peer->troubled)) return true;
    return false;
}

void TcpClusterTransport::startConnect(Peer& peer, SteadyTime now)
{
    tcp::Address address;
    std::string error = tcp::resolve(peer.node.host, peer.node.clusterPort, false, address);
    if (!error.empty()) return connectFailed(peer, error, now);
    peer.fd = tcp::openSocket(address);
    if (peer.fd < 0) return connectFailed(peer, tcp::errorText(errno), now);
    int one = 1;
    ::setsockopt(peer.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(peer.fd, reinterpret_cast<sockaddr*>(&address.storage), address.length) == 0)
        return connected(peer);
    if (errno != EINPROGRESS) return connectFailed(peer, tcp::errorText(errno), now);
    peer.state = Peer::State::Connecting;
    peer.connectDeadline = now + std::chrono::milliseconds(_config.connectTimeoutMs);
}

int TcpClusterTransport::jitteredBackoff(Peer& peer)
{
    int minMs = std::max(1, _config.reconnectMinMs);
    int maxMs = std::max(minMs, _config.reconnectMaxMs);
    int base = peer.backoffMs <= 0 ? minMs : std::min(maxMs, peer.backoffMs * 2);
    peer.backoffMs = base;
    // Half fixed, half random: peers that failed together do not retry in lockstep.
    std::uniform_int_distribution<int> jitter(0, base / 2);
    return std::max(minMs, base - base / 2 + jitter(_random));
}

void TcpClusterTransport::connectFailed(Peer& peer, const std::string& why, SteadyTime now)
{
    tcp::closeFd(peer.fd);
    peer.state = Peer::State::Idle;
    ++_counters->connectFailures;
    int delay = jitteredBackoff(peer);
    peer.nextAttempt = now + std::chrono::milliseconds(delay);
    std::string line = "cluster transport: cannot connect to " + peer.node.name + " at " + peer.address() + ": " +
                       why + "; retrying in " + std::to_string(delay) + " ms";
    // The first failure of a streak is news; the retries that follow are not.
    if (!peer.troubled) _logger.information(line);
    else _logger.debug(line);
    peer.troubled = true;
}

void TcpClusterTransport::park(Peer& peer, SteadyTime now)
{
    tcp::closeFd(peer.fd);
    peer.state = Peer::State::Idle;
    peer.parked = true;
    peer.nextAttempt = now;
    _logger.debug("cluster transport: closing idle connection to " + peer.node.name + " at " + peer.address());
}

void TcpClusterTransport::connected(Peer& peer)
{
    peer.state = Peer::State::Connected;
    peer.backoffMs = 0;
    peer.parked = false;
    peer.lastActivity = SteadyClock::now();
    ++_counters->connects;
    if (peer.troubled) ++_counters->reconnects;
    _logger.information("cluster transport: " + std::string(peer.troubled ? "re" : "") + "connected to " +
                        peer.node.name + " at " + peer.address());
    peer.everConnected = true;
    peer.troubled = false;
}

void TcpClusterTransport::disconnect(Peer& peer, const std::string& why, SteadyTime now)
{
    tcp::closeFd(peer.fd);
    peer.state = Peer::State::Idle;
    if (peer.outPos > 0 && peer.outPos < peer.out.size()) ++_counters->droppedOnDisconnect;
    if (peer.outPos > 0)
    {
        // A half-sent frame cannot be resumed on a new connection; an unstarted one is resent.
        peer.out.clear();
        peer.outPos = 0;
    }
    peer.troubled = true;
    int delay = jitteredBackoff(peer);
    peer.nextAttempt = now + std::chrono::milliseconds(delay);
    _logger.information("cluster transport: lost connection to " + peer.node.name + " at " + peer.address() + ": " +
                        why + "; reconnecting in " + std::to_string(delay) + " ms");
}

void TcpClusterTransport::handlePeer(Peer& peer, short revents, SteadyTime now)
{
    if (peer.state == Peer::State::Connecting)
    {
        int error = 0;
        socklen_t length = sizeof error;
        ::getsockopt(peer.fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) return connectFailed(peer, tcp::errorText(error), now);
        if (!(revents & POLLOUT)) return connectFailed(peer, "connection failed", now);
        connected(peer);
        return flush(peer, now);
    }
    if (peer.state != Peer::State::Connected) return;
    if (revents & (POLLHUP | POLLERR))
    {
        int error = 0;
        socklen_t length = sizeof error;
        ::getsockopt(peer.fd, SOL_SOCKET, SO_ERROR, &error, &length);
        return disconnect(peer, error ? tcp::errorText(error) : "closed by the peer", now);
    }
    if (revents & POLLIN)
    {
        // Peers never write on our outbound connection, so readable means closed (or a confused peer).
        char scratch[512];
        ssize_t n = ::recv(peer.fd, scratch, sizeof scratch, 0);
        if (n == 0) return disconnect(peer, "closed by the peer", now);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return disconnect(peer, tcp::errorText(errno), now);
    }
    if (revents & POLLOUT) flush(peer, now);
}

void TcpClusterTransport::flush(Peer& peer, SteadyTime now)
{
    while (peer.fd >= 0)
    {
        if (peer.outPos >= peer.out.size())
        {
            if (peer.queue.empty())
            {
                peer.out.clear();
                peer.outPos = 0;
                return;
            }
            peer.out = std::move(peer.queue.front());
            peer.queue.pop_front();
            peer.outPos = 0;
        }
        ssize_t n = ::send(peer.fd, peer.out.data() + peer.outPos, peer.out.size() - peer.outPos, MSG_NOSIGNAL);
        if (n < 0)
        {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            return disconnect(peer, tcp::errorText(errno), now);
        }
        peer.outPos += static_cast<std::size_t>(n);
        peer.lastActivity = now;
        if (peer.outPos == peer.out.size()) ++_counters->sent;
    }
}

void TcpClusterTransport::acceptAll(SteadyTime now)
{
    for (;;)
    {
        sockaddr_storage from{};
        socklen_t length = sizeof from;
        int fd = ::accept4(_listenFd, reinterpret_cast<sockaddr*>(&from), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
        {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                _logger.warning("cluster transport: accept failed: " + tcp::errorText(errno));
            return;
        }
        std::string address = tcp::toString(reinterpret_cast<sockaddr*>(&from), length);
        const auto open = static_cast<std::size_t>(
            std::count_if(_inbound.begin(), _inbound.end(), [](const auto& in) { return in->fd >= 0; }));
        if (open >= _options.maxInboundConnections && !evictUnauthenticated(address))
        {
            ++_counters->inboundRefused;
            _logger.warning("cluster transport: refusing connection from " + address + ": already " +
                            std::to_string(open) + " inbound connections");
            ::close(fd);
            continue;
        }
        auto in = std::make_unique<Inbound>();
        in->fd = fd;
        in->address = address;
        in->lastActivity = now;
        in->accepted = now;
        _inbound.push_back(std::move(in));
        ++_counters->inboundAccepted;
        ++_counters->inboundOpen;
        _logger.debug("cluster transport: connection from " + address);
    }
}

bool TcpClusterTransport::evictUnauthenticated(const std::string& forWhom)
{
    // Full: the oldest connection that never sent a good frame makes room.
    // Connections that only take slots cannot then lock peers out; a peer's
    // own connection is authenticated by its first heartbeat.
    Inbound* oldest = nullptr;
    for (auto& in : _inbound)
        if (in->fd >= 0 && !in->authenticated && (!oldest || in->accepted < oldest->accepted)) oldest = in.get();
    if (!oldest) return false;
    ++_counters->inboundRefused;
    _logger.warning("cluster transport: closing connection from " + oldest->address +
                    " (no authenticated frame yet) to make room for one from " + forWhom + " at the limit of " +
                    std::to_string(_options.maxInboundConnections) + " inbound connections");
    closeInbound(*oldest); // removed from _inbound at the end of the loop turn: its index still matches its pollfd
    return true;
}

void TcpClusterTransport::readInbound(Inbound& in, SteadyTime now)
{
    std::vector<ClusterMessage> messages;
    std::size_t budget = ReadBudget;
    char chunk[ReadChunk];
    bool closed = false;
    FrameCodec::Error error = FrameCodec::Error::None;
    std::string errorText;
    while (budget > 0 && error == FrameCodec::Error::None)
    {
        ssize_t n = ::recv(in.fd, chunk, sizeof chunk, 0);
        if (n < 0)
        {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) closed = true;
            break;
        }
        if (n == 0)
        {
            closed = true;
            break;
        }
        in.lastActivity = now;
        budget -= std::min<std::size_t>(budget, static_cast<std::size_t>(n));
        if (in.buffer.empty()) in.frameStarted = now;
        in.buffer.append(chunk, static_cast<std::size_t>(n));
        // Decode after every chunk: a bad header is refused before more of its body is buffered.
        std::size_t pos = 0;
        for (;;)
        {
            FrameCodec::Result r = _codec.decode(in.buffer.data() + pos, in.buffer.size() - pos);
            if (r.needMore()) break;
            if (r.failed())
            {
                error = r.error;
                errorText = std::move(r.text);
                break;
            }
            pos += r.consumed;
            // A recorded frame sent again carries a good MAC all the same:
            // dropped, and it earns its connection no protection from eviction.
            if (!fresh(r.message))
            {
                const std::uint64_t replays = ++_counters->replayed;
                if ((replays & (replays - 1)) == 0) // the 1st, 2nd, 4th, ...: seen, without a line per frame
                    _logger.warning("cluster transport: dropped a frame from " + in.address + " claiming to be " +
                                    r.message.sender + ": no newer than the last one taken from it (a replay; " +
                                    std::to_string(replays) + " so far)");
                continue;
            }
            messages.push_back(std::move(r.message));
            in.authenticated = true;
        }
        in.buffer.erase(0, pos);
        if (pos > 0 && !in.buffer.empty()) in.frameStarted = now; // the next frame began in this chunk
    }
    if (closed && error == FrameCodec::Error::None && !in.buffer.empty())
    {
        error = FrameCodec::Error::Truncated;
        errorText = std::string(FrameCodec::toString(error)) + ": connection closed after " +
                    std::to_string(in.buffer.size()) + " bytes of an incomplete frame";
    }

    // Frames that came before a bad one are good: deliver them first, so
    // observers see events in stream order.
    if (!messages.empty())
    {
        Receiver receiver;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            receiver = _receiver;
        }
        for (const auto& m : messages)
        {
            ++_counters->received;
            if (!receiver) continue;
            try
            {
                receiver(m);
            }
            catch (const std::exception& e)
            {
                _logger.error("cluster transport: receiver threw on a message from " + m.sender + ": " + e.what());
            }
        }
    }
    if (error != FrameCodec::Error::None) reject(in, error, errorText);
    else if (closed) closeInbound(in);
}

void TcpClusterTransport::reject(Inbound& in, FrameCodec::Error error, const std::string& text)
{
    ++_counters->rejected[static_cast<std::size_t>(error)];
    _logger.warning("cluster transport: rejected frame from " + in.address + ": " + text + "; connection closed");
    closeInbound(in);
}

void TcpClusterTransport::closeInbound(Inbound& in)
{
    if (in.fd >= 0) --_counters->inboundOpen;
    tcp::closeFd(in.fd);
    in.buffer.clear();
    in.buffer.shrink_to_fit();
}

void TcpClusterTransport::closeAll()
{
    std::lock_guard<std::mutex> lock(_mutex);
    for (int& fd : _retiredFds) tcp::closeFd(fd);
    _retiredFds.clear();
    for (auto& [name, peer] : _peers)
    {
        tcp::closeFd(peer->fd);
        peer->state = Peer::State::Idle;
        peer->out.clear();
        peer->outPos = 0;
    }
    for (auto& in : _inbound) closeInbound(*in);
    _inbound.clear();
    tcp::closeFd(_listenFd);
}

TcpClusterTransport::Stats TcpClusterTransport::stats() const
{
    Stats s;
    const Counters& c = *_counters;
    s.sent = c.sent;
    s.received = c.received;
    s.droppedQueueFull = c.droppedQueueFull;
    s.droppedUnknownPeer = c.droppedUnknownPeer;
    s.droppedUnencodable = c.droppedUnencodable;
    s.droppedOnDisconnect = c.droppedOnDisconnect;
    for (std::size_t i = 0; i < s.rejected.size(); ++i) s.rejected[i] = c.rejected[i];
    s.connects = c.connects;
    s.reconnects = c.reconnects;
    s.connectFailures = c.connectFailures;
    s.idleTimeouts = c.idleTimeouts;
    s.inboundRefused = c.inboundRefused;
    s.replayed = c.replayed;
    s.inboundAccepted = c.inboundAccepted;
    s.inboundOpen = c.inboundOpen;
    std::lock_guard<std::mutex> lock(_mutex);
    for (auto& [name, peer] : _peers)
        if (peer->state == Peer::State::Connected) ++s.connectedPeers;
    return s;
}

std::string TcpClusterTransport::statsJson() const
{
    Stats s = stats();
    Poco::JSON::Object root;
    root.set("sent", s.sent);
    root.set("received", s.received);
    Poco::JSON::Object dropped;
    dropped.set("queue_full", s.droppedQueueFull);
    dropped.set("unknown_peer", s.droppedUnknownPeer);
    dropped.set("unencodable", s.droppedUnencodable);
    dropped.set("on_disconnect", s.droppedOnDisconnect);
    root.set("dropped", dropped);
    Poco::JSON::Object rejected;
    std::uint64_t total = 0;
    for (int i = 1; i < FrameCodec::ErrorCount; ++i)
    {
        rejected.set(FrameCodec::toString(static_cast<FrameCodec::Error>(i)), s.rejected[i]);
        total += s.rejected[i];
    }
    root.set("rejected", rejected);
    root.set("rejected_total", total);
    root.set("connects", s.connects);
    root.set("reconnects", s.reconnects);
    root.set("connect_failures", s.connectFailures);
    root.set("idle_timeouts", s.idleTimeouts);
    root.set("inbound_refused", s.inboundRefused);
    root.set("replayed", s.replayed);
    root.set("connected_peers", s.connectedPeers);
    root.set("inbound_accepted", s.inboundAccepted);
    root.set("inbound_open", s.inboundOpen);
    Poco::JSON::Array peers;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        for (auto& [name, peer] : _peers)
        {
            Poco::JSON::Object p;
            p.set("name", name);
            p.set("address", peer->address());
            p.set("connected", peer->state == Peer::State::Connected);
            p.set("state", peer->state == Peer::State::Connected    ? "connected"
                           : peer->state == Peer::State::Connecting ? "connecting"
                           : peer->parked                           ? "idle"
                                                                    : "disconnected");
            p.set("queued", static_cast<std::uint64_t>(peer->queue.size()));
            peers.add(p);
        }
    }
    root.set("peers", peers);
    std::ostringstream out;
    root.stringify(out);
    return out.str();
}

} // namespace mt
