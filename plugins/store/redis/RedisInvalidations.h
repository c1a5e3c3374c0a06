#pragma once
// The receiving end of Redis client tracking: a connection of its own,
// subscribed to __redis__:invalidate (RESP2 has no push messages on a
// connection that runs commands), whose client id the store's pipelined
// connection names in CLIENT TRACKING ... REDIRECT.
//
// A thread connects, asks CLIENT ID, subscribes, and then reports every
// invalidated key and every flush. It PINGs when the line has been quiet for
// a second and counts a missing answer (timeoutMs) as a lost connection: a
// subscriber that silently stopped hearing Redis would leave stale records
// in the cache. Lost or (re)subscribed, it tells the listener, which resets
// the cache; it reconnects with the same backoff as the pipeline.
//
// Thread-safety: clientId(), peer() and resubscribe() from any thread; the
// listener runs on the subscriber's thread.

#include "RedisSettings.h"
#include "StopSignal.h"

#include <atomic>
#include <cstdint>
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

class RedisInvalidations
{
public:
    struct Listener
    {
        std::function<void(const std::vector<std::string>& keys)> keys; ///< these keys changed
        std::function<void()> flushed;                                  ///< every key may have changed
        std::function<void()> lost;                                     ///< subscribed under a new id, or disconnected
    };

    /// `locator`: the one the store shares with its connection (null: one of
    /// its own when the settings name sentinels; a cluster needs the store's,
    /// which knows the slot: MasterLocator.h).
    RedisInvalidations(RedisSettings settings, Poco::Logger& logger, Listener listener,
                       std::shared_ptr<MasterLocator> locator = {});
    ~RedisInvalidations();

    RedisInvalidations(const RedisInvalidations&) = delete;
    RedisInvalidations& operator=(const RedisInvalidations&) = delete;

    /// The subscriber's Redis client id, 0 while it is not subscribed.
    std::int64_t clientId() const { return _clientId.load(std::memory_order_acquire); }
    /// The instance it is subscribed on (RedisStream::peer()), "" while it is not.
    std::string peer() const;
    /// When the current subscription's connection began, before its address
    /// was resolved (the epoch while there is none).
    std::chrono::steady_clock::time_point subscribedAt() const;
    /// Drops the subscription and subscribes again (with a locator: on the
    /// master it names now), as after a lost connection.
    void resubscribe();

private:
    void run();
    /// One connection's life, begun at `started`; returns (throws) when it
    /// ends: true when resubscribe() ended it.
    bool serve(RedisStream& stream, std::chrono::steady_clock::time_point started);

    const RedisSettings _settings;
    Poco::Logger& _logger;
    const Listener _listener;
    const std::shared_ptr<MasterLocator> _locator;
    std::atomic<std::int64_t> _clientId{0};

    mutable std::mutex _mutex; // _peer, _subscribedAt
    std::string _peer;
    std::chrono::steady_clock::time_point _subscribedAt{};
    std::atomic<bool> _resubscribe{false};
    StopSignal _stop{"redis invalidations"};
    std::thread _thread;
};

} // namespace mt::redis
