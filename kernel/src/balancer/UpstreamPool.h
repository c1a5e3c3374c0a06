#pragma once
// Kept-alive connections to one app node. LIFO (the most recently used
// connection is the least likely to have been closed by the node), bounded:
// at most maxConnections open (in use + idle) — a request waits up to the
// connect timeout for one to free up — and at most maxIdle kept; idle ones
// older than idleTimeout (below the node's own keep-alive timeout) are dropped.
// closeAll() (node ejected or DOWN) closes the idle ones now and makes the
// ones in use be closed when they come back.
// Thread-safety: every method may be called from any thread.

#include "balancer/UpstreamConnection.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

namespace mt::balancer {

class UpstreamPool
{
public:
    struct Limits
    {
        int maxConnections = 256;
        int maxIdle = 64;
        int idleTimeoutMs = 10000;
        int connectTimeoutMs = 1000;
    };

    UpstreamPool(const sockaddr_storage& address, socklen_t length) : _address(address), _length(length) {}
    ~UpstreamPool();

    /// A connection to the node: a pooled one that is still open (`reused`
    /// true) or a new one. Throws UpstreamError (Connect, Exhausted).
    std::unique_ptr<UpstreamConnection> acquire(const Limits& limits, TimeMs now, bool& reused);
    /// Gives a connection back; kept only if `keep` and it is still of the current generation.
    void release(std::unique_ptr<UpstreamConnection> connection, bool keep, const Limits& limits, TimeMs now);
    void closeAll();
    /// Drops idle connections older than the idle timeout.
    void prune(const Limits& limits, TimeMs now);

    int open() const;
    int idle() const;

private:
    sockaddr_storage _address;
    socklen_t _length;
    mutable std::mutex _mutex;
    std::condition_variable _freed;
    std::vector<std::unique_ptr<UpstreamConnection>> _idle;
    int _open = 0;
    std::uint64_t _generation = 0;
};

} // namespace mt::balancer
