#pragma once
// The read side of a connection: one fixed buffer that the head parser and
// the body readers work on in place (no copies), filled from a blocking
// socket whose SO_RCVTIMEO is the server's read timeout.

#include <cstddef>
#include <memory>

namespace mt::http {

class SocketInput
{
public:
    enum class TryResult { Data, WouldBlock, Eof };

    SocketInput(int fd, std::size_t capacity);

    const char* data() const { return _buf.get() + _pos; }
    std::size_t available() const { return _len - _pos; }
    void consume(std::size_t n) { _pos += n; }
    std::size_t capacity() const { return _capacity; }
    /// True if the unread bytes already fill the whole buffer.
    bool full() const { return _pos == 0 && _len == _capacity; }

    /// Blocks until more bytes arrive (up to the socket's read timeout).
    /// Returns the number read, 0 on end of stream. Throws ProtocolError(408)
    /// on timeout and ConnectionLost on a socket error. Existing unread bytes
    /// may move, so pointers from data() are invalid afterwards.
    std::size_t fill();
    /// fill() without waiting.
    TryResult tryFill();

private:
    std::size_t prepare();

    int _fd;
    std::size_t _capacity;
    std::unique_ptr<char[]> _buf;
    std::size_t _pos = 0;
    std::size_t _len = 0;
};

} // namespace mt::http
