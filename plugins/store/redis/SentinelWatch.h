#pragma once
// The client spec's last rule: hear of a failover the moment a sentinel
// announces it (+switch-master), rather than when the connection fails.
// It matters twice:
// - A master the sentinels cannot reach, or cannot demote, while the store
//   still can (a partition, a master refusing REPLICAOF), keeps taking the
//   store's writes after a replica was promoted; they are lost when it
//   rejoins as a replica. Nothing closes the store's connection to it, and no
//   READONLY comes: only the announcement tells.
// - A store waiting out its reconnection backoff (up to reconnectMaxMs) after
//   its master crashed connects again at once, not up to that much later.
//
// One thread subscribes on one sentinel (the first of SentinelList's order
// that answers), PINGs it when quiet (readSubscribed), and moves to the next
// when it is lost. When it subscribes again it also asks where the master is,
// so a failover announced while it listened nowhere is not missed.
//
// Thread-safety: watching() from any thread; `moved` runs on the watch's
// thread, with the master's address as the sentinels give it ("ip:port").

#include "RedisSentinel.h"
#include "StopSignal.h"

#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace Poco {
class Logger;
}

namespace mt::redis {

class SentinelWatch
{
public:
    using Moved = std::function<void(const Endpoint& master)>;

    /// `sentinels` must outlive the watch.
    SentinelWatch(RedisSettings settings, SentinelList& sentinels, Poco::Logger& logger, Moved moved);
    /// Stops and joins the thread: `moved` is not called once it returns.
    ~SentinelWatch();

    SentinelWatch(const SentinelWatch&) = delete;
    SentinelWatch& operator=(const SentinelWatch&) = delete;

    /// The sentinel listened to ("host:port"), "" while none.
    std::string watching() const;

private:
    void run();
    /// Subscribes on `sentinel` and listens until stopped (returns) or lost
    /// (throws). `catchUp`: another was listened to before; the master it
    /// names now is reported as if announced.
    void serve(const Endpoint& sentinel, bool catchUp);

    const RedisSettings _settings;
    SentinelList& _sentinels;
    Poco::Logger& _logger;
    const Moved _moved;

    StopSignal _stop{"redis sentinel watch"};
    mutable std::mutex _mutex; // _watching
    std::string _watching;
    std::thread _thread;
};

} // namespace mt::redis
