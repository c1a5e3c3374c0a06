#pragma once
// Records of the sessions this node owns (routed here: loadOwned, create),
// kept so that a request whose session nobody else changed needs no read
// from Redis: a read-modify-write request costs 1 round trip instead of 2.
//
// Kept valid by Redis' client-side caching: the store's pipelined connection
// runs CLIENT TRACKING ON REDIRECT <subscriber> BCAST PREFIX <its keys> NOLOOP,
// so Redis tells the subscriber of every change to a session key made by
// anyone but this connection (other nodes, an operator, TTL expiry, FLUSHDB),
// and the store applies its own writes itself. Its scripts' writes come back
// too (Redis 7.0 runs a script as another client, so NOLOOP does not apply):
// they only cost a later read; the hot write path is MULTI/EXEC for that.
//
// Races, and why they are safe:
//  - A read or write in flight when an invalidation for its key arrives must
//    not install what it brings back (it may predate the change): begin()
//    gives the call a ticket, invalidate() voids it, complete() installs only
//    with a ticket still valid.
//  - While a Redis Cluster migrates the store's slot, a call may be served
//    by the importing node (an ASK), whose changes this connection's
//    tracking does not see: what it brings back is installed untracked, a
//    base for this node's next write (whose version check catches any
//    other writer) but never a read's answer. The keys handed over are
//    reported changed by the slot's master (MIGRATE deletes them there).
//  - Anything that breaks tracking (either connection lost or replaced, the
//    subscriber's client id changed) calls reset(): every entry and every
//    ticket of the old epoch is void, and the cache stays off until the store
//    has re-enabled tracking and activate()d the new epoch.
//  - An invalidation travels on another connection than the write's reply:
//    a request reaching this node within that delivery time (well under a
//    millisecond on a LAN) after another node wrote the session may read the
//    previous version. Hence only owned sessions: with session.rewriteRoute
//    (on by default) another node serving one first gives it its own route,
//    i.e. another key, so nobody else writes the key cached here — but for
//    a save, invalidation or new id in flight under the id it had before,
//    which follows it there (RedisScripts.h, MT_REDIS_FOLLOW) and opens the
//    same window once. With it off, a failover write in place leaves that window
//    open; store.redis.nearCache=0 turns the cache off.
//
// Bounded: at most `capacity` entries; beyond it an arbitrary one is dropped.
// Thread-safety: every method may be called from any thread.

#include "mt/SessionStoreAdapter.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mt::redis {

class NearCache
{
public:
    using DataPtr = SessionStoreAdapter::DataPtr;

    struct Ticket
    {
        std::string id;
        std::uint64_t token = 0; ///< 0: the cache was off, nothing will be installed
        std::uint64_t epoch = 0;
    };

    struct Stats
    {
        std::uint64_t hits = 0, misses = 0, invalidations = 0, resets = 0;
        std::uint64_t waits = 0; ///< get()s that waited for a write of this node in flight
        std::size_t entries = 0;
        bool active = false;
    };

    explicit NearCache(std::size_t capacity) : _capacity(capacity) {}

    /// The cached record, or null (absent, or the cache is off); counted as a
    /// hit or miss. While a write of this node to the cached record is in
    /// flight, waits for its outcome first (until `deadline`, then the record
    /// before it): a request racing another of the same session on this node
    /// reads what that write stored, instead of writing on top of the
    /// previous version (a stale write that would undo the other's change).
    DataPtr get(const std::string& id, std::chrono::steady_clock::time_point deadline);
    /// A write looking for its base: the cached record (not counted as a hit
    /// or miss) and, if there is one, begin() for it in the same step.
    /// `indexedAtMs` is when this node last wrote the session's TTL and
    /// expiry index with the write margin (0: not known).
    DataPtr beginWrite(const std::string& id, Ticket& ticket, std::int64_t& indexedAtMs);
    /// Before a call that reads or writes `id`: its right to install the result.
    Ticket begin(const std::string& id);
    /// The call's result: the record now in Redis, or null if the session is
    /// gone. Installed only if nothing voided the ticket meanwhile.
    /// `indexedAtMs`: see beginWrite(); a call that did not write the index passes 0.
    /// `tracked`: false when the call may have been served by a node whose
    /// changes tracking does not report (see above).
    void complete(const Ticket& ticket, DataPtr data, std::int64_t indexedAtMs = 0, bool tracked = true);
    /// The call failed or its outcome is unknown: forget the entry.
    void abandon(const Ticket& ticket);

    /// Redis says `id` changed (or this node changed it without the record at hand).
    void invalidate(const std::string& id);
    /// Every entry is void (FLUSHDB / FLUSHALL); tracking itself still holds.
    void clear();
    /// Tracking is broken: clear, and off until activate().
    void reset();
    std::uint64_t epoch() const;
    /// Tracking was enabled while the epoch was `epoch`: on, unless a reset came since.
    bool activate(std::uint64_t epoch);
    bool active() const { return _active.load(std::memory_order_acquire); }
    Stats stats() const;

private:
    struct Entry
    {
        DataPtr data;
        std::uint64_t token = 0; ///< the newest call in flight on this id, 0: none
        std::int64_t indexedAtMs = 0;
        bool tracked = true; ///< false: a write base only (see complete())
    };

    void clearLocked();
    /// Wakes get()s waiting on `id`, if any: completions are constant under
    /// load, and waking every waiter on each would make each of them sleep
    /// and wake again per unrelated write.
    void settledLocked(const std::string& id);

    const std::size_t _capacity;
    mutable std::mutex _mutex;
    std::condition_variable _settled; // a call on a waited-for id finished, or the cache was cleared
    std::unordered_map<std::string, Entry> _entries;
    std::unordered_map<std::string, int> _waiting; // id -> get()s waiting for its write in flight
    std::uint64_t _epoch = 1;
    std::uint64_t _tokens = 0;
    std::atomic<bool> _active{false};
    std::uint64_t _hits = 0, _misses = 0, _invalidations = 0, _resets = 0, _waits = 0;
};

} // namespace mt::redis
