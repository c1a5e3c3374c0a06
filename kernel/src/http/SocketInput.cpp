#include "http/SocketInput.h"

#include "http/ProtocolError.h"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>

namespace mt::http {

SocketInput::SocketInput(int fd, std::size_t capacity):
    _fd(fd), _capacity(capacity), _buf(new char[capacity])
{
}

std::size_t SocketInput::prepare()
{
    if (_pos == _len)
    {
        _pos = _len = 0;
    }
    else if (_len == _capacity && _pos > 0)
    {
        std::memmove(_buf.get(), _buf.get() + _pos, _len - _pos);
        _len -= _pos;
        _pos = 0;
    }
    return _capacity - _len;
}

std::size_t SocketInput::fill()
{
    std::size_t room = prepare();
    if (room == 0) throw ProtocolError(400, "input buffer full");
    for (;;)
    {
        ssize_t n = ::recv(_fd, _buf.get() + _len, room, 0);
        if (n >= 0)
        {
            _len += static_cast<std::size_t>(n);
            return static_cast<std::size_t>(n);
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) throw ProtocolError(408, "read timeout");
        throw ConnectionLost(std::strerror(errno));
    }
}

SocketInput::TryResult SocketInput::tryFill()
{
    std::size_t room = prepare();
    if (room == 0) return TryResult::Data;
    for (;;)
    {
        ssize_t n = ::recv(_fd, _buf.get() + _len, room, MSG_DONTWAIT);
        if (n > 0)
        {
            _len += static_cast<std::size_t>(n);
            return TryResult::Data;
        }
        if (n == 0) return TryResult::Eof;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return TryResult::WouldBlock;
        return TryResult::Eof;
    }
}

} // namespace mt::http
