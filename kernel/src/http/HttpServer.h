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
#include <functional>
#include <string>
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

/// One line of the access log; the server reports every response, its own
/// 400/408/413/414/431 answers included.
struct AccessRecord
{
    std::string client;       ///< "ip:port"
    std::string method;       ///< "-" if the request line never arrived
    std::string uri;
    std::string version;
    int status = 0;
    long long bytes = 0;      ///< body bytes sent
    std::int64_t durationUs = 0;
    std::string referer;
    std::string userAgent;
};

class HttpServer
{
public:
    using AccessLog = std::function<void(const AccessRecord&)>;

    /// The dispatcher must outlive the server. Binds at start().
    HttpServer(const ServerLimits& limits, Dispatcher& dispatcher, Poco::Logger& logger);
    ~HttpServer(); ///< stop(0) if still running

    /// Set before start(); called on the worker thread after each response.
    void setAccessLog(AccessLog sink);
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
