#pragma once
// One HTTP/1.1 connection from the balancer to an app node, on a plain
// blocking socket with timeouts (SO_RCVTIMEO/SO_SNDTIMEO): the worker thread
// that runs the client's request runs the upstream exchange too. Raw
// sockets rather than Poco's HTTPClientSession: the proxy needs to know
// exactly whether any byte was sent (retry safety) and to stream bodies
// without re-parsing them into Poco's message objects.
// Thread-safety: one thread at a time (the pool hands it to one request).

#include "balancer/ResponseHead.h"
#include "balancer/UpstreamError.h"
#include "mt/SessionData.h"

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mt::balancer {

class UpstreamConnection
{
public:
    /// Connects (non-blocking connect bounded by connectTimeoutMs). Throws UpstreamError(Connect).
    UpstreamConnection(const sockaddr_storage& address, socklen_t length, int connectTimeoutMs);
    ~UpstreamConnection();
    UpstreamConnection(const UpstreamConnection&) = delete;
    UpstreamConnection& operator=(const UpstreamConnection&) = delete;

    /// A pooled connection is reused only if the node has not closed it
    /// meanwhile (nothing readable: no EOF, no stray bytes).
    bool stillOpen() const;
    void setTimeout(int ms);

    /// Sends everything. Throws UpstreamError(Reset/Timeout); `sent` tells
    /// whether any byte of this call left before the failure.
    void send(const char* data, std::size_t size);
    std::uint64_t bytesSent() const { return _bytesSent; }

    /// Reads the next response head, skipping 1xx interim responses. Throws
    /// UpstreamError (Reset when the node closed before answering, Timeout, Protocol).
    void readHead(ResponseHead& head, bool headRequest);
    /// The next piece of the body in [data, data+size), valid until the next
    /// call; false at the end. Throws UpstreamError.
    bool readBody(const char*& data, std::size_t& size);
    /// Can go back to the pool: the whole response was read and the node keeps the connection.
    bool reusable() const { return _reusable; }

    std::uint64_t generation = 0; ///< the pool's generation when it was opened
    TimeMs idleSince = 0;

private:
    enum class Body { None, Fixed, Chunked, UntilClose, Done };
    std::size_t fill(); ///< reads more into the buffer; 0 at EOF
    std::size_t readLine(std::string_view& line);

    int _fd = -1;
    std::vector<char> _buf;
    std::size_t _pos = 0, _end = 0;
    Body _body = Body::Done;
    long long _remaining = 0;
    bool _reusable = false;
    bool _close = false;
    std::uint64_t _bytesSent = 0;
};

} // namespace mt::balancer
