#include "RedisConnectionPool.h"

#include "mt/SessionStoreAdapter.h"

#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Redis/Error.h>

#include <algorithm>

namespace mt::redis {

namespace {

constexpr std::chrono::milliseconds kFirstBackoff{50};

Poco::Timespan until(RedisConnectionPool::Clock::time_point deadline)
{
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - RedisConnectionPool::Clock::now());
    return Poco::Timespan(std::max<long long>(left.count(), 1000)); // never 0: that would mean "no timeout"
}

std::string errorText(const Reply& reply)
{
    auto* error = dynamic_cast<const Poco::Redis::Type<Poco::Redis::Error>*>(reply.get());
    return error ? error->value().getMessage() : "error reply";
}

} // namespace

Reply Connection::call(const Poco::Redis::Array& command)
{
    _commands.fetch_add(1, std::memory_order_relaxed);
    return _client->sendCommand(command);
}

RedisConnectionPool::RedisConnectionPool(RedisSettings settings, Poco::Logger& logger)
    : _settings(std::move(settings)), _logger(logger)
{
}

RedisConnectionPool::~RedisConnectionPool() = default;

std::string RedisConnectionPool::address() const
{
    return _settings.host + ":" + std::to_string(_settings.port);
}

void RedisConnectionPool::run(const std::function<void(Connection&)>& work)
{
    const auto deadline = Clock::now() + std::chrono::milliseconds(_settings.timeoutMs);
    for (int attempt = 0;; ++attempt)
    {
        Lease lease = acquire(deadline);
        try
        {
            lease.connection->client().setReceiveTimeout(until(deadline));
            work(*lease.connection);
            release(std::move(lease.connection));
            return;
        }
        catch (const StoreUnavailable&)
        {
            release(std::move(lease.connection)); // raised by `work` from a reply: the stream is intact
            throw;
        }
        catch (const Poco::TimeoutException&)
        {
            drop();
            failed("no reply within " + std::to_string(_settings.timeoutMs) + " ms");
            throw StoreUnavailable("redis " + address() + ": no reply within " + std::to_string(_settings.timeoutMs) + " ms");
        }
        catch (const std::exception& e)
        {
            const auto* poco = dynamic_cast<const Poco::Exception*>(&e);
            const std::string text = poco ? poco->displayText() : std::string(e.what());
            drop();
            // An idle connection may simply be stale (Redis restarted): one
            // more try on a new connection before calling Redis down.
            if (lease.reused && attempt == 0 && Clock::now() < deadline)
            {
                std::lock_guard<std::mutex> lock(_mutex);
                dropIdleLocked(); // their peer is gone too
                continue;
            }
            failed(text);
            throw StoreUnavailable("redis " + address() + ": " + text);
        }
    }
}

void RedisConnectionPool::drop()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        --_open;
    }
    _freed.notify_one();
}

void RedisConnectionPool::dropIdleLocked()
{
    _open -= static_cast<int>(_idle.size());
    _idle.clear();
}

RedisConnectionPool::Lease RedisConnectionPool::acquire(Clock::time_point deadline)
{
    std::unique_lock<std::mutex> lock(_mutex);
    while (true)
    {
        if (!_idle.empty())
        {
            Lease lease{std::move(_idle.back()), true};
            _idle.pop_back();
            return lease;
        }
        if (_open < _settings.poolSize)
        {
            if (_down && (_probing || Clock::now() < _nextAttempt))
                throw StoreUnavailable("redis " + address() + " unavailable: " + _lastError);
            const bool probe = _down;
            _probing = _probing || probe;
            ++_open;
            lock.unlock();
            std::unique_ptr<Connection> connection;
            try
            {
                connection = connect(deadline);
            }
            catch (const std::exception& e)
            {
                const auto* poco = dynamic_cast<const Poco::Exception*>(&e);
                const std::string text = poco ? poco->displayText() : std::string(e.what());
                {
                    std::lock_guard<std::mutex> relock(_mutex);
                    --_open;
                    if (probe) _probing = false;
                }
                _freed.notify_one();
                failed(text);
                throw StoreUnavailable("redis " + address() + ": " + text);
            }
            lock.lock();
            if (probe) _probing = false;
            lock.unlock();
            recovered();
            return Lease{std::move(connection), false};
        }
        if (_freed.wait_until(lock, deadline) == std::cv_status::timeout && _idle.empty() &&
            _open >= _settings.poolSize)
            throw StoreUnavailable("redis " + address() + ": all " + std::to_string(_settings.poolSize) +
                                   " connections busy for " + std::to_string(_settings.timeoutMs) + " ms");
    }
}

std::unique_ptr<Connection> RedisConnectionPool::connect(Clock::time_point deadline)
{
    auto client = std::make_unique<Poco::Redis::Client>();
    client->connect(Poco::Net::SocketAddress(_settings.host, static_cast<Poco::UInt16>(_settings.port)), until(deadline));
    client->setReceiveTimeout(until(deadline));
    auto connection = std::make_unique<Connection>(std::move(client), _commands);
    if (!_settings.password.empty())
    {
        Poco::Redis::Array auth;
        auth << "AUTH" << _settings.password;
        Reply reply = connection->call(auth);
        if (reply->isError()) throw Poco::Exception("AUTH refused: " + errorText(reply));
    }
    if (_settings.database != 0)
    {
        Poco::Redis::Array select;
        select << "SELECT" << std::to_string(_settings.database);
        Reply reply = connection->call(select);
        if (reply->isError()) throw Poco::Exception("SELECT " + std::to_string(_settings.database) + " refused: " + errorText(reply));
    }
    return connection;
}

void RedisConnectionPool::release(std::unique_ptr<Connection> connection)
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (connection && !_down)
            _idle.push_back(std::move(connection));
        else
            --_open;
    }
    _freed.notify_one();
}

void RedisConnectionPool::failed(const std::string& reason)
{
    bool first = false;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        first = !_down;
        _down = true;
        _lastError = reason;
        _backoff = _backoff.count() == 0 ? kFirstBackoff
                                         : std::min(_backoff * 2, std::chrono::milliseconds(_settings.reconnectMaxMs));
        _nextAttempt = Clock::now() + _backoff;
        dropIdleLocked(); // connections to a failed server are suspect
    }
    _freed.notify_all();
    if (first) _logger.error("redis %s DOWN: %s (reconnecting with backoff up to %d ms)", address(), reason, _settings.reconnectMaxMs);
}

void RedisConnectionPool::recovered()
{
    bool was = false;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        was = _down;
        _down = false;
        _backoff = std::chrono::milliseconds(0);
        _lastError.clear();
    }
    if (was) _logger.notice("redis %s reachable again", address());
}

std::string RedisConnectionPool::problem()
{
    try
    {
        run([](Connection& c) {
            Poco::Redis::Array ping;
            ping << "PING";
            Reply reply = c.call(ping);
            if (reply->isError()) throw StoreUnavailable("PING: " + errorText(reply));
        });
        return {};
    }
    catch (const StoreUnavailable& e)
    {
        return e.what();
    }
}

} // namespace mt::redis
