#include "RedisPipeline.h"

#include "RedisSocket.h"

#include "mt/SessionStoreAdapter.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mt::redis {

namespace {

constexpr std::chrono::milliseconds kFirstBackoff{50};

} // namespace

struct RedisPipeline::Pending
{
    std::mutex mutex;
    std::condition_variable done;
    bool finished = false;
    Reply reply;
    std::string error;

    void finish(Reply value, std::string why)
    {
        {
            std::lock_guard<std::mutex> lock(mutex);
            reply = std::move(value);
            error = std::move(why);
            finished = true;
        }
        done.notify_one();
    }
};

RedisPipeline::RedisPipeline(RedisSettings settings, Poco::Logger& logger)
    : _settings(std::move(settings)), _logger(logger)
{
    _wakeFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (_wakeFd < 0) throw std::runtime_error(std::string("redis pipeline: eventfd: ") + std::strerror(errno));
    _reader = std::thread([this] { readLoop(); });
}

RedisPipeline::~RedisPipeline()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _stopping = true;
        failLocked(_generation, "store shutting down", false);
    }
    _changed.notify_all();
    std::uint64_t one = 1;
    ssize_t r = ::write(_wakeFd, &one, sizeof one);
    (void)r;
    _reader.join();
    ::close(_wakeFd);
}

std::string RedisPipeline::address() const
{
    return _settings.host + ":" + std::to_string(_settings.port);
}

Reply RedisPipeline::call(const std::vector<std::string>& args)
{
    return callAll({args}).front();
}

std::vector<Reply> RedisPipeline::callAll(const std::vector<std::vector<std::string>>& commands)
{
    const auto deadline = Clock::now() + std::chrono::milliseconds(_settings.timeoutMs);
    std::vector<std::shared_ptr<Pending>> pendings;
    pendings.reserve(commands.size());
    std::string wire;
    for (const auto& command : commands)
    {
        appendCommand(wire, command);
        pendings.push_back(std::make_shared<Pending>());
    }

    std::unique_lock<std::mutex> lock(_mutex);
    while (_fd < 0) connectLocked(lock, deadline);
    const std::uint64_t generation = _generation;
    _out += wire;
    _pending.insert(_pending.end(), pendings.begin(), pendings.end());
    _commands.fetch_add(commands.size(), std::memory_order_relaxed);
    _roundTrips.fetch_add(1, std::memory_order_relaxed);
    if (_flushingFd < 0)
    {
        // Send for everyone: whatever others queue meanwhile leaves with the
        // next write. The connection is looked up again for every write: one
        // that failed meanwhile took its commands with it, and commands
        // queued since are for its successor.
        while (!_out.empty() && _fd >= 0)
        {
            const int sendFd = _fd;
            const std::uint64_t sendGeneration = _generation;
            _flushingFd = sendFd;
            std::string chunk;
            chunk.swap(_out);
            lock.unlock();
            std::string error;
            try
            {
                sendAll(sendFd, chunk, deadline);
            }
            catch (const RedisSocketError& e)
            {
                error = e.what();
            }
            lock.lock();
            if (!error.empty()) failLocked(sendGeneration, error, true);
        }
        _flushingFd = -1;
        _changed.notify_all();
    }
    lock.unlock();

    std::vector<Reply> replies;
    replies.reserve(pendings.size());
    for (auto& pending : pendings)
    {
        std::unique_lock<std::mutex> wait(pending->mutex);
        if (!pending->done.wait_until(wait, deadline, [&] { return pending->finished; }))
        {
            wait.unlock();
            const std::string why = "no reply within " + std::to_string(_settings.timeoutMs) + " ms";
            {
                std::lock_guard<std::mutex> relock(_mutex);
                failLocked(generation, why, true);
            }
            throw StoreUnavailable("redis " + address() + ": " + why);
        }
        if (!pending->error.empty()) throw StoreUnavailable("redis " + address() + ": " + pending->error);
        replies.push_back(std::move(pending->reply));
    }
    return replies;
}

void RedisPipeline::connectLocked(std::unique_lock<std::mutex>& lock, Clock::time_point deadline)
{
    if (_stopping) throw StoreUnavailable("redis " + address() + ": store shutting down");
    if (_connecting)
    {
        // Another caller is connecting: its result is ours, within our deadline.
        if (_changed.wait_until(lock, deadline) == std::cv_status::timeout && _fd < 0)
            throw StoreUnavailable("redis " + address() + ": not connected within " + std::to_string(_settings.timeoutMs) + " ms");
        return;
    }
    if (_down && Clock::now() < _nextAttempt) throw StoreUnavailable("redis " + address() + " unavailable: " + _lastError);
    _connecting = true;
    lock.unlock();
    int fd = -1;
    std::string error;
    try
    {
        fd = connectTcp(_settings.host, _settings.port, deadline);
        std::vector<std::vector<std::string>> setup;
        if (!_settings.password.empty()) setup.push_back({"AUTH", _settings.password});
        if (_settings.database != 0) setup.push_back({"SELECT", std::to_string(_settings.database)});
        if (!setup.empty())
        {
            RespParser parser;
            exchange(fd, parser, setup, deadline);
        }
    }
    catch (const std::exception& e) // RedisSocketError, RespError
    {
        error = e.what();
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
    lock.lock();
    _connecting = false;
    if (fd < 0)
    {
        const bool first = !_down;
        _down = true;
        _lastError = error;
        _backoff = _backoff.count() == 0 ? kFirstBackoff
                                         : std::min(_backoff * 2, std::chrono::milliseconds(_settings.reconnectMaxMs));
        _nextAttempt = Clock::now() + _backoff;
        _changed.notify_all();
        if (first)
            _logger.error("redis %s DOWN: %s (reconnecting with backoff up to %d ms)", address(), error,
                          _settings.reconnectMaxMs);
        throw StoreUnavailable("redis " + address() + ": " + error);
    }
    if (_stopping)
    {
        ::close(fd);
        throw StoreUnavailable("redis " + address() + ": store shutting down");
    }
    _fd = fd;
    ++_generation;
    if (_down) _logger.notice("redis %s reachable again", address());
    _down = false;
    _backoff = std::chrono::milliseconds(0);
    _lastError.clear();
    if (_listener) _listener();
    _changed.notify_all();
}

void RedisPipeline::failLocked(std::uint64_t generation, const std::string& reason, bool down)
{
    if (generation == _generation && _fd >= 0)
    {
        // The reader owns the descriptor: shutdown() wakes it, and it closes
        // the socket once no caller is sending on it.
        ::shutdown(_fd, SHUT_RDWR);
        _fd = -1;
        ++_generation;
        _out.clear();
        for (auto& pending : _pending) pending->finish(nullptr, reason);
        _pending.clear();
        if (_listener) _listener();
        if (down)
        {
            const bool first = !_down;
            _down = true;
            _lastError = reason;
            _backoff = _backoff.count() == 0 ? kFirstBackoff
                                             : std::min(_backoff * 2, std::chrono::milliseconds(_settings.reconnectMaxMs));
            _nextAttempt = Clock::now() + _backoff;
            if (first)
                _logger.error("redis %s DOWN: %s (reconnecting with backoff up to %d ms)", address(), reason,
                              _settings.reconnectMaxMs);
        }
    }
    else if (_fd < 0)
    {
        // Calls queued with no connection cannot exist (call() connects
        // first), but a stop must not leave anyone waiting.
        for (auto& pending : _pending) pending->finish(nullptr, reason);
        _pending.clear();
    }
    _changed.notify_all();
}

void RedisPipeline::readLoop()
{
    for (;;)
    {
        int fd;
        std::uint64_t generation;
        {
            std::unique_lock<std::mutex> lock(_mutex);
            _changed.wait(lock, [&] { return _stopping || _fd >= 0; });
            if (_stopping) return;
            fd = _fd;
            generation = _generation;
        }
        readConnection(fd, generation);
        std::unique_lock<std::mutex> lock(_mutex);
        // Closed only once no caller is sending on it (a flush on a later
        // connection uses another descriptor: this one is still open).
        _changed.wait(lock, [&] { return _flushingFd != fd; });
        ::close(fd);
    }
}

void RedisPipeline::readConnection(int fd, std::uint64_t generation)
{
    RespParser parser;
    std::vector<Reply> replies;
    char buffer[65536];
    std::string error;
    bool closed = false;
    for (;;)
    {
        pollfd fds[2] = {{fd, POLLIN, 0}, {_wakeFd, POLLIN, 0}};
        int r = ::poll(fds, 2, -1);
        if (r < 0)
        {
            if (errno == EINTR) continue;
            error = std::string("poll: ") + std::strerror(errno);
            break;
        }
        if (fds[1].revents) return; // stopping: the destructor failed every call already
        ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK))
        {
            closed = true;
            error = n == 0 ? "connection closed by redis" : std::string("recv: ") + std::strerror(errno);
            break;
        }
        if (n < 0) continue;
        try
        {
            parser.feed(buffer, std::size_t(n));
            while (Reply reply = parser.next()) replies.push_back(std::move(reply));
        }
        catch (const RespError& e)
        {
            error = e.what();
            _logger.error("redis %s sent a malformed reply, connection dropped: %s", address(), error);
            break;
        }
        if (!replies.empty()) deliver(generation, replies);
    }
    std::lock_guard<std::mutex> lock(_mutex);
    // Closed by Redis while nothing was asked (restart, idle `timeout`): the
    // next call simply reconnects. Anything else fails the calls in flight.
    failLocked(generation, error, !(closed && _pending.empty()));
}

void RedisPipeline::deliver(std::uint64_t generation, std::vector<Reply>& replies)
{
    std::vector<std::shared_ptr<Pending>> owners;
    owners.reserve(replies.size());
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (generation != _generation)
        {
            replies.clear();
            return;
        }
        if (replies.size() > _pending.size())
        {
            failLocked(generation, "redis sent a reply nobody asked for", true);
            replies.clear();
            return;
        }
        for (std::size_t i = 0; i < replies.size(); ++i)
        {
            owners.push_back(std::move(_pending.front()));
            _pending.pop_front();
        }
    }
    for (std::size_t i = 0; i < replies.size(); ++i) owners[i]->finish(std::move(replies[i]), {});
    replies.clear();
}

std::string RedisPipeline::problem()
{
    try
    {
        Reply reply = call({"PING"});
        if (reply->isError()) return "redis " + address() + ": PING: " + errorMessage(reply);
        return {};
    }
    catch (const StoreUnavailable& e)
    {
        return e.what();
    }
}

} // namespace mt::redis
