// Balancer::proxy: one client request, forwarded with retries. Kept apart
// from Balancer.cpp (wiring, membership, statistics) to keep both short.
#include "balancer/Balancer.h"

#include "balancer/ProxyHeaders.h"
#include "balancer/SessionRoute.h"
#include "http/ProtocolError.h"
#include "http/ServerRequest.h"
#include "http/ServerResponse.h"
#include "server/KernelDispatcher.h"
#include "util/Clock.h"

#include <Poco/NumberParser.h>
#include <Poco/String.h>

#include <chrono>
#include <optional>
#include <random>
#include <thread>

namespace mt::balancer {

namespace {

std::int64_t nowUs()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::uint64_t randomValue()
{
    thread_local std::mt19937_64 random(std::random_device{}());
    return random();
}

/// The most of a gateway answer's body kept for relaying it later.
constexpr std::size_t kHeldBodyBytes = 64 * 1024;

/// Sets the client's status and headers from a node's response head, without
/// the hop-by-hop headers and the length (the response frames its own body).
void copyHead(http::ServerResponse& response, const ResponseHead& head)
{
    response.setStatus(head.status, head.reason);
    std::string connectionTokens;
    for (const auto& [name, value] : head.headers)
        if (Poco::icompare(name, "Connection") == 0) connectionTokens += value + ",";
    for (const auto& [name, value] : head.headers)
    {
        if (ProxyHeaders::hopByHop(name, connectionTokens) || Poco::icompare(name, "Content-Length") == 0) continue;
        if (Poco::icompare(name, "Content-Type") == 0)
            response.setContentType(value);
        else
            response.addHeader(name, value);
    }
}

/// Decrements a counter when the request ends, however it ends.
struct CountGuard
{
    explicit CountGuard(std::atomic<long long>& c) : counter(c) { counter.fetch_add(1, std::memory_order_relaxed); }
    ~CountGuard() { counter.fetch_sub(1, std::memory_order_relaxed); }
    std::atomic<long long>& counter;
};

/// The balancer's view of a request: who sent it, what it asks, and the
/// session (and its route suffix) it belongs to, from the cookie or the URL.
LbRequest routeOf(const http::ServerRequest& request, const std::string& cookieName)
{
    LbRequest lb;
    lb.clientIp = request.clientAddress().host().toString();
    lb.method = request.method();
    lb.path = request.path();
    std::string sessionId = KernelDispatcher::cookieValue(request.header("Cookie"), cookieName);
    if (sessionId.empty()) sessionId = request.pathSessionId();
    if (!sessionId.empty())
    {
        auto route = SessionRoute::parse(sessionId);
        lb.sessionId = std::move(route.id);
        lb.route = std::move(route.route);
    }
    return lb;
}

/// A request's share of a node while an attempt runs: the strategy's count
/// (least-connections) and the node's active gauge.
class InFlight
{
public:
    InFlight(LoadBalancer& strategy, const std::string& node, std::atomic<long long>& active)
        : _strategy(strategy), _node(node), _active(active)
    {
        _strategy.requestStarted(_node);
        _active.fetch_add(1, std::memory_order_relaxed);
    }
    ~InFlight() { release(); }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

    void release()
    {
        if (_released) return;
        _released = true;
        _strategy.requestFinished(_node);
        _active.fetch_sub(1, std::memory_order_relaxed);
    }

private:
    LoadBalancer& _strategy;
    const std::string& _node;
    std::atomic<long long>& _active;
    bool _released = false;
};

} // namespace

/// What one request carries from attempt to attempt.
struct Balancer::Attempt
{
    const BalancerSettings* settings = nullptr;
    std::string head;                 ///< the upstream request head (same for every attempt)
    ProxyHeaders::Framing framing = ProxyHeaders::Framing::None;
    bool headRequest = false;
    bool bodyRead = false;            ///< the client's body was consumed by an earlier attempt
    bool bodyReplayable = true;       ///< ... and kept whole in `body`
    std::string body;
    int retries = 0;
    // Outcome of the last attempt:
    bool done = false;
    bool nodeFailure = false;         ///< counts against the node (outlier detection)
    bool gatewayAnswer = false;       ///< the node answered 502/503/504 (the retry budget applies)
    RetryPolicy::Stage stage = RetryPolicy::Stage::NotSent;
    int status = 0;
    std::string error;
    /// The last gateway answer set aside for a retry (its whole body read):
    /// what the client gets, as the node sent it, if no other node answers
    /// (a 503 keeps its Retry-After). None if its body was too big to keep.
    struct Held
    {
        ResponseHead head;
        std::string body;
    };
    std::optional<Held> held;
};

void Balancer::proxy(http::ServerRequest& request, http::ServerResponse& response)
{
    auto settings = std::atomic_load(&_settings);
    auto strategy = _core.strategy(); // held: a reload may switch strategies, this request keeps its own
    CountGuard active(_active);

    LbRequest lb = routeOf(request, _cookieName);
    Attempt a = firstAttempt(request, *settings, lb.clientIp);
    RetryPolicy policy(settings->retry);
    std::unique_ptr<CountGuard> retrying;
    for (;;)
    {
        std::string name = _core.select(lb, strategy.get());
        auto node = name.empty() ? nullptr : upstream(name);
        if (!node) return noNodeLeft(a, response);

        runAttempt(a, name, *node, *strategy, request, response);
        if (a.done) return;

        RetryPolicy::Attempt facts{lb.method, a.stage, a.bodyReplayable, a.retries, _active.load(std::memory_order_relaxed),
                                   _activeRetries.load(std::memory_order_relaxed), a.gatewayAnswer};
        auto decision = policy.decide(facts);
        if (!decision.retry)
        {
            _logger.debug("balancer: %s %s failed on %s (%s), no retry: %s", lb.method, request.uri(), name, a.error,
                          std::string(decision.reason));
            if (response.committed()) throw http::ConnectionLost("upstream failed mid-response: " + a.error);
            return giveUp(a, response);
        }
        ++a.retries;
        node->stats.retries.fetch_add(1, std::memory_order_relaxed);
        if (!retrying) retrying = std::make_unique<CountGuard>(_activeRetries);
        lb.exclude.push_back(name);
        int backoff = policy.backoffMs(a.retries, randomValue());
        if (backoff > 0) std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
    }
}

Balancer::Attempt Balancer::firstAttempt(const http::ServerRequest& request, const BalancerSettings& settings,
                                         const std::string& clientIp)
{
    Attempt a;
    a.settings = &settings;
    a.headRequest = request.method() == "HEAD";
    long long length = 0;
    if (Poco::icompare(request.header("Transfer-Encoding"), "chunked") == 0)
        a.framing = ProxyHeaders::Framing::Chunked;
    else
    {
        std::string cl = request.header("Content-Length");
        Poco::Int64 n = 0;
        if (!cl.empty() && Poco::NumberParser::tryParse64(cl, n) && n > 0)
        {
            a.framing = ProxyHeaders::Framing::Fixed;
            length = n;
        }
    }
    a.head = ProxyHeaders::requestHead(request.method(), request.uri(), request.headers(), clientIp,
                                       request.serverAddress().toString(), a.framing, length);
    return a;
}

void Balancer::noNodeLeft(Attempt& a, http::ServerResponse& response)
{
    if (a.retries == 0) _noNode.fetch_add(1, std::memory_order_relaxed);
    if (response.committed()) throw http::ConnectionLost("no node left to answer");
    if (a.retries > 0) return giveUp(a, response);
    response.setHeader("Retry-After", "1");
    response.sendError(503, "no application node available");
}

void Balancer::runAttempt(Attempt& a, const std::string& name, Upstream& node, LoadBalancer& strategy,
                          http::ServerRequest& request, http::ServerResponse& response)
{
    // Released however the attempt ends. An exception is either the
    // client's side failing (body too large, bad framing, client gone: not
    // the node's fault, its statistics untouched) or the node failing after
    // its answer began (a.nodeFailure: counted, then passed on).
    InFlight inFlight(strategy, name, node.stats.active);
    std::int64_t started = nowUs();
    a.done = a.nodeFailure = a.gatewayAnswer = false;
    a.stage = RetryPolicy::Stage::NotSent;
    a.status = 0;
    try
    {
        attempt(a, node, request, response);
    }
    catch (...)
    {
        inFlight.release();
        if (a.nodeFailure) recordOutcome(a, name, node, started);
        throw;
    }
    inFlight.release();
    recordOutcome(a, name, node, started);
}

void Balancer::recordOutcome(const Attempt& a, const std::string& name, Upstream& node, std::int64_t started)
{
    node.stats.total.fetch_add(1, std::memory_order_relaxed);
    node.stats.recordLatency(nowUs() - started);
    if (a.status >= 500 || !a.done) node.stats.errors.fetch_add(1, std::memory_order_relaxed);
    if (a.nodeFailure)
    {
        if (_core.onFailure(name, steadyNowMs()))
        {
            node.stats.ejections.fetch_add(1, std::memory_order_relaxed);
            node.pool.closeAll();
            _logger.warning("balancer: %s ejected after consecutive failures (last: %s)", name, a.error);
        }
    }
    else if (a.done || a.stage != RetryPolicy::Stage::NotSent)
        _core.onSuccess(name);
}

void Balancer::giveUp(Attempt& a, http::ServerResponse& response)
{
    if (!a.held) return response.sendError(a.stage == RetryPolicy::Stage::TimedOut ? 504 : 502, "bad gateway: " + a.error);
    copyHead(response, a.held->head);
    // A HEAD's answer has no body, but says the length the node gave.
    const bool headLength = a.headRequest && a.held->head.contentLength >= 0;
    response.setContentLength(headLength ? a.held->head.contentLength : static_cast<long long>(a.held->body.size()));
    response.send().write(a.held->body.data(), static_cast<std::streamsize>(a.held->body.size()));
}

void Balancer::sendRequestBody(Attempt& a, UpstreamConnection& connection, http::ServerRequest& request)
{
    if (a.framing == ProxyHeaders::Framing::None) return;
    const bool chunked = a.framing == ProxyHeaders::Framing::Chunked;
    auto sendPiece = [&](const char* data, std::size_t size) {
        if (size == 0) return;
        if (chunked)
        {
            char line[20];
            int n = std::snprintf(line, sizeof(line), "%zx\r\n", size);
            connection.send(line, static_cast<std::size_t>(n));
        }
        connection.send(data, size);
        if (chunked) connection.send("\r\n", 2);
    };
    if (a.bodyRead)
        sendPiece(a.body.data(), a.body.size());
    else
    {
        // Streamed: never more than one buffer of it in memory, plus the
        // copy kept (up to bodyBuffer) so an idempotent request can be retried.
        a.bodyRead = true;
        std::istream& in = request.body();
        char buffer[16384];
        for (;;)
        {
            in.read(buffer, sizeof(buffer));
            auto n = static_cast<std::size_t>(in.gcount());
            if (n == 0) break;
            if (a.bodyReplayable && a.body.size() + n <= static_cast<std::size_t>(a.settings->bodyBufferBytes))
                a.body.append(buffer, n);
            else
            {
                a.bodyReplayable = false;
                std::string().swap(a.body);
            }
            sendPiece(buffer, n);
        }
    }
    if (chunked) connection.send("0\r\n\r\n", 5);
}

void Balancer::attempt(Attempt& a, Upstream& node, http::ServerRequest& request, http::ServerResponse& response)
{
    const BalancerSettings& s = *a.settings;
    bool reused = false;
    std::unique_ptr<UpstreamConnection> connection;
    try
    {
        connection = node.pool.acquire(s.pool, steadyNowMs(), reused);
    }
    catch (const UpstreamError& e)
    {
        a.error = e.what();
        a.nodeFailure = e.kind() == UpstreamError::Kind::Connect; // a full pool is our limit, not the node's fault
        return;
    }
    connection->setTimeout(s.responseTimeoutMs);

    ResponseHead head;
    bool answeredEarly = false;
    try
    {
        answeredEarly = exchange(a, node, *connection, request, head);
    }
    catch (const UpstreamError& e)
    {
        return failAttempt(a, node, std::move(connection), e);
    }
    catch (...)
    {
        // Reading the client's body failed (too large, bad framing, client gone).
        node.pool.release(std::move(connection), false, s.pool, steadyNowMs());
        throw;
    }

    a.status = head.status;
    if (retriesGatewayAnswer(a, request, head.status))
        return holdGatewayAnswer(a, node, std::move(connection), head);
    relay(a, node, std::move(connection), head, answeredEarly, response);
}

bool Balancer::exchange(Attempt& a, Upstream& node, UpstreamConnection& connection, http::ServerRequest& request,
                        ResponseHead& head)
{
    connection.send(a.head.data(), a.head.size());
    try
    {
        sendRequestBody(a, connection, request);
    }
    catch (const UpstreamError& e)
    {
        // A node may answer without reading the whole body (a 413, a
        // refusal, an upload it rejects) and close: our send then fails,
        // but its answer may already be here. Relay that, not a 502.
        if (e.kind() != UpstreamError::Kind::Reset) throw;
        try
        {
            connection.readHead(head, a.headRequest);
        }
        catch (const UpstreamError&)
        {
            throw e;
        }
        _logger.debug("balancer: %s answered %d before taking the whole request body", node.name, head.status);
        a.bodyReplayable = false; // the node has acted on it: never sent elsewhere
        return true;
    }
    connection.readHead(head, a.headRequest);
    return false;
}

void Balancer::failAttempt(Attempt& a, Upstream& node, std::unique_ptr<UpstreamConnection> connection,
                           const UpstreamError& e)
{
    a.error = e.what();
    a.nodeFailure = true;
    if (e.kind() == UpstreamError::Kind::Timeout && connection->bytesSent() > 0)
        a.stage = RetryPolicy::Stage::TimedOut;
    else
        a.stage = connection->bytesSent() > 0 ? RetryPolicy::Stage::Sent : RetryPolicy::Stage::NotSent;
    node.pool.release(std::move(connection), false, a.settings->pool, steadyNowMs());
}

bool Balancer::retriesGatewayAnswer(const Attempt& a, const http::ServerRequest& request, int status) const
{
    if (status != 502 && status != 503 && status != 504) return false;
    RetryPolicy::Attempt facts{request.method(), RetryPolicy::Stage::Sent, a.bodyReplayable, a.retries,
                               _active.load(std::memory_order_relaxed), _activeRetries.load(std::memory_order_relaxed),
                               true};
    return RetryPolicy(a.settings->retry).decide(facts).retry && _core.candidates()->size() > 1;
}

void Balancer::holdGatewayAnswer(Attempt& a, Upstream& node, std::unique_ptr<UpstreamConnection> connection,
                                 const ResponseHead& head)
{
    a.error = "node answered " + std::to_string(head.status);
    a.nodeFailure = true;
    a.gatewayAnswer = true;
    a.stage = RetryPolicy::Stage::Sent;
    // Kept, so that if the retry finds no other node the client gets this
    // answer (with its Retry-After) rather than one made up here.
    a.held.reset();
    Attempt::Held held{head, {}};
    bool whole = false;
    try
    {
        const char* data;
        std::size_t size;
        while (held.body.size() <= kHeldBodyBytes && connection->readBody(data, size)) held.body.append(data, size);
        whole = held.body.size() <= kHeldBodyBytes;
    }
    catch (const UpstreamError&)
    {
    }
    if (whole) a.held = std::move(held);
    const bool keep = whole && connection->reusable();
    node.pool.release(std::move(connection), keep, a.settings->pool, steadyNowMs());
}

void Balancer::relay(Attempt& a, Upstream& node, std::unique_ptr<UpstreamConnection> connection,
                     const ResponseHead& head, bool answeredEarly, http::ServerResponse& response)
{
    const BalancerSettings& s = *a.settings;
    copyHead(response, head);
    if (head.contentLength >= 0) response.setContentLength(head.contentLength);
    a.nodeFailure = head.status >= 500;
    a.stage = RetryPolicy::Stage::ResponseStarted;
    std::ostream& out = response.send();
    try
    {
        const char* data;
        std::size_t size;
        // A body of no stated length may be a stream (events, a long
        // report): each piece goes on as it comes, not once 8 KB pile up.
        const bool streamed = head.contentLength < 0;
        while (connection->readBody(data, size))
        {
            out.write(data, static_cast<std::streamsize>(size));
            if (streamed) out.flush();
        }
    }
    catch (const UpstreamError& e)
    {
        // Headers are out: the client can only learn from the connection closing.
        a.error = e.what();
        a.nodeFailure = true;
        node.pool.release(std::move(connection), false, s.pool, steadyNowMs());
        throw http::ConnectionLost(std::string("upstream failed mid-response: ") + e.what());
    }
    catch (...)
    {
        node.pool.release(std::move(connection), false, s.pool, steadyNowMs()); // the client went away
        throw;
    }
    a.done = true;
    const bool keep = !answeredEarly && connection->reusable(); // a failed send leaves the connection unusable
    node.pool.release(std::move(connection), keep, s.pool, steadyNowMs());
}

} // namespace mt::balancer
