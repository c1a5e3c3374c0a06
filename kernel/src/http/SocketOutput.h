#pragma once
// The write side of a connection. A response's head and small bodies are
// gathered in `pending` and leave in one send() at the end of the request;
// large bodies go out with writev() without being copied.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace mt::http {

class SocketOutput
{
public:
    explicit SocketOutput(int fd);

    /// Bytes waiting to be sent; append to it.
    std::string& pending() { return _pending; }
    /// Sends everything pending. Throws ConnectionLost.
    void flush();
    /// Sends pending bytes followed by [data, data+size) in one call.
    void flushWith(const char* data, std::size_t size);
    /// Sends what the socket takes without waiting; true when nothing is left.
    /// Throws ConnectionLost.
    bool tryFlush();
    /// How many times bytes were sent: unchanged means nothing left yet.
    std::uint64_t writes() const { return _writes; }
    /// Runs before every send that has bytes to go; the connection counts
    /// the request whose answer starts to leave there.
    void setBeforeSend(std::function<void()> hook) { _beforeSend = std::move(hook); }

private:
    int _fd;
    std::string _pending;
    std::uint64_t _writes = 0;
    std::function<void()> _beforeSend;
};

} // namespace mt::http
