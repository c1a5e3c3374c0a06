#include "monitor/EventStream.h"
#include "cluster/NodeEventJson.h"
#include "util/Clock.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Timestamp.h>

#include <chrono>
#include <sstream>
#include <thread>

namespace mt::monitor {

EventStream::EventStream(Source source, std::function<bool()> shouldStop, Options options)
    : _source(std::move(source)), _shouldStop(std::move(shouldStop)), _options(options)
{
}

std::string EventStream::eventJson(const NodeEvent& e)
{
    std::ostringstream out;
    toJson(e)->stringify(out); // one line: SSE data must not contain a bare newline
    return out.str();
}

std::string EventStream::formatEvent(const NodeEvent& event)
{
    return "id: " + std::to_string(event.sequence) + "\ndata: " + eventJson(event) + "\n\n";
}

std::string EventStream::formatTruncated(std::uint64_t since, std::uint64_t firstAvailable, std::uint64_t latest)
{
    return "event: truncated\ndata: {\"since\":" + std::to_string(since) +
           ",\"firstAvailable\":" + std::to_string(firstAvailable) + ",\"latest\":" + std::to_string(latest) +
           ",\"message\":\"events " + std::to_string(since + 1) + ".." + std::to_string(firstAvailable - 1) +
           " are no longer in the event log\"}\n\n";
}

std::uint64_t EventStream::run(std::ostream& out, std::uint64_t since)
{
    std::uint64_t written = 0;
    // retry: how long a browser waits before reconnecting (with Last-Event-ID).
    out << "retry: 1000\n: events after " << since << "\n\n";
    out.flush();
    std::int64_t lastWrite = steadyNowMs();
    while (out && !_shouldStop())
    {
        auto page = _source(since, _options.pageSize);
        bool wrote = false;
        if (page.truncated)
        {
            std::uint64_t first = page.events.empty() ? page.latest + 1 : page.events.front().sequence;
            out << formatTruncated(since, first, page.latest);
            if (page.events.empty()) since = page.latest;
            wrote = true;
        }
        for (const auto& event : page.events)
        {
            out << formatEvent(event);
            since = event.sequence;
            ++written;
            wrote = true;
        }
        const std::int64_t now = steadyNowMs();
        if (wrote)
        {
            out.flush();
            lastWrite = now;
        }
        else if (now - lastWrite >= _options.keepAliveMs)
        {
            out << ": keep-alive\n\n";
            out.flush();
            lastWrite = now;
        }
        if (page.events.size() >= _options.pageSize) continue; // more waiting: no pause
        std::this_thread::sleep_for(std::chrono::milliseconds(_options.pollMs));
    }
    return written;
}

} // namespace mt::monitor
