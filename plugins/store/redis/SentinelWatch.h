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
// It listens to every sentinel (SentinelList's, learnt ones included, at
// most kMaxListened), one thread each, as Jedis does: a sentinel cut off from
// the others with the old master — the case above — announces nothing, and
// one listened to alone would hide the failover the others made. Each thread
// PINGs its sentinel when quiet (readSubscribed), and subscribes again with
// backoff when it is lost. Whenever it subscribes it also asks where the
// master is, so a failover announced while it did not listen is not missed.
// A master named by several sentinels, or named again, moves nothing more
// (RedisPipeline::masterMoved).
//
// Thread-safety: watching() from any thread; `moved` runs on the watch's
// threads, with the master's address as the sentinels give it ("ip:port"),
// possibly on several at once.

#include "RedisSentinel.h"
#include "StopSignal.h"

#include <functional>
#include <map>
#include <mutex>
#include <set>
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
    /// Sentinels listened to at once; SentinelList's others are asked but not listened to.
    static constexpr std::size_t kMaxListened = 16;

    /// `sentinels` must outlive the watch.
    SentinelWatch(RedisSettings settings, SentinelList& sentinels, Poco::Logger& logger, Moved moved);
    /// Stops and joins the threads: `moved` is not called once it returns.
    ~SentinelWatch();

    SentinelWatch(const SentinelWatch&) = delete;
    SentinelWatch& operator=(const SentinelWatch&) = delete;

    /// The sentinels listened to ("host:port, host:port"), "" while none.
    std::string watching() const;

private:
    /// Starts a listener for every sentinel SentinelList has, until stopped.
    void run();
    /// One sentinel's listener: serve() again with backoff until stopped, or
    /// until the sentinel, lost, is no longer in SentinelList.
    void listen(const Endpoint& sentinel);
    /// Subscribes on `sentinel`, reports the master it names now as if
    /// announced, and listens until stopped (returns) or lost (throws).
    void serve(const Endpoint& sentinel);
    /// Marks `sentinel` listened to or not; whether that changed anything.
    bool listening(const std::string& sentinel, bool on);

    const RedisSettings _settings;
    SentinelList& _sentinels;
    Poco::Logger& _logger;
    const Moved _moved;

    StopSignal _stop{"redis sentinel watch"};
    mutable std::mutex _mutex; // _watching, _listeners
    std::set<std::string> _watching;
    struct Listener
    {
        std::thread thread;
        bool done = false; // listen() returned: run() joins it
    };
    std::map<std::string, Listener> _listeners; // by sentinel
    std::thread _thread;
};

} // namespace mt::redis
