#pragma once
// The HTTP/1.1 listener: an acceptor, a fixed pool of worker threads that run
// requests, and an epoll poller that holds idle kept-alive connections so
// that they do not occupy workers (Poco's HTTPServer keeps one thread per
// kept-alive connection, which starves clients beyond the pool size).
//
// PUBLIC INTERFACE FIXED; the http module owns the implementation.
// Thread-safety: start/stop from one controlling thread; stats() from any.

#include "http/Dispatcher.h"
#include "http/ServerLimits.h"

#include <Poco/Logger.h>

#include <cstdint>
#include <memory>

namespace mt::http {

struct ServerStats
{
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;          ///< responses with status >= 500
    std::uint64_t rejected = 0;        ///< 400/408/413/414/431 answered by the server itself
    std::int64_t openConnections = 0;
    std::int64_t activeRequests = 0;
    std::uint64_t processingTimeUs = 0;
};

class HttpServer
{
public:
    /// The dispatcher must outlive the server. Binds at start().
    HttpServer(const ServerLimits& limits, Dispatcher& dispatcher, Poco::Logger& logger);
    ~HttpServer(); ///< stop(0) if still running

    /// Binds and starts accepting; throws Poco::Net::NetException naming host:port on failure.
    void start();
    /// The bound port (useful with port 0).
    unsigned short port() const;
    /// Stops accepting, closes idle connections, lets requests in flight
    /// finish for up to drainTimeoutMs, then closes everything. Returns the
    /// number of requests that had to be cut off (0 = clean drain).
    int stop(int drainTimeoutMs);
    ServerStats stats() const;

private:
    struct Impl;
    std::unique_ptr<Impl> _impl;
};

} // namespace mt::http
