#pragma once
// One Redis connection shared by every thread of a store, pipelined, as
// Lettuce (Spring Session's default client) does it. A caller appends its
// commands to the outgoing buffer; they leave at once when nothing is
// awaiting a reply, else the reader sends everything queued as soon as it
// has handed out the replies it got (corking): under load, one write per
// round trip whatever the number of callers, and Redis reads them in one go
// (measured: 0.04 writes and 0.05 reads per request, against one each with
// a pool of blocking connections). One reader thread parses replies and
// hands each call its own in order (Redis answers in order); a caller either
// waits (call, callAll) or gets a callback (callAllAsync). The store also
// needs one connection whose writes are its own (client tracking's NOLOOP,
// see NearCache.h).
//
// Every call is bounded: connecting and the reply end at a deadline
// `timeoutMs` after the call began; past it the call throws
// mt::StoreUnavailable and the connection is dropped, failing every call in
// flight on it (a reply that late means Redis is stuck for everyone). After a
// failure the pipeline is DOWN: calls fail at once, without touching the
// network, until a backoff (50 ms doubling to reconnectMaxMs) has passed;
// then the next caller reconnects (the others wait for it, within their own
// deadlines); DOWN ends with the first reply, not the connect (a frozen
// Redis still accepts connections). A connection Redis closes (restart, idle
// `timeout`, CLIENT KILL) fails what is in flight on it and is replaced by the
// next call, without a DOWN. After a MOVED (in a cluster) or READONLY (a
// master demoted under a name, a virtual IP or the sentinels) nothing more
// is sent on the connection: once what was sent is answered it is dropped the
// same way, and the calls Redis did not run (answered MOVED or READONLY, or
// queued and never sent) go on the next one, to the master found then, within
// their own deadlines, at most twice each; the same happens when the
// sentinels announce another master (masterMoved). While the cluster
// migrates the store's slot, a call answered ASK (its key is on the
// importing node already) is sent there once, after ASKING (AskTargets.h),
// and one answered TRYAGAIN (its keys are split between the two for now) is
// sent again after a short pause (10 ms doubling to 160 ms), until its
// deadline. The destructor waits for callers to leave.
//
// Thread-safety: every method may be called from any thread. The connection
// listener is called with the pipeline's lock held: it must not call back
// into the pipeline.

#include "RedisSettings.h"
#include "Resp.h"
#include "StopSignal.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace Poco {
class Logger;
}

namespace mt::redis {

class RedisStream;
class MasterLocator;
class AskTargets;

class RedisPipeline
{
public:
    using Clock = std::chrono::steady_clock;

    /// `locator`: the one the store shares with its invalidation subscriber
    /// (null: one of its own when the settings name sentinels; a cluster needs
    /// the store's, which knows the slot: MasterLocator.h).
    RedisPipeline(RedisSettings settings, Poco::Logger& logger, std::shared_ptr<MasterLocator> locator = {});
    ~RedisPipeline();

    RedisPipeline(const RedisPipeline&) = delete;
    RedisPipeline& operator=(const RedisPipeline&) = delete;

    /// Called whenever the connection is replaced or lost: what Redis keeps
    /// per connection (client tracking) is gone with it. Set before the first call.
    void setConnectionListener(std::function<void()> listener) { _listener = std::move(listener); }
    /// What a call does while the cluster migrates its slot.
    enum class Migration
    {
        Follow,  ///< ASK followed, TRYAGAIN waited out
        AskOnly, ///< ASK followed, TRYAGAIN is the answer: the caller has another way
        None,    ///< both are the answer: for a script that reads keys it did not
                 ///< declare, which the importing node would find missing
    };

    /// Sends one command, returns its reply (a Redis error reply is returned,
    /// not thrown: Reply::isError()). Throws mt::StoreUnavailable.
    Reply call(const std::vector<std::string>& args, Migration migration = Migration::Follow);
    /// Sends the commands back to back (nothing of another caller's in
    /// between: a MULTI ... EXEC block stays whole) and returns their replies.
    std::vector<Reply> callAll(const std::vector<std::vector<std::string>>& commands);
    /// callAll() of `count` commands already encoded (Resp.h) into `wire`.
    std::vector<Reply> callAll(std::string wire, std::size_t count, Migration migration = Migration::Follow);

    /// Replies to a callAllAsync(), or why there are none.
    using Callback = std::function<void(std::vector<Reply> replies, const std::string& error)>;
    /// callAll() without waiting: `done` runs once with every reply, or with
    /// an error (no reply within timeoutMs, connection lost, DOWN), on the
    /// reader thread — or on this thread before the call returns when it
    /// fails at once. It must be short, must not block, and must not call
    /// call()/callAll() (the reader would wait for itself); callAllAsync() is fine.
    void callAllAsync(const std::vector<std::vector<std::string>>& commands, Callback done,
                      Migration migration = Migration::Follow);
    void callAllAsync(std::string wire, std::size_t count, Callback done);

    /// The sentinels announced `master` ("host:port", as they name it) as
    /// the master now (SentinelWatch). A connection to another instance is
    /// drained as after a READONLY: nothing more is sent on it, and what was
    /// not is sent to the master found next. A pipeline DOWN for a backoff
    /// connects again at the next call.
    void masterMoved(const std::string& master);

    /// "" when Redis answers, else why not. PINGs unless DOWN within the
    /// backoff, so /health notices a recovery on its own.
    std::string problem();
    /// Commands sent since start (every node's share of Redis load).
    std::uint64_t commands() const { return _commands.load(std::memory_order_relaxed); }
    /// Calls (a callAll() is one: its commands leave together and are waited for together).
    std::uint64_t roundTrips() const { return _roundTrips.load(std::memory_order_relaxed); }
    /// Calls an ASK sent to another node (a slot migration under way),
    /// counted before they are sent: a caller that finds it changed across
    /// its call may have been answered by a node whose changes this
    /// connection's client tracking does not see.
    std::uint64_t askRedirects() const { return _askRedirects.load(std::memory_order_relaxed); }
    /// Calls sent again after a TRYAGAIN (the same).
    std::uint64_t tryAgains() const { return _tryAgains.load(std::memory_order_relaxed); }
    std::string address() const;
    /// The instance connected to now (RedisStream::peer()), "" when not connected.
    std::string peer();
    /// When the current connection was made (the epoch when not connected).
    Clock::time_point connectedAt();

private:
    struct Pending;
    class CallerGuard;

    /// Why a call failed at its deadline.
    std::string noReplyText() const;
    /// Queues the call's commands (connecting first if needed) and sends unless
    /// another caller is sending; returns the connection generation.
    std::uint64_t submit(const std::shared_ptr<Pending>& pending, Clock::time_point deadline);
    void connectLocked(std::unique_lock<std::mutex>& lock, Clock::time_point deadline);
    /// Sends what is queued, unless another thread is sending (it takes it along).
    void flushLocked(std::unique_lock<std::mutex>& lock, Clock::time_point deadline);
    /// Drops the connection of `generation` (if still current) and fails its
    /// calls; `down` starts the backoff. The failed calls are finished by
    /// finishFailed(), outside the lock (callbacks may queue new calls).
    void failLocked(std::uint64_t generation, const std::string& reason, bool down);
    void finishFailed();
    /// DOWN for a backoff (50 ms doubling up to reconnectMaxMs); logged once per outage.
    void markDownLocked(const std::string& reason);
    void readLoop();
    /// Reads `generation`'s replies and hands them out until it is dropped,
    /// fails, or (draining) has every call sent answered.
    void readConnection(RedisStream& stream, std::uint64_t generation);
    /// What readConnection learned of the connection it ends.
    struct ReadState
    {
        std::string error; // why the calls still in flight fail
        bool closed = false;   // by Redis: the next call reconnects without a backoff
        bool down = true;      // the backoff starts (not for a drain)
        bool demoted = false;  // a READONLY came
        bool draining = false; // a MOVED or READONLY came (_draining)
    };
    /// False: stop reading (state says why). Otherwise how long to wait for
    /// replies, and the calls answered TRYAGAIN whose pause is over.
    bool nextWait(std::uint64_t generation, ReadState& state, std::vector<std::shared_ptr<Pending>>& due, int& waitMs);
    enum class ReadStep { Replies, Again, Stop };
    /// Waits up to waitMs for bytes and parses the replies they complete.
    ReadStep receive(RedisStream& stream, RespParser& parser, int waitMs, std::vector<Reply>& replies, ReadState& state);
    /// A READONLY or MOVED among the replies: the connection drains.
    void noticeRedirect(const RedisStream& stream, std::uint64_t generation, const std::vector<Reply>& replies,
                        ReadState& state);
    /// Fails what is left in flight and sends again what Redis did not run.
    void endConnection(std::uint64_t generation, const ReadState& state);
    void deliver(std::uint64_t generation, std::vector<Reply>& replies);
    /// A call whose only errors are MOVED or READONLY (and the EXECABORT that follows): Redis ran none of it.
    bool notRun(const Pending& pending) const;
    /// The calls of the draining connection `generation` that Redis did not
    /// run: those answered so (notRun) and those never sent.
    std::vector<std::shared_ptr<Pending>> takeNotRunLocked(std::uint64_t generation);
    /// Submits them again (a new connection), in order; one that cannot be finishes with the reason.
    void sendAgain(std::vector<std::shared_ptr<Pending>> calls, bool redirected = true);
    /// callAllAsync() with the deadline of the call it continues.
    void sendAsync(std::string wire, std::size_t count, Clock::time_point deadline, Callback done,
                   Migration migration = Migration::Follow);
    /// What an answered call's replies say of a slot migration (None: they are its answer).
    enum class Detour { None, Ask, TryAgain };
    Detour detourOf(const Pending& pending, Endpoint& target) const;
    /// Sends the call to `target` after ASKING, once; its replies are the call's.
    void askElsewhere(const std::shared_ptr<Pending>& pending, const Endpoint& target);
    /// Sends the call again after a pause, if its deadline allows (the reader does).
    void retryLater(const std::shared_ptr<Pending>& pending);
    /// Moves the calls whose pause is over to `due`; returns when the next one's is.
    Clock::time_point takeDueLocked(std::vector<std::shared_ptr<Pending>>& due);

    const RedisSettings _settings;
    Poco::Logger& _logger;
    const std::shared_ptr<MasterLocator> _locator;
    std::function<void()> _listener;
    std::atomic<std::uint64_t> _commands{0};
    std::atomic<std::uint64_t> _roundTrips{0};
    std::atomic<std::uint64_t> _askRedirects{0};
    std::atomic<std::uint64_t> _tryAgains{0};

    std::mutex _mutex;
    std::condition_variable _changed;    // connection up / connect attempt over / flush over / stop
    std::shared_ptr<RedisStream> _stream; // null: not connected
    std::uint64_t _generation = 0;       // bumped by every connect and every drop
    bool _connecting = false;
    bool _flushing = false;              // a caller is sending what is queued
    std::string _out;                    // commands not yet sent
    std::size_t _outCalls = 0;           // how many calls' commands _out holds
    std::deque<std::shared_ptr<Pending>> _pending; // calls sent or queued, awaiting replies, in order
    std::vector<std::pair<std::shared_ptr<Pending>, std::string>> _failed; // to finish outside the lock
    std::vector<std::shared_ptr<Pending>> _redirected; // not run (notRun): to send again once reconnected
    std::vector<std::shared_ptr<Pending>> _later;      // answered TRYAGAIN: to send again at their retryAt
    bool _down = false;
    std::string _lastError;
    std::string _lastPeer;               // the master the locator named last (logged when it changes)
    bool _mustBeMaster = false;          // a READONLY came: connect only to a master (HELLO) until one is found
    bool _draining = false;              // a MOVED or READONLY came: nothing more is sent on _stream; the reader drains it
    std::string _announcedWhileConnecting; // masterMoved() during connectLocked(): the connection made must lead there
    Clock::time_point _connectedAt{};    // of _stream
    std::chrono::milliseconds _backoff{0};
    Clock::time_point _nextAttempt{};
    bool _stopping = false;
    int _callers = 0;                    // threads inside call / callAll / callAllAsync
    StopSignal _wake{"redis pipeline"};  // ends the reader's poll: a stop, masterMoved(), or a call in _later
    std::unique_ptr<AskTargets> _asks;   // null: not a cluster
    std::thread _reader;
};

} // namespace mt::redis
