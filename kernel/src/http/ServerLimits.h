#pragma once
// Settings of the HTTP listener. Plain values, copied into the server at start.

#include <cstddef>
#include <string>

namespace mt::http {

struct ServerLimits
{
    std::string host = "0.0.0.0";
    unsigned short port = 8080;           ///< 0 picks a free port (see HttpServer::port())
    int threads = 32;                     ///< worker threads that run requests
    int maxConnections = 10000;           ///< open connections; more are refused at accept
    bool keepAlive = true;
    int keepAliveTimeoutMs = 15000;       ///< an idle kept-alive connection is closed after this
    int maxKeepAliveRequests = 0;         ///< 0: unlimited
    int readTimeoutMs = 20000;            ///< a request head or body that stalls this long gets 408
    std::size_t minBodyRate = 240;        ///< bytes/s a body must arrive at once minBodyRateGraceMs of waiting passed (0: none); slower gets 408
    int minBodyRateGraceMs = 5000;
    std::size_t maxHeaderBytes = 16384;   ///< request line + headers; more gets 431 (414 for the URI alone)
    int maxHeaderFields = 100;            ///< more gets 431
    std::size_t maxBodyBytes = 10 * 1024 * 1024; ///< more gets 413
    std::string serverHeader = "MicroTomcat";
    std::string name = "http";            ///< its threads' names start with it: <name>-accept, -poll, -w<n>
};

} // namespace mt::http
