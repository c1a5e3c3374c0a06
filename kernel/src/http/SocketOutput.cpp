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

} // namespace mt::http
