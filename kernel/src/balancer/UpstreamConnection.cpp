#include "balancer/UpstreamConnection.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

namespace mt::balancer {

namespace {

const std::size_t kBufferSize = 16 * 1024;
const std::size_t kMaxHead = 64 * 1024;

std::string errnoText(int e) { return std::strerror(e); }

} // namespace

UpstreamConnection::UpstreamConnection(const sockaddr_storage& address, socklen_t length, int connectTimeoutMs)
    : _buf(kBufferSize)
{
    _fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (_fd < 0) throw UpstreamError(UpstreamError::Kind::Connect, "socket: " + errnoText(errno));
    int rc = ::connect(_fd, reinterpret_cast<const sockaddr*>(&address), length);
    if (rc != 0 && errno != EINPROGRESS)
    {
        int e = errno;
        ::close(_fd);
        _fd = -1;
        throw UpstreamError(UpstreamError::Kind::Connect, "connect: " + errnoText(e));
    }
    if (rc != 0)
    {
        pollfd p{_fd, POLLOUT, 0};
        int n = ::poll(&p, 1, connectTimeoutMs);
        int err = 0;
        socklen_t len = sizeof(err);
        if (n == 1) ::getsockopt(_fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (n != 1 || err != 0)
        {
            ::close(_fd);
            _fd = -1;
            throw UpstreamError(UpstreamError::Kind::Connect,
                                n == 0 ? "connect timed out" : "connect: " + errnoText(n == 1 ? err : errno));
        }
    }
    int flags = ::fcntl(_fd, F_GETFL);
    ::fcntl(_fd, F_SETFL, flags & ~O_NONBLOCK);
    int one = 1;
    ::setsockopt(_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

UpstreamConnection::~UpstreamConnection()
{
    if (_fd >= 0) ::close(_fd);
}

bool UpstreamConnection::stillOpen() const
{
    if (_fd < 0 || _pos != _end) return false;
    pollfd p{_fd, POLLIN, 0};
    // Readable on an idle connection means EOF, a reset or bytes nobody asked for: unusable.
    return ::poll(&p, 1, 0) == 0;
}

void UpstreamConnection::setTimeout(int ms)
{
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    ::setsockopt(_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void UpstreamConnection::send(const char* data, std::size_t size)
{
    _reusable = false;
    while (size > 0)
    {
        ssize_t n = ::send(_fd, data, size, MSG_NOSIGNAL);
        if (n < 0)
        {
            if (errno == EINTR) continue;
            int e = errno;
            throw UpstreamError(e == EAGAIN || e == EWOULDBLOCK ? UpstreamError::Kind::Timeout : UpstreamError::Kind::Reset,
                                "send: " + errnoText(e));
        }
        _bytesSent += static_cast<std::uint64_t>(n);
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

std::size_t UpstreamConnection::fill()
{
    if (_pos == _end) _pos = _end = 0;
    if (_end == _buf.size())
    {
        if (_pos > 0)
        {
            std::memmove(_buf.data(), _buf.data() + _pos, _end - _pos);
            _end -= _pos;
            _pos = 0;
        }
        else if (_buf.size() < kMaxHead)
            _buf.resize(_buf.size() * 2);
        else
            throw UpstreamError(UpstreamError::Kind::Protocol, "response head larger than 64 KiB");
    }
    for (;;)
    {
        ssize_t n = ::recv(_fd, _buf.data() + _end, _buf.size() - _end, 0);
        if (n >= 0)
        {
            _end += static_cast<std::size_t>(n);
            return static_cast<std::size_t>(n);
        }
        if (errno == EINTR) continue;
        int e = errno;
        throw UpstreamError(e == EAGAIN || e == EWOULDBLOCK ? UpstreamError::Kind::Timeout : UpstreamError::Kind::Reset,
                            "recv: " + errnoText(e));
    }
}

std::size_t UpstreamConnection::readLine(std::string_view& line)
{
    for (;;)
    {
        const char* begin = _buf.data() + _pos;
        const void* nl = std::memchr(begin, '\n', _end - _pos);
        if (nl)
        {
            std::size_t len = static_cast<const char*>(nl) - begin;
            line = std::string_view(begin, len > 0 && begin[len - 1] == '\r' ? len - 1 : len);
            _pos += len + 1;
            return len + 1;
        }
        if (_end - _pos > 4096) throw UpstreamError(UpstreamError::Kind::Protocol, "chunk line too long");
        if (fill() == 0) throw UpstreamError(UpstreamError::Kind::Reset, "node closed the connection mid-body");
    }
}

void UpstreamConnection::readHead(ResponseHead& head, bool headRequest)
{
    _reusable = false;
    for (;;)
    {
        std::size_t scanned = 0;
        for (;;)
        {
            std::string_view window(_buf.data() + _pos, _end - _pos);
            auto end = window.find("\r\n\r\n", scanned > 3 ? scanned - 3 : 0);
            if (end != std::string_view::npos)
            {
                if (!head.parse(window.substr(0, end + 2)))
                    throw UpstreamError(UpstreamError::Kind::Protocol, "malformed response head");
                _pos += end + 4;
                break;
            }
            scanned = window.size();
            if (fill() == 0)
                throw UpstreamError(UpstreamError::Kind::Reset,
                                    _end == _pos ? "node closed the connection before answering"
                                                 : "node closed the connection mid-head");
        }
        if (head.status >= 100 && head.status < 200 && head.status != 101) continue; // interim: the final one follows
        break;
    }
    _close = head.close || head.status == 101;
    if (!head.hasBody(headRequest))
        _body = Body::Done;
    else if (head.chunked)
        _body = Body::Chunked, _remaining = 0;
    else if (head.contentLength >= 0)
        _body = head.contentLength == 0 ? Body::Done : Body::Fixed, _remaining = head.contentLength;
    else
        _body = Body::UntilClose, _close = true;
    _reusable = _body == Body::Done && !_close;
}

bool UpstreamConnection::readBody(const char*& data, std::size_t& size)
{
    for (;;)
    {
        switch (_body)
        {
        case Body::Done:
        case Body::None:
            _reusable = !_close && _pos == _end;
            return false;
        case Body::Fixed:
        case Body::UntilClose:
        {
            if (_pos == _end && fill() == 0)
            {
                if (_body == Body::UntilClose)
                {
                    _body = Body::Done;
                    continue;
                }
                throw UpstreamError(UpstreamError::Kind::Reset, "node closed the connection mid-body");
            }
            std::size_t n = _end - _pos;
            if (_body == Body::Fixed && static_cast<long long>(n) > _remaining) n = static_cast<std::size_t>(_remaining);
            data = _buf.data() + _pos;
            size = n;
            _pos += n;
            if (_body == Body::Fixed && (_remaining -= static_cast<long long>(n)) == 0) _body = Body::Done;
            return true;
        }
        case Body::Chunked:
        {
            if (_remaining < 0)
            {
                std::string_view crlf;
                readLine(crlf); // the CRLF that ends the previous chunk's data
                if (!crlf.empty()) throw UpstreamError(UpstreamError::Kind::Protocol, "chunk data longer than its size");
                _remaining = 0;
            }
            if (_remaining == 0)
            {
                std::string_view line;
                readLine(line);
                long long n = 0;
                auto r = std::from_chars(line.data(), line.data() + line.size(), n, 16);
                if (r.ec != std::errc() || n < 0)
                    throw UpstreamError(UpstreamError::Kind::Protocol, "bad chunk size");
                if (n == 0)
                {
                    // Trailer fields up to the empty line; a proxy may drop them (RFC 9110 6.5.1).
                    do readLine(line);
                    while (!line.empty());
                    _body = Body::Done;
                    continue;
                }
                _remaining = n;
            }
            if (_pos == _end && fill() == 0)
                throw UpstreamError(UpstreamError::Kind::Reset, "node closed the connection mid-chunk");
            std::size_t n = std::min<std::size_t>(_end - _pos, static_cast<std::size_t>(_remaining));
            data = _buf.data() + _pos;
            size = n;
            _pos += n;
            _remaining -= static_cast<long long>(n);
            // The chunk's CRLF may not be buffered yet: it is read on the next call.
            if (_remaining == 0) _remaining = -1;
            return true;
        }
        }
    }
}

} // namespace mt::balancer
