#pragma once
// State shared by the listener threads and every connection: the settings,
// the dispatcher, the counters behind HttpServer::stats() and the stop flag.

#include "http/Dispatcher.h"
#include "http/HttpServer.h"
#include "http/ServerLimits.h"
#include "util/ThrottledLog.h"

#include <Poco/Logger.h>

#include <atomic>
#include <cstdint>

namespace mt::http {

struct ServerContext
{
    ServerContext(const ServerLimits& l, Dispatcher& d, Poco::Logger& lg):
        limits(l), dispatcher(d), logger(lg)
    {
    }

    const ServerLimits limits;
    Dispatcher& dispatcher;
    Poco::Logger& logger;
    HttpServer::AccessLog accessLog;
    /// Responses replaced by an error before they left (a session write the
    /// store refused): as many as the requests while a store fails.
    ThrottledLog refusals{logger};

    std::atomic<bool> stopping{false};

    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> errors{0};
    std::atomic<std::uint64_t> rejected{0};
    std::atomic<std::uint64_t> processingTimeUs{0};
    std::atomic<std::int64_t> openConnections{0};
    std::atomic<std::int64_t> activeRequests{0};
};

} // namespace mt::http
