#include "http/Connection.h"

#include "http/ProtocolError.h"
#include "http/RequestImpl.h"
#include "http/ResponseImpl.h"
#include "http/ServerContext.h"
#include "mt/BodyTooLarge.h"

#include <Poco/String.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cctype>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace mt::http {
namespace {

/// A Host value is a DNS name (at most 253) and a port, or an IP literal.
constexpr std::size_t kMaxHostLength = 253 + 6;

std::int64_t nowUs()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Case-insensitive search for `token` in a comma-separated header value.
bool hasToken(const std::string& value, const char* token)
{
    std::size_t tlen = std::strlen(token);
    std::size_t i = 0;
    while (i < value.size())
    {
        while (i < value.size() && (value[i] == ' ' || value[i] == '\t' || value[i] == ',')) ++i;
        std::size_t b = i;
        while (i < value.size() && value[i] != ',') ++i;
        std::size_t e = i;
        while (e > b && (value[e - 1] == ' ' || value[e - 1] == '\t')) --e;
        if (e - b == tlen && Poco::icompare(value, b, tlen, std::string(token)) == 0) return true;
    }
    return false;
}

bool iequals(const std::string& a, const char* b, std::size_t blen)
{
    if (a.size() != blen) return false;
    for (std::size_t i = 0; i < blen; ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
    return true;
}

/// What a request's head says about its body and its connection.
struct MessageFraming
{
    RequestBody::Framing body = RequestBody::Framing::None;
    long long length = 0;
    bool expectContinue = false;
    bool http10 = false;
    bool keepAlive = false; ///< what the client asks for (Connection, version)
};

/// One pass over the headers for everything that decides framing and
/// keep-alive (RFC 9112): 0, or the status that refuses the request.
int frameOf(const RequestHead& head, std::size_t maxBodyBytes, MessageFraming& out)
{
    // Repeated lines of a list-valued field are one list (RFC 9110 5.3).
    std::string connection;
    std::string transferEncoding;
    bool hasTransferEncoding = false;
    const std::string* contentLength = nullptr;
    const std::string* expect = nullptr;
    int hosts = 0;
    for (const auto& h : head.headers)
    {
        const std::string& n = h.first;
        if (iequals(n, "host", 4))
        {
            ++hosts;
            if (h.second.size() > kMaxHostLength) return 400;
        }
        else if (iequals(n, "connection", 10)) connection += (connection.empty() ? "" : ",") + h.second;
        else if (iequals(n, "content-length", 14))
        {
            if (contentLength && *contentLength != h.second) return 400;
            contentLength = &h.second;
        }
        else if (iequals(n, "transfer-encoding", 17))
        {
            transferEncoding += (hasTransferEncoding ? ", " : "") + h.second;
            hasTransferEncoding = true;
        }
        else if (iequals(n, "expect", 6)) expect = &h.second;
    }

    out.http10 = head.version[7] == '0';
    // RFC 9112 3.2: an HTTP/1.1 request names its host, once. Two Host lines
    // are the shape of a cache-poisoning or routing confusion attempt.
    if (hosts > 1 || (hosts == 0 && !out.http10)) return 400;
    if (hasTransferEncoding)
    {
        // Both headers at once is the classic request-smuggling shape.
        if (contentLength) return 400;
        if (Poco::icompare(transferEncoding, "chunked") != 0) return 501;
        out.body = RequestBody::Framing::Chunked;
    }
    else if (contentLength)
    {
        const std::string& v = *contentLength;
        if (v.empty() || v.size() > 18 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return v.size() > 18 ? 413 : 400;
        out.length = std::stoll(v);
        if (static_cast<unsigned long long>(out.length) > maxBodyBytes) return 413;
        out.body = RequestBody::Framing::Fixed;
    }
    if (expect)
    {
        if (Poco::icompare(*expect, "100-continue") != 0) return 417;
        out.expectContinue = !out.http10;
    }
    out.keepAlive = out.http10 ? hasToken(connection, "keep-alive") : !hasToken(connection, "close");
    // An HTTP/1.0 intermediary does not know chunked: to it the chunks may
    // read as a next request. Served, then closed (RFC 9112 6.1).
    if (out.http10 && hasTransferEncoding) out.keepAlive = false;
    return 0;
}

struct ActiveRequest
{
    explicit ActiveRequest(std::atomic<std::int64_t>& c): counter(c) { counter.fetch_add(1, std::memory_order_relaxed); }
    ~ActiveRequest() { counter.fetch_sub(1, std::memory_order_release); }
    std::atomic<std::int64_t>& counter;
};

} // namespace

Connection::Connection(ServerContext& ctx, int fd, const Poco::Net::SocketAddress& client,
                       const Poco::Net::SocketAddress& server):
    _ctx(ctx),
    _fd(fd),
    _client(client),
    _server(server),
    _in(fd, std::max<std::size_t>(ctx.limits.maxHeaderBytes + 64, 16384)),
    _out(fd),
    _body(_in, _out)
{
    _request._impl = std::make_unique<ServerRequest::Impl>(_body);
    _request._impl->client = &_client;
    _request._impl->server = &_server;
    _response._impl = std::make_unique<ServerResponse::Impl>(ctx, _out, _body);
    _body.setMinimumRate(ctx.limits.minBodyRate, std::chrono::milliseconds(ctx.limits.minBodyRateGraceMs));
    // Not before the head is committed: a 100 Continue is not the answer.
    _out.setBeforeSend([this] {
        if (_response._impl->committed) countAnswered();
    });
}

Connection::~Connection()
{
    ::close(_fd);
}

Connection::Next Connection::run() noexcept
{
    try
    {
        // Left by finishDeferred(): a worker may wait for a slow client.
        if (!_out.pending().empty()) _out.flush();
        if (closeRequested.load(std::memory_order_relaxed)) return Next::Close;
        if (_lingering) return dropInput();
        if (_closeAfterFlush) return Next::Close;
        if (_in.available() == 0)
        {
            switch (_in.tryFill())
            {
            case SocketInput::TryResult::WouldBlock: return Next::Park;
            case SocketInput::TryResult::Eof: return Next::Close;
            case SocketInput::TryResult::Data: break;
            }
        }
        for (;;)
        {
            if (_ctx.stopping.load(std::memory_order_relaxed)) return Next::Close;
            Step step = serveOne();
            if (step == Step::Close) return Next::Close;
            if (step == Step::Defer) return Next::Defer;
            if (step == Step::Park || _in.available() == 0) return Next::Park;
        }
    }
    catch (...)
    {
        return Next::Close;
    }
}

Connection::Next Connection::dropInput()
{
    // The idle scan ends one that waits parked; this, one that keeps sending.
    if (nowUs() / 1000 > lingerUntilMs.load(std::memory_order_relaxed)) return Next::Close;
    char scratch[16384];
    // Bounded per turn, so that a fast sender shares the worker.
    for (int turn = 0; turn < 64; ++turn)
    {
        const ssize_t n = ::recv(_fd, scratch, sizeof scratch, MSG_DONTWAIT);
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Next::Park;
        return Next::Close; // the client closed too (or the socket failed)
    }
    return Next::Queue;
}

int Connection::headTooLarge() const
{
    std::size_t window = std::min(_in.available(), _ctx.limits.maxHeaderBytes);
    return std::memchr(_in.data(), '\n', window) ? 431 : 414;
}

int Connection::readHead(std::size_t& headSize, std::size_t& totalSize)
{
    // Blank lines between requests are allowed (RFC 7230 3.5), e.g. after a POST body.
    int skipped = 0;
    while (_in.available() > 0 && (*_in.data() == '\r' || *_in.data() == '\n'))
    {
        _in.consume(1);
        if (++skipped > 64) return 400;
    }
    if (_in.available() == 0) return HeadIdle;

    const std::size_t limit = _ctx.limits.maxHeaderBytes + 2;
    std::size_t scan = 0;
    for (;;)
    {
        if (findHeadEnd(_in.data(), _in.available(), scan, headSize, totalSize))
            return headSize > limit ? headTooLarge() : HeadOk;
        if (_in.available() > limit) return headTooLarge();
        // Without this, bytes that are not HTTP wait for the read timeout:
        // the head never ends, or not before the limit.
        if (int status = rejectEarly(_in.data(), _in.available())) return status;
        // The whole head, not each read, is bounded: a client that trickles
        // a byte at a time gets 408 too.
        if (!partialInTime()) return 408;
        switch (_in.tryFill())
        {
        case SocketInput::TryResult::WouldBlock: return HeadPartial; // wait parked, not on this worker
        case SocketInput::TryResult::Eof: return HeadClosed;
        case SocketInput::TryResult::Data: break;
        }
    }
}

bool Connection::partialInTime()
{
    const std::int64_t now = nowUs();
    std::int64_t since = partialSinceUs.load(std::memory_order_relaxed);
    if (since == 0)
    {
        partialSinceUs.store(now, std::memory_order_relaxed);
        return true;
    }
    return _ctx.limits.readTimeoutMs <= 0 || now - since <= static_cast<std::int64_t>(_ctx.limits.readTimeoutMs) * 1000;
}

Connection::Step Connection::serveOne()
{
    ServerRequest::Impl& req = *_request._impl;
    ServerResponse::Impl& resp = *_response._impl;
    req.reset();
    _body.reset(RequestBody::Framing::None, 0, 0, false);

    std::size_t headSize = 0;
    std::size_t totalSize = 0;
    int status = readHead(headSize, totalSize);
    if (status == HeadIdle || status == HeadPartial) return Step::Park;
    if (status == HeadClosed) return Step::Close;

    ActiveRequest active(_ctx.activeRequests);
    std::int64_t startUs = nowUs();
    _counted = false;
    // Parsed, not yet consumed: a small body still coming is waited for with
    // the head left in place, parsed again when the rest is here.
    if (status == HeadOk) status = parseRequestHead(_in.data(), headSize, _ctx.limits.maxHeaderFields, req.head);
    MessageFraming framing;
    if (status == HeadOk) status = frameOf(req.head, _ctx.limits.maxBodyBytes, framing);
    if (status != HeadOk)
    {
        reject(status, startUs);
        return Step::Close;
    }

    // A small body not all here yet is waited for parked, as a partial head is.
    const std::size_t whole = totalSize + static_cast<std::size_t>(framing.length);
    if (framing.body == RequestBody::Framing::Fixed && !framing.expectContinue && whole <= _in.capacity())
        while (_in.available() < whole)
        {
            if (!partialInTime()) return reject(408, startUs), Step::Close;
            switch (_in.tryFill())
            {
            case SocketInput::TryResult::WouldBlock: return Step::Park;
            case SocketInput::TryResult::Eof: // half-closed: it may still read why, as a large body's sender does
                return reject(400, startUs, "connection closed inside the request body"), Step::Close;
            case SocketInput::TryResult::Data: break;
            }
        }
    if (partialSinceUs.load(std::memory_order_relaxed) != 0) partialSinceUs.store(0, std::memory_order_relaxed);
    _in.consume(totalSize);

    bool keepAlive = _ctx.limits.keepAlive && framing.keepAlive;
    ++_served;
    if (_ctx.limits.maxKeepAliveRequests > 0 && _served >= _ctx.limits.maxKeepAliveRequests) keepAlive = false;

    _body.reset(framing.body, framing.length, _ctx.limits.maxBodyBytes, framing.expectContinue);
    resp.reset(keepAlive, req.head.method == "HEAD", framing.http10);
    const std::uint64_t writesBefore = _out.writes();
    if (!dispatch())
    {
        report(startUs); // the client left: still a request, in the log with what it was sent
        return Step::Close;
    }
    return respond(startUs, writesBefore);
}

bool Connection::dispatch()
{
    const RequestHead& head = _request._impl->head;
    int failure = 0;
    std::string reason; // ours, never the client's bytes: safe to send back
    try
    {
        _ctx.dispatcher.dispatch(_request, _response);
    }
    catch (const mt::BodyTooLarge&)
    {
        failure = 413;
    }
    catch (const ProtocolError& e)
    {
        failure = e.status();
        reason = e.what();
    }
    catch (const ConnectionLost&)
    {
        return false;
    }
    catch (const std::exception& e)
    {
        failure = 500;
        _ctx.logger.error("request " + head.method + " " + head.uri + " failed: " + e.what());
    }
    catch (...)
    {
        failure = 500;
        _ctx.logger.error("request " + head.method + " " + head.uri + " failed: unknown exception");
    }
    if (!failure) return true;
    // The body is in an unknown state and the handler may have half-written: close.
    ServerResponse::Impl& resp = *_response._impl;
    resp.closeRequested = true;
    resp.willClose = true;
    if (resp.committed)
    {
        resp.body.abort();
        return true;
    }
    try
    {
        _response.sendError(failure, reason);
    }
    catch (...)
    {
        return false;
    }
    if (failure < 500) _ctx.rejected.fetch_add(1, std::memory_order_relaxed);
    return true;
}

Connection::Step Connection::respond(std::int64_t startUs, std::uint64_t writesBefore)
{
    ServerResponse::Impl& resp = *_response._impl;
    bool close = true;
    try
    {
        close = resp.finish();
        if (resp.awaiting)
        {
            // Defer only a response that is still whole in memory, for a
            // request read to its end (draining must not fall to the thread
            // that completes the write).
            if (_out.writes() == writesBefore && _body.finished())
            {
                _awaiting = std::move(resp.awaiting);
                _deferredStartUs = startUs;
                _deferredClose = close;
                _ctx.activeRequests.fetch_add(1, std::memory_order_relaxed); // in flight until finishDeferred
                return Step::Defer;
            }
            std::string error = resp.awaiting->wait();
            resp.awaiting.reset();
            if (!error.empty() && _counted)
            {
                // Part of it left already: too late for a status.
                _ctx.logger.error("session write failed after the response started, closing: " + error);
                _out.pending().clear();
                report(startUs);
                return Step::Close;
            }
            if (!error.empty())
            {
                refuseForFailedWrite(error); // a 100 Continue may have left, but nothing of the answer
                close = true;
            }
        }
        _out.flush();
        // The rest of an unread body, read within one read timeout in all.
        const std::chrono::milliseconds drainTime(_ctx.limits.readTimeoutMs > 0 ? _ctx.limits.readTimeoutMs : 20000);
        if (!close && !_body.finished() && !_body.drain(kMaxSwallowBytes, drainTime)) close = true;
    }
    catch (...)
    {
        close = true;
    }
    if (close && !_body.finished()) _linger = true;
    report(startUs);
    return close ? Step::Close : Step::Continue;
}

Connection::Next Connection::finishDeferred(const std::string& error) noexcept
{
    bool close = _deferredClose;
    try
    {
        // _awaiting stays set until the next deferral: the server's stop may
        // read it concurrently (deleteParked) while this runs.
        if (!error.empty())
        {
            refuseForFailedWrite(error);
            close = true;
        }
        _out.tryFlush(); // what the client does not take now goes from a worker (run() flushes first)
    }
    catch (...)
    {
        close = true;
    }
    report(_deferredStartUs);
    _ctx.activeRequests.fetch_sub(1, std::memory_order_release);
    if (!_out.pending().empty())
    {
        _closeAfterFlush = close;
        return Next::Queue;
    }
    if (close || closeRequested.load(std::memory_order_relaxed) || _ctx.stopping.load(std::memory_order_relaxed))
        return Next::Close;
    return _in.available() > 0 ? Next::Queue : Next::Park;
}

void Connection::refuseForFailedWrite(const std::string& error)
{
    // As when the store fails before the response: a 503, then close.
    const ServerRequest::Impl& req = *_request._impl;
    ServerResponse::Impl& resp = *_response._impl;
    _out.pending().clear();
    auto cookies = resp.cookies();
    resp.reset(false, req.head.method == "HEAD", req.head.version.size() > 7 && req.head.version[7] == '0');
    resp.headers = std::move(cookies);
    _ctx.refusals.warning("response refused, its session write failed: " + error);
    _response.setHeader("Retry-After", "5");
    _response.sendError(503, kSessionStoreUnavailable);
    resp.finish();
}

void Connection::reject(int status, std::int64_t startUs, const std::string& reason)
{
    _linger = true; // the rest of what it refused may still be on its way
    ServerResponse::Impl& resp = *_response._impl;
    _body.reset(RequestBody::Framing::None, 0, 0, false);
    resp.reset(false, false, false);
    if (status == 400 || status == 408 || status == 413 || status == 414 || status == 431)
        _ctx.rejected.fetch_add(1, std::memory_order_relaxed);
    try
    {
        _response.sendError(status, reason);
        resp.finish();
        _out.flush();
    }
    catch (...)
    {
    }
    report(startUs);
}

void Connection::countAnswered()
{
    if (_counted) return;
    _counted = true;
    _ctx.requests.fetch_add(1, std::memory_order_relaxed);
    if (_response._impl->status >= 500) _ctx.errors.fetch_add(1, std::memory_order_relaxed);
}

void Connection::report(std::int64_t startUs)
{
    const ServerRequest::Impl& req = *_request._impl;
    const ServerResponse::Impl& resp = *_response._impl;
    std::int64_t durationUs = nowUs() - startUs;
    countAnswered(); // if no answer got as far as its send
    _ctx.processingTimeUs.fetch_add(static_cast<std::uint64_t>(durationUs), std::memory_order_relaxed);
    if (!_ctx.accessLog) return;
    AccessRecord r;
    r.client = _client.toString();
    r.method = req.head.method.empty() ? "-" : req.head.method;
    r.uri = req.head.uri;
    r.version = req.head.version;
    r.status = resp.status;
    r.bytes = _response.bytesSent();
    r.durationUs = durationUs;
    r.referer = req.head.headers.get("Referer", "");
    r.userAgent = req.head.headers.get("User-Agent", "");
    try
    {
        _ctx.accessLog(r);
    }
    catch (...)
    {
    }
}

} // namespace mt::http
