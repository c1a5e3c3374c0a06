#pragma once
// GET /cluster/events as Server-Sent Events: every event of the cluster's
// event log after a sequence number, in order, each with "id: <sequence>"
// so that a browser's EventSource (or any client) resumes with
// Last-Event-ID and misses nothing. A client that fell behind the log's
// retention gets an explicit "event: truncated" first, naming the first
// sequence still held. Comment lines every keepAlive keep proxies from
// timing the stream out and find clients that went away.
//
// The stream polls the log (every pollMs) rather than waiting on a
// listener: NodeStatusManager's listeners do not see recordEvent()
// entries, and a poll of an in-memory ring is cheap.
// Thread-safety: one EventStream per connection, run on its worker thread.

#include "cluster/NodeStatusManager.h"

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace mt::monitor {

class EventStream
{
public:
    using Source = std::function<NodeStatusManager::EventPage(std::uint64_t since, std::size_t limit)>;

    struct Options
    {
        int pollMs = 200;
        int keepAliveMs = 5000;
        std::size_t pageSize = 500;
    };

    EventStream(Source source, std::function<bool()> shouldStop, Options options);

    /// Writes events after `since` to `out` (flushing after each batch) until
    /// shouldStop() says so or a write fails (the client went away). Returns
    /// the number of events written.
    std::uint64_t run(std::ostream& out, std::uint64_t since);

    /// "id: <sequence>\ndata: <json>\n\n"
    static std::string formatEvent(const NodeEvent& event);
    /// "event: truncated\ndata: {...}\n\n" for a client asking from `since`
    /// while the log holds only `firstAvailable` onwards.
    static std::string formatTruncated(std::uint64_t since, std::uint64_t firstAvailable, std::uint64_t latest);
    /// The event as the JSON /cluster/events serves (sequence, time, node, from, to, incarnation, reason).
    static std::string eventJson(const NodeEvent& event);

private:
    Source _source;
    std::function<bool()> _shouldStop;
    Options _options;
};

} // namespace mt::monitor
