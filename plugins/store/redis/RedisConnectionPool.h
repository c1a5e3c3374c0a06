#pragma once
// Connections to one Redis server, shared by the request and sweeper threads.
//
// Every call is bounded: waiting for a free connection, connecting and each
// reply all end at a deadline `timeoutMs` after the call began (a reply is
// given what is left of it); past it the call throws mt::StoreUnavailable and
// the connection is discarded (its stream may hold half a reply). After a
// failure the pool is DOWN: calls fail at once, without touching the network,
// until a backoff (50 ms doubling to reconnectMaxMs) has passed; then one
// caller probes with a fresh connection and, if that works, the pool is UP
// again. So a dead Redis costs a request nothing but a quick 503, and a Redis
// that comes back is used again without any restart.
//
// Thread-safety: every method may be called from any thread; a connection is
// used by one thread at a time.

#include "RedisSettings.h"

#include <Poco/Redis/Array.h>
#include <Poco/Redis/Client.h>
#include <Poco/Redis/Type.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace Poco {
class Logger;
}

namespace mt::redis {

using Reply = Poco::Redis::RedisType::Ptr;

/// One leased connection: send commands, read replies. Throws on I/O failure
/// (the pool then discards the connection); a Redis error reply is returned,
/// not thrown (Reply::isError()).
class Connection
{
public:
    explicit Connection(std::unique_ptr<Poco::Redis::Client> client, std::atomic<std::uint64_t>& commands)
        : _client(std::move(client)), _commands(commands)
    {
    }
    Reply call(const Poco::Redis::Array& command);
    Poco::Redis::Client& client() { return *_client; }

private:
    std::unique_ptr<Poco::Redis::Client> _client;
    std::atomic<std::uint64_t>& _commands;
};

class RedisConnectionPool
{
public:
    using Clock = std::chrono::steady_clock;

    RedisConnectionPool(RedisSettings settings, Poco::Logger& logger);
    ~RedisConnectionPool();

    /// Runs `work` on a connection within the call's deadline. Throws
    /// mt::StoreUnavailable when Redis cannot be reached in time. A failure
    /// on a connection that had sat idle (Redis restarted since) is retried
    /// once on a fresh one, unless it was a timeout (the command may have run).
    void run(const std::function<void(Connection&)>& work);

    /// "" when the last call worked, else why not. Probes (PING) when DOWN
    /// and the backoff has passed, so /health notices a recovery on its own.
    std::string problem();
    /// Commands sent since start (every node's share of Redis load).
    std::uint64_t commands() const { return _commands.load(std::memory_order_relaxed); }
    std::string address() const;

private:
    struct Lease
    {
        std::unique_ptr<Connection> connection;
        bool reused = false;
    };

    Lease acquire(Clock::time_point deadline);
    void release(std::unique_ptr<Connection> connection);
    std::unique_ptr<Connection> connect(Clock::time_point deadline);
    void failed(const std::string& reason);
    void drop();            // a leased connection is discarded
    void dropIdleLocked();  // _mutex held
    void recovered();

    const RedisSettings _settings;
    Poco::Logger& _logger;
    std::atomic<std::uint64_t> _commands{0};

    std::mutex _mutex;
    std::condition_variable _freed;
    std::vector<std::unique_ptr<Connection>> _idle;
    int _open = 0;                     // idle + leased + being connected
    bool _down = false;
    bool _probing = false;             // one caller reconnects while DOWN; the others fail fast
    std::string _lastError;
    std::chrono::milliseconds _backoff{0};
    Clock::time_point _nextAttempt{};
};

} // namespace mt::redis
