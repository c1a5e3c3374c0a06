#include "RedisPipeline.h"

#include "AskTargets.h"
#include "MasterLocator.h"
#include "RedisSocket.h"

#include "mt/SessionStoreAdapter.h"
#include "mt/ThreadName.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <utility>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mt::redis {

namespace {

constexpr std::chrono::milliseconds kFirstBackoff{50};
/// How often one call is sent again after a MOVED or READONLY: a master moves once per failover.
constexpr int kMaxRedirects = 2;
/// The pause before a call answered TRYAGAIN goes again: the keys of one
/// session move within milliseconds, a whole slot's within seconds.
constexpr std::chrono::milliseconds kFirstRetry{10};
constexpr std::chrono::milliseconds kLastRetry{160};

} // namespace

/// One call's replies, in order: a blocked caller waits for them, or an
/// asynchronous caller's callback gets them. Filled by the reader alone until
/// finished.
struct RedisPipeline::Pending
{
    std::mutex mutex;
    std::condition_variable done;
    bool finished = false;
    std::size_t expected = 1;
    std::vector<Reply> replies;
    std::string error;
    Clock::time_point deadline;
    Callback callback; // set: asynchronous, nobody waits on `done`
    std::string wire;  // its commands, encoded: sent again on the next connection when Redis did not run them
    int redirects = 0;
    Migration migration = Migration::Follow;
    bool detoured = false;   // sent to another node, or waiting to go again: its lateness is not this connection's
    int tryAgains = 0;
    Clock::time_point retryAt; // in _later: when it goes again

    void finish(std::string why)
    {
        if (callback)
        {
            Callback run = std::move(callback);
            if (!why.empty()) replies.clear();
            run(std::move(replies), why);
            return;
        }
        {
            std::lock_guard<std::mutex> lock(mutex);
            error = std::move(why);
            finished = true;
        }
        done.notify_one();
    }
};

RedisPipeline::RedisPipeline(RedisSettings settings, Poco::Logger& logger, std::shared_ptr<MasterLocator> locator)
    : _settings(std::move(settings)),
      _logger(logger),
      _locator(locator ? std::move(locator) : makeLocator(_settings, {}, logger))
{
    if (!_settings.cluster.empty()) _asks = std::make_unique<AskTargets>(_settings, logger);
    _reader = std::thread([this] {
        nameThisThread("redis-replies");
        readLoop();
    });
}

RedisPipeline::~RedisPipeline()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _stopping = true;
        failLocked(_generation, "store shutting down", false);
    }
    finishFailed();
    // Their calls fail now; a reply already on its way back finds _stopping.
    if (_asks) _asks->close();
    _changed.notify_all();
    {
        // A caller woken by the failure above still reads members on its way
        // out; one connecting finishes within timeoutMs and finds _stopping.
        std::unique_lock<std::mutex> lock(_mutex);
        _changed.wait(lock, [&] { return _callers == 0; });
    }
    _wake.stop();
    _reader.join();
}

std::string RedisPipeline::address() const
{
    return _settings.address();
}

std::string RedisPipeline::peer()
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _stream ? _stream->peer() : std::string();
}

RedisPipeline::Clock::time_point RedisPipeline::connectedAt()
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _stream ? _connectedAt : Clock::time_point{};
}

Reply RedisPipeline::call(const std::vector<std::string>& args, Migration migration)
{
    std::string wire;
    appendCommand(wire, args);
    return callAll(std::move(wire), 1, migration).front();
}

/// Counts a call in progress, so the destructor can wait for it to leave.
class RedisPipeline::CallerGuard
{
public:
    explicit CallerGuard(RedisPipeline& pipeline) : _pipeline(pipeline)
    {
        std::lock_guard<std::mutex> lock(_pipeline._mutex);
        ++_pipeline._callers;
    }
    ~CallerGuard()
    {
        // Notified under the lock: once the destructor sees no callers it
        // destroys _changed, so nothing may touch it after the unlock.
        std::lock_guard<std::mutex> lock(_pipeline._mutex);
        --_pipeline._callers;
        _pipeline._changed.notify_all();
    }

private:
    RedisPipeline& _pipeline;
};

namespace {

std::string encodeAll(const std::vector<std::vector<std::string>>& commands)
{
    std::string wire;
    for (const auto& command : commands) appendCommand(wire, command);
    return wire;
}

} // namespace

std::string RedisPipeline::noReplyText() const
{
    // A 503 after a timeout does not mean nothing happened: Redis may run
    // the write later. Said, so that nobody takes it for a clean refusal.
    return "no reply within " + std::to_string(_settings.timeoutMs) + " ms (what was sent may still be applied)";
}

std::vector<Reply> RedisPipeline::callAll(const std::vector<std::vector<std::string>>& commands)
{
    return callAll(encodeAll(commands), commands.size());
}

void RedisPipeline::callAllAsync(const std::vector<std::vector<std::string>>& commands, Callback done, Migration migration)
{
    sendAsync(encodeAll(commands), commands.size(), Clock::now() + std::chrono::milliseconds(_settings.timeoutMs),
              std::move(done), migration);
}

std::vector<Reply> RedisPipeline::callAll(std::string wire, std::size_t count, Migration migration)
{
    CallerGuard guard(*this);
    const auto deadline = Clock::now() + std::chrono::milliseconds(_settings.timeoutMs);
    auto pending = std::make_shared<Pending>();
    pending->expected = count;
    pending->deadline = deadline;
    pending->wire = std::move(wire);
    pending->migration = migration;
    const std::uint64_t generation = submit(pending, deadline);

    std::unique_lock<std::mutex> wait(pending->mutex);
    if (!pending->done.wait_until(wait, deadline, [&] { return pending->finished; }))
    {
        wait.unlock();
        const std::string why = noReplyText();
        {
            std::lock_guard<std::mutex> relock(_mutex);
            if (!pending->detoured) failLocked(generation, why, true);
        }
        finishFailed();
        throw StoreUnavailable("redis " + address() + ": " + why);
    }
    if (!pending->error.empty()) throw StoreUnavailable("redis " + address() + ": " + pending->error);
    return std::move(pending->replies);
}

void RedisPipeline::callAllAsync(std::string wire, std::size_t count, Callback done)
{
    sendAsync(std::move(wire), count, Clock::now() + std::chrono::milliseconds(_settings.timeoutMs), std::move(done));
}

void RedisPipeline::sendAsync(std::string wire, std::size_t count, Clock::time_point deadline, Callback done,
                              Migration migration)
{
    CallerGuard guard(*this);
    auto pending = std::make_shared<Pending>();
    pending->expected = count;
    pending->replies.reserve(count);
    pending->deadline = deadline;
    pending->callback = std::move(done);
    pending->wire = std::move(wire);
    pending->migration = migration;
    try
    {
        submit(pending, deadline);
    }
    catch (const StoreUnavailable& e)
    {
        pending->finish(e.what());
    }
}

std::uint64_t RedisPipeline::submit(const std::shared_ptr<Pending>& pending,
                                    Clock::time_point deadline)
{
    std::unique_lock<std::mutex> lock(_mutex);
    while (!_stream) connectLocked(lock, deadline);
    const std::uint64_t generation = _generation;
    _out += pending->wire;
    ++_outCalls;
    _pending.push_back(pending);
    _commands.fetch_add(pending->expected, std::memory_order_relaxed);
    _roundTrips.fetch_add(1, std::memory_order_relaxed);
    // Corked while earlier commands await replies: the reader sends whatever
    // queued up as soon as it has handed those replies out, so under load
    // commands leave in batches, one write per round trip, and Redis reads
    // them in one go — no write (and no wake-up of Redis) per request.
    const bool awaitingReplies = _pending.size() > _outCalls;
    if (!awaitingReplies && !_draining) flushLocked(lock, deadline);
    lock.unlock();
    finishFailed();
    return generation;
}

void RedisPipeline::flushLocked(std::unique_lock<std::mutex>& lock, Clock::time_point deadline)
{
    if (!_flushing)
    {
        // Send for everyone: whatever others queue meanwhile leaves with the
        // next write. The connection is looked up again for every write: one
        // that failed meanwhile took its commands with it, and commands
        // queued since are for its successor.
        _flushing = true;
        while (!_out.empty() && _stream && !_draining)
        {
            const std::shared_ptr<RedisStream> stream = _stream;
            const std::uint64_t sendGeneration = _generation;
            std::string chunk;
            chunk.swap(_out);
            _outCalls = 0;
            lock.unlock();
            std::string error;
            try
            {
                stream->sendAll(chunk, deadline);
            }
            catch (const RedisSocketError& e)
            {
                error = e.what();
            }
            lock.lock();
            if (!error.empty()) failLocked(sendGeneration, error, true);
        }
        _flushing = false;
        _changed.notify_all();
    }
}

void RedisPipeline::connectLocked(std::unique_lock<std::mutex>& lock, Clock::time_point deadline)
{
    if (_stopping) throw StoreUnavailable("redis " + address() + ": store shutting down");
    if (_connecting)
    {
        // Another caller is connecting: its result is ours, within our deadline.
        if (_changed.wait_until(lock, deadline) == std::cv_status::timeout && !_stream)
            throw StoreUnavailable("redis " + address() + ": not connected within " + std::to_string(_settings.timeoutMs) + " ms");
        return;
    }
    if (_down && Clock::now() < _nextAttempt) throw StoreUnavailable("redis " + address() + " unavailable: " + _lastError);
    _connecting = true;
    const bool mustBeMaster = _mustBeMaster;
    lock.unlock();
    std::shared_ptr<RedisStream> stream;
    std::string error;
    try
    {
        stream = openStream(_settings, deadline, _locator.get(), mustBeMaster);
        if (_settings.database != 0)
        {
            RespParser parser;
            exchange(*stream, parser, {{"SELECT", std::to_string(_settings.database)}}, deadline);
        }
    }
    catch (const std::exception& e) // RedisSocketError, RespError
    {
        error = e.what();
        stream.reset();
    }
    lock.lock();
    _connecting = false;
    const std::string announced = std::exchange(_announcedWhileConnecting, {});
    if (!stream)
    {
        markDownLocked(error);
        _changed.notify_all();
        throw StoreUnavailable("redis " + address() + ": " + error);
    }
    if (_stopping) throw StoreUnavailable("redis " + address() + ": store shutting down");
    if (_locator && stream->peer() != _lastPeer)
    {
        _logger.notice("redis %s is at %s%s", _locator->master(), stream->peer(),
                       _lastPeer.empty() ? std::string() : " (was " + _lastPeer + ")");
        _lastPeer = stream->peer();
    }
    _stream = std::move(stream);
    if (mustBeMaster) _mustBeMaster = false;
    _connectedAt = Clock::now();
    ++_generation;
    if (!announced.empty() && _stream->peer() != announced)
    {
        // The sentinels were asked before they announced another master:
        // drained at once, the calls go to the master found next.
        _logger.information("redis %s: the sentinels named %s the master while this connection to %s was made: "
                            "asking them again", address(), announced, _stream->peer());
        _draining = true;
    }
    // Still DOWN until a reply comes: a frozen Redis accepts connections
    // (its kernel does), and the backoff must keep growing against it.
    if (_listener) _listener();
    _changed.notify_all();
}

void RedisPipeline::failLocked(std::uint64_t generation, const std::string& reason, bool down)
{
    if (generation == _generation && _stream)
    {
        // shutdown() wakes the reader; the socket closes when the last of
        // the reader and a caller sending on it lets go of the stream.
        _stream->shutdown();
        _stream.reset();
        _draining = false;
        ++_generation;
        _out.clear();
        _outCalls = 0;
        for (auto& pending : _pending) _failed.emplace_back(std::move(pending), reason);
        _pending.clear();
        // Waiting to go again on this connection: they fail with it, as if in flight.
        for (auto& pending : _later) _failed.emplace_back(std::move(pending), reason);
        _later.clear();
        if (_listener) _listener();
        if (down) markDownLocked(reason);
    }
    else if (!_stream)
    {
        // Calls queued with no connection cannot exist (call() connects
        // first), but a stop must not leave anyone waiting.
        for (auto& pending : _pending) _failed.emplace_back(std::move(pending), reason);
        _pending.clear();
        if (_stopping)
        {
            for (auto& pending : _later) _failed.emplace_back(std::move(pending), reason);
            _later.clear();
        }
    }
    _changed.notify_all();
}

void RedisPipeline::markDownLocked(const std::string& reason)
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

void RedisPipeline::finishFailed()
{
    std::vector<std::pair<std::shared_ptr<Pending>, std::string>> failed;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        failed.swap(_failed);
    }
    for (auto& [pending, reason] : failed) pending->finish(reason);
}

void RedisPipeline::readLoop()
{
    for (;;)
    {
        std::shared_ptr<RedisStream> stream;
        std::uint64_t generation = 0;
        std::vector<std::shared_ptr<Pending>> due;
        {
            std::unique_lock<std::mutex> lock(_mutex);
            // Nothing to read while not connected; but calls answered
            // TRYAGAIN may wait to go again (set aside while a drained
            // connection was replaced): at their time they connect.
            while (!_stopping && !_stream)
            {
                if (_later.empty())
                {
                    _changed.wait(lock);
                    continue;
                }
                const Clock::time_point next = takeDueLocked(due);
                if (!due.empty()) break;
                _changed.wait_until(lock, next);
            }
            if (_stopping) return; // the destructor failed what was in _later
            stream = _stream;
            generation = _generation;
        }
        if (!due.empty())
        {
            sendAgain(std::move(due), false);
            continue;
        }
        readConnection(*stream, generation);
    }
}

void RedisPipeline::readConnection(RedisStream& stream, std::uint64_t generation)
{
    RespParser parser;
    std::vector<Reply> replies;
    ReadState state;
    for (;;)
    {
        std::vector<std::shared_ptr<Pending>> due; // answered TRYAGAIN, their pause over
        int waitMs = 0;
        if (!nextWait(generation, state, due, waitMs)) break;
        if (!due.empty())
        {
            sendAgain(std::move(due), false);
            continue;
        }
        const ReadStep step = receive(stream, parser, waitMs, replies, state);
        if (step == ReadStep::Stop) break;
        if (step == ReadStep::Again) continue;
        noticeRedirect(stream, generation, replies, state);
        if (!replies.empty()) deliver(generation, replies);
    }
    endConnection(generation, state);
}

bool RedisPipeline::nextWait(std::uint64_t generation, ReadState& state, std::vector<std::shared_ptr<Pending>>& due,
                             int& waitMs)
{
    // Deadlines are watched here too: an asynchronous caller has nobody
    // waiting. Calls are queued in deadline order, so the oldest one's is
    // next; with none, waking every timeoutMs is soon enough for a call
    // queued meanwhile (its deadline is at least that far away).
    waitMs = _settings.timeoutMs;
    std::lock_guard<std::mutex> lock(_mutex);
    if (generation != _generation) return false; // dropped by a caller: already failed
    if (_draining && _pending.size() == _outCalls)
    {
        state.down = false; // every call sent is answered: move the rest
        return false;
    }
    if (!_pending.empty())
    {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(_pending.front()->deadline - Clock::now());
        if (left.count() < 0)
        {
            state.error = noReplyText();
            return false;
        }
        waitMs = int(left.count()) + 1;
    }
    if (!_later.empty())
    {
        const Clock::time_point next = takeDueLocked(due);
        // Never negative (poll would wait for ever): the reader may have been
        // preempted since takeDueLocked() looked at the clock.
        if (due.empty()) waitMs = std::min(waitMs, msLeft(next) + 1);
    }
    return true;
}

RedisPipeline::ReadStep RedisPipeline::receive(RedisStream& stream, RespParser& parser, int waitMs,
                                               std::vector<Reply>& replies, ReadState& state)
{
    pollfd fds[2] = {{stream.fd(), POLLIN, 0}, {_wake.fd(), POLLIN, 0}};
    int r = ::poll(fds, 2, waitMs);
    if (r == 0) return ReadStep::Again;
    if (r < 0)
    {
        if (errno == EINTR) return ReadStep::Again;
        state.error = std::string("poll: ") + std::strerror(errno);
        return ReadStep::Stop;
    }
    if (fds[1].revents)
    {
        if (!_wake.consume()) return ReadStep::Again; // masterMoved(): the drain is checked by nextWait
        // Stopping: the destructor failed every call queued; those set
        // aside to be sent again (a drain) fail in endConnection, as they cannot be.
        state.error = "store shutting down";
        return ReadStep::Stop;
    }
    RedisStream::Received received;
    try
    {
        received = stream.receiveNow(parser);
    }
    catch (const RedisTlsError& e) // refused, and would be again: DOWN, with its backoff
    {
        state.error = e.what();
        return ReadStep::Stop;
    }
    catch (const RedisSocketError& e) // reset: as good as closed
    {
        state.closed = true;
        state.error = e.what();
        return ReadStep::Stop;
    }
    if (received == RedisStream::Received::Closed)
    {
        state.closed = true;
        state.error = stream.explain("connection closed by redis");
        return ReadStep::Stop;
    }
    try
    {
        while (Reply reply = parser.next()) replies.push_back(std::move(reply));
    }
    catch (const RespError& e)
    {
        state.error = e.what();
        _logger.error("redis %s sent a malformed reply, connection dropped: %s", address(), state.error);
        return ReadStep::Stop;
    }
    return ReadStep::Replies;
}

void RedisPipeline::noticeRedirect(const RedisStream& stream, std::uint64_t generation, const std::vector<Reply>& replies,
                                   ReadState& state)
{
    // A master demoted while this connection stayed open (a failover
    // behind a DNS name or a virtual IP, or behind the sentinels' back)
    // answers writes READONLY; in a cluster, MOVED says the slot is
    // served elsewhere now (a failover, a resharding). Either way nothing
    // more is sent here; once what was sent is answered the connection
    // is dropped (no DOWN), and the calls Redis did not run go to the
    // next one, which finds the master now. A Redis configured as a
    // replica by mistake does not cost a connection per request: that
    // connect checks the role and fails, DOWN with its backoff.
    bool moved = false;
    for (const Reply& reply : replies)
    {
        if (!reply->isError()) continue;
        const std::string message = errorMessage(reply);
        state.demoted = state.demoted || message.rfind("READONLY", 0) == 0;
        moved = moved || (_locator && !_settings.cluster.empty() && message.rfind("MOVED ", 0) == 0);
    }
    if (!(state.demoted || moved) || state.draining) return;
    // Before the replies are handed out: what callers queued behind
    // them stays unsent, for the next connection.
    state.error = state.demoted ? stream.peer() + " answered READONLY: it is a replica now; " +
                                      (_locator ? "asking " + _settings.locatedBy() + " for the master again"
                                                : std::string("connecting again"))
                                : stream.peer() + " answered MOVED: the slot is served elsewhere now; asking the cluster's nodes again";
    _logger.information("redis %s: %s", address(), state.error);
    state.down = false;
    state.draining = true;
    std::lock_guard<std::mutex> lock(_mutex);
    if (generation == _generation) _draining = true;
}

void RedisPipeline::endConnection(std::uint64_t generation, const ReadState& state)
{
    std::vector<std::shared_ptr<Pending>> again; // not run by Redis: for the next connection
    {
        std::lock_guard<std::mutex> lock(_mutex);
        // Closed by Redis (restart, idle `timeout`, CLIENT KILL): the calls in
        // flight fail, but the next call simply reconnects, without a backoff;
        // a Redis that is really gone then fails that connect.
        const bool down = state.down && !state.closed;
        // Without a locator the next connect may reach the same replica
        // (a store configured at one by mistake, a name not yet moved): the
        // role check keeps it DOWN, rather than UP until the next write.
        if (state.demoted && !_locator && generation == _generation) _mustBeMaster = true;
        again = takeNotRunLocked(generation);
        failLocked(generation, state.error, down);
    }
    finishFailed();
    sendAgain(std::move(again));
}

std::vector<std::shared_ptr<RedisPipeline::Pending>> RedisPipeline::takeNotRunLocked(std::uint64_t generation)
{
    std::vector<std::shared_ptr<Pending>> calls;
    calls.swap(_redirected);
    if (_draining && generation == _generation)
    {
        // Those waiting out a TRYAGAIN go now: the slot is elsewhere.
        std::move(_later.begin(), _later.end(), std::back_inserter(calls));
        _later.clear();
        // The calls never sent (the last _outCalls) go as they are; those
        // sent and not answered (a drop while draining) fail with the
        // connection. In the order they were first sent.
        const std::size_t unsent = std::min(_outCalls, _pending.size());
        std::move(_pending.end() - std::ptrdiff_t(unsent), _pending.end(), std::back_inserter(calls));
        _pending.erase(_pending.end() - std::ptrdiff_t(unsent), _pending.end());
        _outCalls -= unsent;
    }
    return calls;
}

void RedisPipeline::sendAgain(std::vector<std::shared_ptr<Pending>> calls, bool redirected)
{
    // To the master found now, within their own deadlines; the reader then
    // reads that connection. A call whose time is up (answered READONLY or
    // MOVED before a drain that ended at a later call's deadline) fails with
    // its timeout: sent, it would fail the new connection, and the store
    // would go DOWN while Redis answers.
    const Clock::time_point now = Clock::now();
    for (auto& pending : calls)
    {
        pending->replies.clear();
        if (redirected) ++pending->redirects;
        if (pending->deadline <= now)
        {
            pending->finish(noReplyText());
            continue;
        }
        try
        {
            submit(pending, pending->deadline);
        }
        catch (const StoreUnavailable& e)
        {
            pending->finish(e.what());
        }
    }
}

bool RedisPipeline::notRun(const Pending& pending) const
{
    // MOVED and READONLY mean the command was not run (its slot is elsewhere,
    // or it writes on a replica): sending it again cannot apply it twice. A
    // MULTI block that met one was discarded (EXECABORT); a script fails at
    // its first write, before which a replica cannot have written anything.
    // Anything else answered stays answered.
    if (pending.redirects >= kMaxRedirects) return false;
    bool refused = false;
    for (const Reply& reply : pending.replies)
    {
        if (!reply->isError()) continue;
        const std::string message = errorMessage(reply);
        if (message.rfind("MOVED ", 0) == 0 || message.rfind("READONLY", 0) == 0)
            refused = true;
        else if (message.rfind("EXECABORT", 0) != 0)
            return false;
    }
    return refused;
}

void RedisPipeline::deliver(std::uint64_t generation, std::vector<Reply>& replies)
{
    std::vector<std::shared_ptr<Pending>> owners;
    std::vector<std::pair<std::shared_ptr<Pending>, Endpoint>> asked, tryAgain;
    {
        std::unique_lock<std::mutex> lock(_mutex);
        if (generation != _generation)
        {
            replies.clear();
            return;
        }
        std::size_t used = 0;
        // The front call's replies come first; it is done once it has them all.
        while (used < replies.size() && !_pending.empty())
        {
            Pending& front = *_pending.front();
            while (used < replies.size() && front.replies.size() < front.expected)
                front.replies.push_back(std::move(replies[used++]));
            if (front.replies.size() < front.expected) break;
            std::shared_ptr<Pending> answered = std::move(_pending.front());
            _pending.pop_front();
            Endpoint target;
            const bool redirected = notRun(*answered);
            const Detour detour = redirected ? Detour::None : detourOf(*answered, target);
            if (redirected)
                _redirected.push_back(std::move(answered));
            else if (detour != Detour::None)
            {
                answered->detoured = true;
                (detour == Detour::Ask ? asked : tryAgain).emplace_back(std::move(answered), target);
            }
            else
                owners.push_back(std::move(answered));
        }
        if (used < replies.size())
            failLocked(generation, "redis sent a reply nobody asked for", true);
        else
        {
            if (_down)
            {
                _down = false;
                _backoff = std::chrono::milliseconds(0);
                _lastError.clear();
                _logger.notice("redis %s reachable again", address());
            }
            // What was corked while these were out leaves now, before the
            // callers run: Redis works on the next batch meanwhile.
            if (!_out.empty() && !_draining) flushLocked(lock, Clock::now() + std::chrono::milliseconds(_settings.timeoutMs));
        }
    }
    replies.clear();
    finishFailed();
    for (auto& owner : owners) owner->finish({});
    for (auto& [pending, target] : asked) askElsewhere(pending, target);
    for (auto& [pending, target] : tryAgain) retryLater(pending);
}

RedisPipeline::Detour RedisPipeline::detourOf(const Pending& pending, Endpoint& target) const
{
    // Only a cluster migrates slots. An ASK or TRYAGAIN means Redis ran
    // nothing of a command: a MULTI block that met one was discarded
    // (EXECABORT), and a script or multi-key command is refused whole. Of a
    // pipelined group of commands the others may have run, and one ASKING
    // covers one command: the group gets its answers as they are.
    if (_settings.cluster.empty()) return Detour::None;
    static const std::string multi = encodeCommand({"MULTI"});
    if (pending.expected != 1 && pending.wire.compare(0, multi.size(), multi) != 0) return Detour::None;
    bool ask = false, again = false;
    for (const Reply& reply : pending.replies)
    {
        if (!reply->isError()) continue;
        const std::string message = errorMessage(reply);
        if (message.rfind("TRYAGAIN", 0) == 0)
            again = true;
        else if (auto node = askTargetIn(message))
        {
            if (!ask) target = *node;
            ask = true;
        }
        else if (message.rfind("EXECABORT", 0) != 0)
            return Detour::None;
    }
    if (again) return pending.migration == Migration::Follow ? Detour::TryAgain : Detour::None;
    return ask && pending.migration != Migration::None ? Detour::Ask : Detour::None;
}

void RedisPipeline::askElsewhere(const std::shared_ptr<Pending>& pending, const Endpoint& target)
{
    const std::shared_ptr<RedisPipeline> there = _asks->to(target);
    if (!there)
    {
        pending->finish({}); // its ASK is the answer
        return;
    }
    _askRedirects.fetch_add(1, std::memory_order_relaxed);
    std::string wire;
    appendCommand(wire, {"ASKING"});
    wire += pending->wire;
    pending->replies.clear();
    there->sendAsync(std::move(wire), pending->expected + 1, pending->deadline,
                     [this, pending, node = target.text()](std::vector<Reply> replies, const std::string& error) {
                         if (!error.empty())
                         {
                             pending->finish("following an ASK to " + node + ": " + error);
                             return;
                         }
                         replies.erase(replies.begin()); // ASKING's OK
                         pending->replies = std::move(replies);
                         Endpoint unused;
                         if (detourOf(*pending, unused) == Detour::TryAgain)
                         {
                             retryLater(pending);
                             return;
                         }
                         pending->finish({});
                     });
}

void RedisPipeline::retryLater(const std::shared_ptr<Pending>& pending)
{
    std::string failure;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        const auto pause = std::min(kFirstRetry * (1 << std::min(pending->tryAgains, 4)), kLastRetry);
        pending->retryAt = Clock::now() + pause;
        if (_stopping)
            failure = "store shutting down";
        else if (pending->retryAt >= pending->deadline)
            failure = "its slot is being migrated, and its keys were split between two nodes (TRYAGAIN) until the deadline";
        else
        {
            ++pending->tryAgains;
            _tryAgains.fetch_add(1, std::memory_order_relaxed);
            _later.push_back(pending);
            _changed.notify_all(); // a reader waiting for a connection
        }
    }
    if (!failure.empty())
    {
        pending->finish(failure);
        return;
    }
    _wake.wake(); // a reader polling a connection
}

RedisPipeline::Clock::time_point RedisPipeline::takeDueLocked(std::vector<std::shared_ptr<Pending>>& due)
{
    const Clock::time_point now = Clock::now();
    Clock::time_point next = Clock::time_point::max();
    std::vector<std::shared_ptr<Pending>> waiting;
    for (auto& pending : _later)
    {
        if (pending->retryAt <= now)
            due.push_back(std::move(pending));
        else
        {
            next = std::min(next, pending->retryAt);
            waiting.push_back(std::move(pending));
        }
    }
    _later.swap(waiting);
    return next;
}

void RedisPipeline::masterMoved(const std::string& master)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_stopping) return;
    if (_down) _nextAttempt = Clock::now();
    if (_connecting) _announcedWhileConnecting = master; // checked once connected
    if (!_stream || _draining || _stream->peer() == master) return;
    _logger.information("redis %s: the sentinels name %s the master now, no longer %s: asking them again", address(),
                        master, _stream->peer());
    // Its reader leaves once what was sent is answered (readConnection).
    _draining = true;
    _wake.wake();
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
