#include "RedisSocket.h"

#include "MasterLocator.h"
#include "RedisTls.h"

#include <Poco/Logger.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Redis/Error.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace mt::redis {

namespace {

/// Connects a non-blocking socket of `family` within the deadline (it stays
/// non-blocking); closes it and throws on failure.
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
        return fd;
    }
    catch (...)
    {
        ::close(fd);
        throw;
    }
}

int connectUnix(const std::string& path, Deadline deadline)
{
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof(address.sun_path)) throw RedisSocketError("socket path too long: " + path);
    path.copy(address.sun_path, path.size());
    return connectWithin(AF_UNIX, reinterpret_cast<const sockaddr*>(&address), sizeof(address), deadline);
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

/// The stream over a connected fd (taken: closed on failure), after the TLS
/// handshake when TLS is on.
std::unique_ptr<RedisStream> streamOver(int fd, const RedisSettings& settings, const std::string& host, const std::string& peer,
                                        Deadline deadline)
{
    ssl_st* ssl = nullptr;
    try
    {
        if (settings.tls) ssl = settings.tls->handshake(fd, host, deadline);
    }
    catch (...)
    {
        ::close(fd);
        throw;
    }
    std::string hint;
    if (ssl && TlsClient::certificateWanted(ssl))
        hint = "redis asked for a client certificate and none is configured (store.redis.tlsCertFile, tlsKeyFile)";
    return std::make_unique<RedisStream>(fd, ssl, std::move(hint), peer);
}

/// The role HELLO reports ("master", "replica"), or "" from a Redis without
/// HELLO (before 6.0) or a proxy that refuses it.
std::string helloRole(RedisStream& stream, RespParser& parser, Deadline deadline)
{
    const Reply reply = exchangeAll(stream, parser, {{"HELLO", "2"}}, deadline).front();
    const Poco::Redis::Array* fields = asArray(reply);
    if (!fields) return {};
    // RESP2: name, value, name, value, ...
    for (auto it = fields->begin(); it != fields->end() && std::next(it) != fields->end(); it += 2)
        if (bulkText(*it) == "role") return bulkText(*std::next(it));
    return {};
}

} // namespace

int msLeft(Deadline deadline)
{
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    return int(std::clamp<long long>(left, 0, 1 << 30));
}

std::unique_ptr<RedisStream> connectStream(const RedisSettings& settings, const std::string& host, int port,
                                           const std::string& peer, Deadline deadline)
{
    return streamOver(connectTcp(host, port, deadline), settings, host, peer, deadline);
}

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

std::unique_ptr<RedisStream> openStream(const RedisSettings& settings, Deadline deadline, MasterLocator* locator,
                                        bool mustBeMaster)
{
    std::shared_ptr<MasterLocator> own;
    if (!locator && (own = makeLocator(settings, {}, Poco::Logger::get("mt.redis")))) locator = own.get();
    std::unique_ptr<RedisStream> stream;
    if (locator)
    {
        const Endpoint master = locator->locate(deadline);
        try
        {
            stream = connectStream(settings, master.host, master.port, master.text(), deadline);
        }
        catch (const RedisSocketError& e)
        {
            throw RedisSocketError("master at " + master.text() + " (as " + settings.locatedBy() + " say): " + e.what());
        }
    }
    else if (!settings.socket.empty())
        stream = streamOver(connectUnix(settings.socket, deadline), settings, {}, settings.address(), deadline);
    else
        stream = connectStream(settings, settings.host, settings.port, settings.address(), deadline);
    RespParser parser;
    if (auto auth = settings.authCommand(); !auth.empty()) exchange(*stream, parser, {std::move(auth)}, deadline);
    // A sentinel or a cluster node may name a replica before it has caught up
    // with a failover. Elsewhere a replica shows itself at the first write
    // (READONLY), and a connection to a Redis that accepts but does not
    // answer stays cheap, until a READONLY asks for the check (RedisPipeline).
    if (locator || mustBeMaster)
    {
        const std::string role = helloRole(*stream, parser, deadline);
        if (role.empty())
            throw RedisSocketError(stream->peer() + " did not say its role (HELLO): " +
                                   (locator ? "with " + settings.locatedBy() : std::string("after a READONLY")) +
                                   " the store needs Redis 6+");
        if (role != "master")
            throw RedisSocketError(stream->peer() + " is a " + role + ", not the master" +
                                   (locator ? " (" + settings.locatedBy() + " have not caught up with a failover yet)"
                                            : " (it answered READONLY; the store connects again until this address "
                                              "leads to a master)"));
    }
    return stream;
}

RedisStream::RedisStream(int fd, ssl_st* ssl, std::string failureHint, std::string peer)
    : _fd(fd), _ssl(ssl), _failureHint(std::move(failureHint)), _peer(std::move(peer))
{
}

std::string RedisStream::explain(const std::string& what) const
{
    return _failureHint.empty() ? what : what + " (" + _failureHint + ")";
}

template <typename E>
void RedisStream::fail(const std::string& what) const
{
    throw E(explain(what));
}

RedisStream::~RedisStream()
{
    if (_ssl) SSL_free(_ssl);
    ::close(_fd);
}

void RedisStream::shutdown()
{
    ::shutdown(_fd, SHUT_RDWR);
}

void RedisStream::sendAll(const std::string& data, Deadline deadline)
{
    std::size_t sent = 0;
    while (sent < data.size())
    {
        short wanted = POLLOUT;
        if (_ssl)
        {
            std::lock_guard<std::mutex> lock(_sslMutex);
            ERR_clear_error();
            errno = 0;
            const int n = SSL_write(_ssl, data.data() + sent, int(std::min<std::size_t>(data.size() - sent, 1 << 30)));
            if (n > 0)
            {
                sent += std::size_t(n);
                continue;
            }
            const int error = SSL_get_error(_ssl, n);
            if (error == SSL_ERROR_WANT_READ)
                wanted = POLLIN;
            else if (error != SSL_ERROR_WANT_WRITE)
            {
                const std::string why = openSslErrors();
                if (!why.empty()) fail<RedisTlsError>("send: " + why);
                fail<RedisSocketError>(std::string("send: ") + (errno != 0 ? std::strerror(errno) : "connection closed"));
            }
        }
        else
        {
            ssize_t n = ::send(_fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0)
            {
                sent += std::size_t(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (!(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
                fail<RedisSocketError>(std::string("send: ") + (n < 0 ? std::strerror(errno) : "connection closed"));
        }
        if (!waitFor(_fd, wanted, deadline)) fail<RedisSocketError>("send: timed out");
    }
}

RedisStream::Received RedisStream::receiveNow(RespParser& parser)
{
    char buffer[65536];
    if (!_ssl)
    {
        for (;;)
        {
            ssize_t n = ::recv(_fd, buffer, sizeof buffer, MSG_DONTWAIT);
            if (n > 0)
            {
                parser.feed(buffer, std::size_t(n));
                return Received::Data;
            }
            if (n == 0) return Received::Closed;
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return Received::Nothing;
            fail<RedisSocketError>(std::string("recv: ") + std::strerror(errno));
        }
    }
    // Read until OpenSSL needs the socket again: what it decrypted and kept
    // would not make the socket readable, and poll() would wait for nothing.
    std::lock_guard<std::mutex> lock(_sslMutex);
    Received result = Received::Nothing;
    for (;;)
    {
        ERR_clear_error();
        errno = 0;
        const int n = SSL_read(_ssl, buffer, int(sizeof buffer));
        if (n > 0)
        {
            parser.feed(buffer, std::size_t(n));
            result = Received::Data;
            continue;
        }
        const int error = SSL_get_error(_ssl, n);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return result;
        if (error == SSL_ERROR_ZERO_RETURN || (error == SSL_ERROR_SYSCALL && errno == 0 && ERR_peek_error() == 0))
            return result == Received::Data ? result : Received::Closed;
        const std::string why = openSslErrors();
        if (!why.empty()) fail<RedisTlsError>("recv: " + why);
        fail<RedisSocketError>("recv: " + std::string(std::strerror(errno)));
    }
}

void RedisStream::receiveInto(RespParser& parser, Deadline deadline)
{
    for (;;)
    {
        switch (receiveNow(parser))
        {
        case Received::Data:
            return;
        case Received::Closed:
            fail<RedisSocketError>("connection closed by redis");
        case Received::Nothing:
            if (!waitFor(_fd, POLLIN, deadline)) fail<RedisSocketError>("no reply in time");
        }
    }
}

std::vector<Reply> exchangeAll(RedisStream& stream, RespParser& parser,
                               const std::vector<std::vector<std::string>>& commands, Deadline deadline)
{
    std::string wire;
    for (const auto& command : commands) appendCommand(wire, command);
    stream.sendAll(wire, deadline);
    std::vector<Reply> replies;
    while (replies.size() < commands.size())
    {
        if (Reply reply = parser.next())
            replies.push_back(std::move(reply));
        else
            stream.receiveInto(parser, deadline);
    }
    return replies;
}

std::vector<Reply> exchange(RedisStream& stream, RespParser& parser, const std::vector<std::vector<std::string>>& commands,
                            Deadline deadline)
{
    std::vector<Reply> replies = exchangeAll(stream, parser, commands, deadline);
    for (std::size_t i = 0; i < replies.size(); ++i)
        if (replies[i]->isError())
        {
            // Never echo AUTH's password into a log line.
            throw RedisSocketError((commands[i].empty() ? std::string("?") : commands[i][0]) + " refused: " +
                                   errorMessage(replies[i]));
        }
    return replies;
}

std::string printableReply(const Reply& reply, std::size_t max)
{
    static const char* const kHex = "0123456789abcdef";
    const std::string raw = reply ? reply->toString() : std::string("(none)");
    std::string out;
    for (std::size_t i = 0; i < raw.size() && out.size() < max; ++i)
    {
        const unsigned char c = static_cast<unsigned char>(raw[i]);
        if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else if (c < 0x20 || c == 0x7f) out += std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
        else out += static_cast<char>(c);
    }
    return out;
}

std::string errorMessage(const Reply& reply)
{
    auto* error = dynamic_cast<const Poco::Redis::Type<Poco::Redis::Error>*>(reply.get());
    return error ? error->value().getMessage() : std::string();
}

} // namespace mt::redis
