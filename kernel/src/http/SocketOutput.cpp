#include "http/SocketOutput.h"

#include "http/ProtocolError.h"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/uio.h>

namespace mt::http {

SocketOutput::SocketOutput(int fd): _fd(fd)
{
    _pending.reserve(4096);
}

void SocketOutput::flush()
{
    flushWith(nullptr, 0);
}

void SocketOutput::flushWith(const char* data, std::size_t size)
{
    iovec iov[2];
    iov[0].iov_base = _pending.data();
    iov[0].iov_len = _pending.size();
    iov[1].iov_base = const_cast<char*>(data);
    iov[1].iov_len = size;
    int first = 0;
    while (first < 2 && iov[first].iov_len == 0) ++first;
    if (first < 2)
    {
        ++_writes;
        if (_beforeSend) _beforeSend();
    }
    while (first < 2)
    {
        msghdr msg{};
        msg.msg_iov = iov + first;
        msg.msg_iovlen = static_cast<std::size_t>(2 - first);
        ssize_t n = ::sendmsg(_fd, &msg, MSG_NOSIGNAL);
        if (n < 0)
        {
            if (errno == EINTR) continue;
            _pending.clear();
            // EAGAIN here means SO_SNDTIMEO expired: the client stopped reading.
            throw ConnectionLost(errno == EAGAIN ? "write timeout" : std::strerror(errno));
        }
        auto left = static_cast<std::size_t>(n);
        while (first < 2 && left >= iov[first].iov_len)
        {
            left -= iov[first].iov_len;
            ++first;
        }
        if (first < 2)
        {
            iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
            iov[first].iov_len -= left;
        }
    }
    _pending.clear();
}

bool SocketOutput::tryFlush()
{
    if (!_pending.empty() && _beforeSend) _beforeSend();
    std::size_t sent = 0;
    while (sent < _pending.size())
    {
        ssize_t n = ::send(_fd, _pending.data() + sent, _pending.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
        {
            if (sent == 0) ++_writes;
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        _pending.clear();
        throw ConnectionLost(n < 0 ? std::strerror(errno) : "connection closed");
    }
    _pending.erase(0, sent);
    return _pending.empty();
}

} // namespace mt::http
