#pragma once
// The write side of a connection. A response's head and small bodies are
// gathered in `pending` and leave in one send() at the end of the request;
// large bodies go out with writev() without being copied.

#include <cstddef>
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

private:
    int _fd;
    std::string _pending;
};

} // namespace mt::http
