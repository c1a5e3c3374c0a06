#pragma once
// Application and access logs on Poco's logging. Both go through an
// AsyncChannel so that a slow terminal or disk never stalls a worker.
// Level, pattern and the access log switch/format change live on reload.
// Thread-safety: logAccess() from any thread; apply() from one thread.

#include "config/ServerConfig.h"
#include "http/HttpServer.h"

#include <Poco/AsyncChannel.h>
#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>

#include <atomic>
#include <string>

namespace mt {

class Logging
{
public:
    Logging();
    ~Logging();
    /// First call sets up the channels; later calls change what may change live.
    void apply(const ServerConfig& config);
    void logAccess(const http::AccessRecord& record);

private:
    bool _configured = false;
    std::string _pattern;
    Poco::AutoPtr<Poco::Channel> _target;               // the application log's file/console
    Poco::AutoPtr<Poco::Channel> _sink, _accessSink;   // formatting + file/console
    Poco::AutoPtr<Poco::AsyncChannel> _async, _accessAsync;
    std::atomic<bool> _accessEnabled{true};
    std::atomic<bool> _accessCombined{true};
};

} // namespace mt
