#pragma once
// A loopback TCP proxy in front of a real redis-server that can put bytes of
// its own into what Redis sends: the corruption a broken middlebox or a
// mixed-up port causes, which Redis itself never produces, or a reply Redis
// would give in another state (a READONLY from a master). Every connection
// is forwarded both ways, unchanged until corruptNextReply() or rewriteNext().
//
// Thread-safety: every method may be called from any thread; one thread of
// its own forwards, and the destructor stops it and closes every socket.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace mt::redis::test {

class TamperingProxy
{
public:
    explicit TamperingProxy(unsigned short upstreamPort) : _upstreamPort(upstreamPort)
    {
        _listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address = loopback(0); // bound and kept: no other socket can take it meanwhile
        socklen_t length = sizeof address;
        if (_listener < 0 || ::bind(_listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::listen(_listener, 16) != 0 ||
            ::getsockname(_listener, reinterpret_cast<sockaddr*>(&address), &length) != 0 || ::pipe2(_wake, O_CLOEXEC) != 0)
        {
            if (_listener >= 0) ::close(_listener);
            throw std::runtime_error("TamperingProxy: cannot listen on loopback");
        }
        _port = ntohs(address.sin_port);
        _thread = std::thread([this] { run(); });
    }

    ~TamperingProxy()
    {
        const char stop = 's';
        (void)!::write(_wake[1], &stop, 1);
        _thread.join();
        for (const Link& link : _links)
        {
            ::close(link.client);
            ::close(link.upstream);
        }
        ::close(_listener);
        ::close(_wake[0]);
        ::close(_wake[1]);
    }

    TamperingProxy(const TamperingProxy&) = delete;
    TamperingProxy& operator=(const TamperingProxy&) = delete;

    unsigned short port() const { return _port; }
    /// Connections accepted so far.
    int connections() const { return _accepted.load(); }
    /// The next bytes Redis sends, on whichever connection, reach the client
    /// with `garbage` in front of them; later ones pass unchanged.
    void corruptNextReply(std::string garbage)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _garbage = std::move(garbage);
    }

    /// The next time Redis sends `from` (within one read), on whichever
    /// connection, the client gets `to` in its place; later ones pass unchanged.
    void rewriteNext(std::string from, std::string to)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _rewriteFrom = std::move(from);
        _rewriteTo = std::move(to);
    }

private:
    struct Link
    {
        int client;
        int upstream;
    };

    static sockaddr_in loopback(unsigned short port)
    {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(port);
        return address;
    }

    static bool sendAll(int fd, const char* data, std::size_t size)
    {
        while (size > 0)
        {
            const ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL);
            if (sent < 0 && errno == EINTR) continue;
            if (sent <= 0) return false;
            data += sent;
            size -= std::size_t(sent);
        }
        return true;
    }

    void accept()
    {
        const int client = ::accept4(_listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) return;
        const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const sockaddr_in address = loopback(_upstreamPort);
        if (upstream < 0 || ::connect(upstream, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        {
            // Redis gone: the client sees its connection closed, as it would.
            if (upstream >= 0) ::close(upstream);
            ::close(client);
            return;
        }
        _links.push_back({client, upstream});
        ++_accepted;
    }

    /// Moves what `from` has to `to`; false when either side is done.
    bool forward(int from, int to, bool fromRedis)
    {
        char buffer[16384];
        const ssize_t got = ::recv(from, buffer, sizeof buffer, 0);
        if (got < 0 && errno == EINTR) return true;
        if (got <= 0) return false;
        std::string bytes(buffer, std::size_t(got));
        if (fromRedis)
        {
            std::lock_guard<std::mutex> lock(_mutex);
            bytes.insert(0, _garbage);
            _garbage.clear();
            const std::size_t at = _rewriteFrom.empty() ? std::string::npos : bytes.find(_rewriteFrom);
            if (at != std::string::npos)
            {
                bytes.replace(at, _rewriteFrom.size(), _rewriteTo);
                _rewriteFrom.clear();
            }
        }
        return sendAll(to, bytes.data(), bytes.size());
    }

    void run()
    {
        for (;;)
        {
            std::vector<pollfd> fds{{_wake[0], POLLIN, 0}, {_listener, POLLIN, 0}};
            for (const Link& link : _links)
            {
                fds.push_back({link.client, POLLIN, 0});
                fds.push_back({link.upstream, POLLIN, 0});
            }
            if (::poll(fds.data(), fds.size(), -1) < 0)
            {
                if (errno == EINTR) continue;
                return;
            }
            if (fds[0].revents) return;
            std::vector<Link> open;
            for (std::size_t i = 0; i < _links.size(); ++i)
            {
                const Link link = _links[i];
                const short fromClient = fds[2 + 2 * i].revents, fromRedis = fds[3 + 2 * i].revents;
                const bool alive = (!fromClient || forward(link.client, link.upstream, false)) &&
                                   (!fromRedis || forward(link.upstream, link.client, true));
                if (alive)
                    open.push_back(link);
                else
                {
                    ::close(link.client);
                    ::close(link.upstream);
                }
            }
            _links.swap(open);
            if (fds[1].revents) accept();
        }
    }

    const unsigned short _upstreamPort;
    int _listener = -1;
    int _wake[2] = {-1, -1};
    unsigned short _port = 0;
    std::atomic<int> _accepted{0};
    std::mutex _mutex;
    std::string _garbage;     // guarded by _mutex
    std::string _rewriteFrom; // guarded by _mutex
    std::string _rewriteTo;   // guarded by _mutex
    std::vector<Link> _links; // the forwarding thread's own
    std::thread _thread;
};

} // namespace mt::redis::test
