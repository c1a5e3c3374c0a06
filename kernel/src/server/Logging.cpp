#include "server/Logging.h"

#include "mt/ThreadName.h"

#include <Poco/AsyncChannel.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/FileChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>
#include <Poco/Timestamp.h>

#include <iostream>
#include <utility>

namespace mt {

namespace {

/// Poco names its threads only in debug builds (POCO_POSIX_DEBUGGER_THREAD_NAMES).
class NamedAsyncChannel: public Poco::AsyncChannel
{
public:
    NamedAsyncChannel(Poco::Channel::Ptr target, std::string threadName):
        Poco::AsyncChannel(std::move(target)),
        _threadName(std::move(threadName))
    {
    }

protected:
    ~NamedAsyncChannel() override
    {
        close(); // joins the thread while this part of the object still exists
    }

    void run() override
    {
        nameThisThread(_threadName);
        Poco::AsyncChannel::run();
    }

private:
    const std::string _threadName;
};

Poco::AutoPtr<Poco::Channel> sinkFor(const std::string& file, std::ostream& console)
{
    if (file.empty()) return new Poco::ConsoleChannel(console);
    Poco::AutoPtr<Poco::FileChannel> channel(new Poco::FileChannel(file));
    channel->setProperty("rotation", "100 M");
    channel->setProperty("archive", "timestamp");
    channel->setProperty("purgeCount", "10");
    return channel;
}

Poco::Logger& accessLogger()
{
    static Poco::Logger& logger = Poco::Logger::get("access");
    return logger;
}

} // namespace

Logging::Logging() = default;

Logging::~Logging()
{
    if (!_configured) return;
    // Flush the async queues before the process goes, and log synchronously
    // from here on. Not Poco::Logger::shutdown(): that frees every Logger,
    // and Poco's Application still uses its own afterwards (it crashed in
    // Application::uninitialize() now and then).
    Poco::Logger::setChannel("", _sink);
    accessLogger().setChannel(_accessSink);
    _async->close();
    _accessAsync->close();
}

void Logging::apply(const ServerConfig& config)
{
    if (!_configured)
    {
        _pattern = config.logFormat;
        _target = sinkFor(config.logFile, std::cerr);
        _sink = new Poco::FormattingChannel(new Poco::PatternFormatter(_pattern), _target);
        _async = new NamedAsyncChannel(_sink, "app-log");
        // Loggers copy their parent's channel when created, so loggers made
        // before this point (the kernel's own) need the channel set too.
        Poco::Logger::setChannel("", _async);

        Poco::AutoPtr<Poco::PatternFormatter> plain(new Poco::PatternFormatter("%t"));
        _accessSink = new Poco::FormattingChannel(plain, sinkFor(config.accessLogFile, std::cout));
        _accessAsync = new NamedAsyncChannel(_accessSink, "access-log");
        accessLogger().setChannel(_accessAsync);
        accessLogger().setLevel(Poco::Message::PRIO_INFORMATION);
        _configured = true;
    }
    else if (config.logFormat != _pattern)
    {
        // A new formatter rather than setProperty on the live one: the async
        // thread may be formatting with it, and Poco's formatter is not
        // synchronised. AsyncChannel swaps its channel under the lock it
        // logs under.
        _pattern = config.logFormat;
        _sink = new Poco::FormattingChannel(new Poco::PatternFormatter(_pattern), _target);
        _async->setChannel(_sink);
    }
    // Every logger below the root, those plugins made included, follows the configured level.
    Poco::Logger::setLevel("", Poco::Logger::parseLevel(config.logLevel));
    accessLogger().setLevel(Poco::Message::PRIO_INFORMATION);
    _accessEnabled = config.accessLogEnabled;
    _accessCombined = config.accessLogFormat == "combined";
}

void Logging::logAccess(const http::AccessRecord& r)
{
    if (!_accessEnabled.load(std::memory_order_relaxed)) return;
    // NCSA common/combined: host ident user [time] "request" status bytes ["referer" "agent"]
    std::string host = r.client.substr(0, r.client.rfind(':'));
    std::string line;
    line.reserve(200);
    line += host.empty() ? "-" : host;
    line += " - - [";
    line += Poco::DateTimeFormatter::format(Poco::Timestamp(), "%d/%b/%Y:%H:%M:%S +0000");
    line += "] \"";
    line += r.method + " " + r.uri + " " + r.version;
    line += "\" " + std::to_string(r.status) + " " + (r.bytes > 0 ? std::to_string(r.bytes) : "-");
    if (_accessCombined.load(std::memory_order_relaxed))
    {
        line += " \"" + (r.referer.empty() ? "-" : r.referer) + "\" \"" + (r.userAgent.empty() ? "-" : r.userAgent) + "\"";
    }
    line += " " + std::to_string(r.durationUs) + "us";
    accessLogger().information(line);
}

} // namespace mt
