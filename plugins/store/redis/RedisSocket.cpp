#include "RedisSocket.h"

#include <Poco/Net/SocketAddress.h>
#include <Poco/Redis/Error.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace mt::redis {

namespace {

int msLeft(Deadline deadline)
{
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    return int(std::clamp<long long>(left, 0, 1 << 30));
}

/// Waits for `events` on fd until the deadline; false on timeout.
bool waitFor(int fd, short events, Deadline deadline)
{
    for (;;)
    {
        pollfd p{fd, events, 0};
        int r = ::poll(&p, 1, msLeft(deadline));
        if (r > 0) return true;
        if (r == 0) return false;
        if (errno != EINTR) throw RedisSocketError(std::string("poll: ") + std::strerror(errno));
    }
}

/// Connects a non-blocking socket of `family` within the deadline and makes
/// it blocking; closes it and throws on failure.
int connectWithin(int family, const sockaddr* address, socklen_t length, Deadline deadline)
{
    int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) throw RedisSocketError(std::string("socket: ") + std::strerror(errno));
    try
    {
        // A Unix socket whose listen backlog is full says EAGAIN rather than
        // EINPROGRESS, and becoming writable does not finish it: try again.
        int result = 0;
        while ((result = ::connect(fd, address, length)) != 0 && errno == EAGAIN && family == AF_UNIX)
        {
            if (std::chrono::steady_clock::now() >= deadline) throw RedisSocketError("connect: timed out (backlog full)");
            ::poll(nullptr, 0, 1);
        }
        if (result != 0)
        {
            if (errno != EINPROGRESS) throw RedisSocketError(std::string("connect: ") + std::strerror(errno));
            if (!waitFor(fd, POLLOUT, deadline)) throw RedisSocketError("connect: timed out");
            int error = 0;
            socklen_t len = sizeof(error);
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
            if (error != 0) throw RedisSocketError(std::string("connect: ") + std::strerror(error));
        }
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        return fd;
    }
    catch (...)
    {
        ::close(fd);
        throw;
    }
}

int connectTcp(const std::string& host, int port, Deadline deadline)
{
    Poco::Net::SocketAddress address;
    try
    {
        address = Poco::Net::SocketAddress(host, static_cast<Poco::UInt16>(port));
    }
    catch (const Poco::Exception& e)
    {
        throw RedisSocketError("cannot resolve " + host + ": " + e.displayText());
    }
    int fd = connectWithin(address.family() == Poco::Net::SocketAddress::IPv6 ? AF_INET6 : AF_INET, address.addr(),
                           address.length(), deadline);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int connectUnix(const std::string& path, Deadline deadline)
{
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof(address.sun_path)) throw RedisSocketError("socket path too long: " + path);
    path.copy(address.sun_path, path.size());
    return connectWithin(AF_UNIX, reinterpret_cast<const sockaddr*>(&address), sizeof(address), deadline);
}

} // namespace

int connectTo(const RedisSettings& settings, Deadline deadline)
{
    return settings.socket.empty() ? connectTcp(settings.host, settings.port, deadline)
                                   : connectUnix(settings.socket, deadline);
}

void sendAll(int fd, const std::string& data, Deadline deadline)
{
    std::size_t sent = 0;
    while (sent < data.size())
    {
        ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
        {
            sent += std::size_t(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
            if (!waitFor(fd, POLLOUT, deadline)) throw RedisSocketError("send: timed out");
            continue;
        }
        throw RedisSocketError(std::string("send: ") + (n < 0 ? std::strerror(errno) : "connection closed"));
    }
}

void receiveInto(int fd, RespParser& parser, Deadline deadline)
{
    char buffer[16384];
    for (;;)
    {
        ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0)
        {
            parser.feed(buffer, std::size_t(n));
            return;
        }
        if (n == 0) throw RedisSocketError("connection closed by redis");
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) throw RedisSocketError(std::string("recv: ") + std::strerror(errno));
        if (!waitFor(fd, POLLIN, deadline)) throw RedisSocketError("no reply in time");
    }
}

std::vector<Reply> exchange(int fd, RespParser& parser, const std::vector<std::vector<std::string>>& commands,
                            Deadline deadline)
{
    std::string wire;
    for (const auto& command : commands) appendCommand(wire, command);
    sendAll(fd, wire, deadline);
    std::vector<Reply> replies;
    while (replies.size() < commands.size())
    {
        Reply reply = parser.next();
        if (!reply)
        {
            receiveInto(fd, parser, deadline);
            continue;
        }
        if (reply->isError())
        {
            const auto& command = commands[replies.size()];
            // Never echo AUTH's password into a log line.
            throw RedisSocketError((command.empty() ? std::string("?") : command[0]) + " refused: " + errorMessage(reply));
        }
        replies.push_back(reply);
    }
    return replies;
}

std::string errorMessage(const Reply& reply)
{
    auto* error = dynamic_cast<const Poco::Redis::Type<Poco::Redis::Error>*>(reply.get());
    return error ? error->value().getMessage() : std::string();
}

} // namespace mt::redis
