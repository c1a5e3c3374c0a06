#include "balancer/UpstreamPool.h"

#include <chrono>

namespace mt::balancer {

UpstreamPool::~UpstreamPool() = default;

std::unique_ptr<UpstreamConnection> UpstreamPool::acquire(const Limits& limits, TimeMs now, bool& reused)
{
    std::unique_ptr<UpstreamConnection> stale; // closed outside the lock
    std::uint64_t generation;
    {
        std::unique_lock<std::mutex> lock(_mutex);
        while (!_idle.empty())
        {
            auto connection = std::move(_idle.back());
            _idle.pop_back();
            if (now - connection->idleSince < limits.idleTimeoutMs && connection->stillOpen())
            {
                reused = true;
                return connection;
            }
            --_open;
            stale = std::move(connection);
            stale.reset();
        }
        if (_open >= limits.maxConnections &&
            !_freed.wait_for(lock, std::chrono::milliseconds(limits.connectTimeoutMs),
                             [&] { return _open < limits.maxConnections || !_idle.empty(); }))
            throw UpstreamError(UpstreamError::Kind::Exhausted, "connection limit of the node reached");
        if (!_idle.empty())
        {
            auto connection = std::move(_idle.back());
            _idle.pop_back();
            reused = true;
            if (connection->stillOpen()) return connection;
            --_open;
            stale = std::move(connection);
        }
        ++_open;
        generation = _generation;
    }
    stale.reset();
    try
    {
        auto connection = std::make_unique<UpstreamConnection>(_address, _length, limits.connectTimeoutMs);
        connection->generation = generation;
        reused = false;
        return connection;
    }
    catch (...)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        --_open;
        _freed.notify_one();
        throw;
    }
}

void UpstreamPool::release(std::unique_ptr<UpstreamConnection> connection, bool keep, const Limits& limits, TimeMs now)
{
    if (!connection) return;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (keep && connection->generation == _generation && static_cast<int>(_idle.size()) < limits.maxIdle)
        {
            connection->idleSince = now;
            _idle.push_back(std::move(connection));
        }
        else
            --_open;
        _freed.notify_one();
    }
    connection.reset(); // closes (if not kept) outside the lock
}

void UpstreamPool::closeAll()
{
    std::vector<std::unique_ptr<UpstreamConnection>> closing;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        ++_generation;
        _open -= static_cast<int>(_idle.size());
        closing.swap(_idle);
        _freed.notify_all();
    }
}

void UpstreamPool::prune(const Limits& limits, TimeMs now)
{
    std::vector<std::unique_ptr<UpstreamConnection>> closing;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        for (auto it = _idle.begin(); it != _idle.end();)
            if (now - (*it)->idleSince >= limits.idleTimeoutMs)
            {
                closing.push_back(std::move(*it));
                it = _idle.erase(it);
                --_open;
            }
            else
                ++it;
    }
}

int UpstreamPool::open() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _open;
}

int UpstreamPool::idle() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return static_cast<int>(_idle.size());
}

} // namespace mt::balancer
