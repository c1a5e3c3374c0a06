#pragma once
// When a failed attempt may be tried again on another node. Pure rules, no
// I/O, so each case is a unit test:
//
//  - bytes never reached a node (connect refused or timed out, a pooled
//    connection found closed, a reset before any byte was sent): retry,
//    whatever the method — the node cannot have run the request;
//  - the request was sent but no response byte went to the client yet: retry
//    only idempotent methods (RFC 9110 9.2.2: GET, HEAD, OPTIONS, PUT, DELETE,
//    TRACE), and only if the request body can be sent again (it was small
//    enough to keep) — a POST may have run, running it twice is a duplicate write;
//  - a response timeout: no retry (the request may still be running there, and
//    a slow node would be waited for twice);
//  - once a response byte went to the client: never;
//  - at most maxRetries per request;
//  - a retry after the node ANSWERED 502/503/504 (an overloaded or sick node)
//    also needs the retries in flight to stay under the budget:
//    max(minConcurrent, budgetPercent % of the active requests), so a sick
//    cluster is not hit with a retry storm (Envoy's retry budget). A node that
//    is gone (refused, reset, closed) is not an overload signal: when one is
//    killed, every request in flight on it fails at once, and holding those
//    to the budget would turn a failover into client errors.
//
// Thread-safety: immutable after construction.

#include <cstdint>
#include <string>

namespace mt::balancer {

class RetryPolicy
{
public:
    struct Settings
    {
        int maxRetries = 2;
        int budgetPercent = 20;
        int minConcurrent = 10;
        int backoffBaseMs = 2;
        int backoffMaxMs = 50;
    };

    enum class Stage
    {
        NotSent,          ///< no byte of the request reached the node
        Sent,             ///< the request (or part of it) was sent; nothing went to the client yet
        TimedOut,         ///< sent, and the node did not answer in time
        ResponseStarted   ///< response bytes already went to the client
    };

    struct Attempt
    {
        std::string method;
        Stage stage = Stage::NotSent;
        bool bodyReplayable = true; ///< the request body (if any) can be sent again
        int retriesSoFar = 0;       ///< retries this request already made
        long long activeRequests = 0;
        long long activeRetries = 0; ///< retries in flight across the balancer
        bool nodeAnswered = false;   ///< the node answered 502/503/504 (else the connection failed)
    };

    struct Decision
    {
        bool retry = false;
        const char* reason = ""; ///< why not (or why), for logs and tests
    };

    RetryPolicy() = default;
    explicit RetryPolicy(Settings settings) : _settings(settings) {}

    Decision decide(const Attempt& attempt) const;
    /// Jittered exponential backoff before retry number `retry` (1-based):
    /// uniform in [0, min(max, base * 2^(retry-1))] ("full jitter"); `random`
    /// is any 64-bit random value, injected so tests are deterministic.
    int backoffMs(int retry, std::uint64_t random) const;

    static bool idempotent(const std::string& method);
    const Settings& settings() const { return _settings; }

private:
    Settings _settings;
};

} // namespace mt::balancer
