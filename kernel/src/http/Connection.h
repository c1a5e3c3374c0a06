#pragma once
// One client connection. Owned by exactly one party at a time: the poller
// while parked (armed in epoll), the work queue, or the worker running it.
// run() serves every request that is already buffered (pipelining) and then
// tells the worker to park the connection again or close it — or, when the
// response must wait for an asynchronous session write, to defer it: the
// write's completion then calls finishDeferred() on the store's thread and
// routes the connection on (ServerResponse::awaitBeforeSending).

#include "http/RequestBody.h"
#include "http/ServerRequest.h"
#include "http/ServerResponse.h"
#include "http/SocketInput.h"
#include "http/SocketOutput.h"

#include <Poco/Net/SocketAddress.h>

#include "util/Completion.h"

#include <atomic>
#include <cstdint>
#include <memory>

namespace mt::http {

struct ServerContext;

class Connection
{
public:
    /// Queue: hand to a worker (more requests buffered, or output left to send).
    enum class Next { Park, Close, Defer, Queue };

    Connection(ServerContext& ctx, int fd, const Poco::Net::SocketAddress& client,
               const Poco::Net::SocketAddress& server);
    ~Connection(); ///< closes the socket

    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    int fd() const { return _fd; }
    /// Serves buffered/readable requests; never throws.
    Next run() noexcept;
    /// After Next::Defer: what the response waits for.
    std::shared_ptr<Completion> awaiting() const { return _awaiting; }
    /// After Next::Defer, once `awaiting()` completed (`error` "" = the write
    /// is stored): sends the response, or a 503 instead. Never blocks on the
    /// client (output it will not take now is left for a worker: Queue);
    /// never throws.
    Next finishDeferred(const std::string& error) noexcept;

    // Parking state, read by the poller's idle scan and by stop().
    std::atomic<bool> parked{false};
    std::atomic<std::int64_t> parkedSinceMs{0};
    /// Set (before shutdown()) when the server wants this connection gone.
    std::atomic<bool> closeRequested{false};
    /// When the request now coming in (its head, or a small body) began to
    /// arrive (steady clock, µs); 0 while none is partly here. Such a
    /// connection waits parked, not on a worker, so that clients sending
    /// half a request cannot take every thread (slowloris); the poller's idle
    /// scan wakes one parked past http.readTimeout, which then answers 408.
    std::atomic<std::int64_t> partialSinceUs{0};

    /// A close that should linger: the server answered while the client may
    /// still be sending (an unread body, a refused request). Closing a socket
    /// with unread input makes the kernel send a reset, which can destroy
    /// the answer before the client reads it, and makes a client still
    /// sending (curl, a balancer) fail instead of reading it.
    bool lingerWanted() const { return _linger && !closeRequested.load(std::memory_order_relaxed); }
    /// The server half-closed the connection (its answer, then end of
    /// output) and parks it: run() now reads and drops what the client
    /// still sends, until it closes — or `untilMs` passes (steady clock ms):
    /// then run() closes it, or the poller's idle scan if it waits parked.
    void beginLinger(std::int64_t untilMs)
    {
        _linger = false;
        _lingering = true;
        lingerUntilMs.store(untilMs, std::memory_order_relaxed);
    }
    std::atomic<std::int64_t> lingerUntilMs{0}; ///< 0 while not lingering

private:
    enum class Step { Continue, Park, Close, Defer };
    enum HeadResult { HeadOk = 0, HeadIdle = -2, HeadClosed = -1, HeadPartial = -3 };

    Step serveOne();
    /// Runs the handler; answers what it threw (413, 400, 500, ...) if it
    /// can. False: the connection is lost.
    bool dispatch();
    /// Completes the response: sends it, or defers it while a session write
    /// is in flight; reads the rest of a body the handler left unread.
    Step respond(std::int64_t startUs, std::uint64_t writesBefore);
    /// Replaces the answer, none of which left, by a 503: the session write
    /// it rests on failed (`error`). Keeps the session cookies.
    void refuseForFailedWrite(const std::string& error);
    int readHead(std::size_t& headSize, std::size_t& totalSize);
    int headTooLarge() const;
    /// True (and partialSinceUs set) while the request now arriving is
    /// within http.readTimeout; false once it took longer (408).
    bool partialInTime();
    /// The server's own error answer (400, 408, 413, ...), then close.
    void reject(int status, std::int64_t startUs, const std::string& reason = "");
    /// Counts the request (and a 5xx) once, just before its answer's first
    /// send (SocketOutput's before-send hook): a client holding any of the
    /// answer finds it in the statistics, whatever the server does after
    /// the send. report() counts one that never got as far.
    void countAnswered();
    /// Once the answer left (or failed): counts it if not yet, adds its
    /// time, writes the access log.
    void report(std::int64_t startUs);

    ServerContext& _ctx;
    int _fd;
    Poco::Net::SocketAddress _client;
    Poco::Net::SocketAddress _server;
    SocketInput _in;
    SocketOutput _out;
    RequestBody _body;
    ServerRequest _request;
    ServerResponse _response;
    int _served = 0;
    std::shared_ptr<Completion> _awaiting; // Next::Defer: the write the response waits for
    std::int64_t _deferredStartUs = 0;
    bool _deferredClose = false;
    bool _counted = false;         // this request is in _ctx.requests (countAnswered)
    bool _closeAfterFlush = false; // finishDeferred left output of a closing response for a worker
    bool _linger = false;          // the next close should linger (lingerWanted)
    bool _lingering = false;       // half-closed: only dropping input now
    Next dropInput();
};

} // namespace mt::http
