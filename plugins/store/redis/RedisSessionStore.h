#pragma once
// Sessions in Redis: every node pointing at the same server (and namespace)
// sees the same sessions, so a session made through node A is served by B.
//
// Layout, per context (PluginContext::scope()):
//   <keyPrefix>:<namespace>:<context>:s:<id>   HASH, one per session: metadata
//       fields (schema, created, accessed, maxInactive, version, vv:<node>)
//       and one "a:<name>" field per attribute (SessionSerializer's field form)
//   <keyPrefix>:<namespace>:<context>:expiry   ZSET id -> expiry time (ms; +inf: never)
//   <keyPrefix>:<namespace>:<context>:claims   ZSET id -> when a sweep claimed it (ms)
//   <keyPrefix>:<namespace>:<context>:reclaims HASH id -> times claimed again
//   <keyPrefix>:<namespace>:<context>:c:<id>   HASH, a claimed session's data until
//       its destroyed listeners ran (kExpire, kReleaseClaims)
//   <keyPrefix>:<namespace>:<context>:m:<id>   STRING, the id a failover moved the
//       session to, for saves and invalidations still in flight under this one
//       (kRename; kSave and kRemove follow it)
// e.g. mt:default:/cart:s:Xy...Q.node1. The namespace keeps clusters sharing
// one Redis apart; the context keeps contexts apart. In a Redis Cluster the
// common part is a hash tag, {mt:default:/cart}:s:..., so that a context's
// keys share one slot (RedisCluster.h).
//
// Consistency: every call is one Lua script, one command or one MULTI/EXEC
// block, atomic in Redis, so calls on one id are linearizable across all
// nodes (in a Redis Cluster migrating the store's slot, some take several
// steps instead: MigrationDetours.h says what each keeps atomic). save() writes only the delta's attributes and bumps `version` and
// the writer's vv counter in the same step: concurrent requests changing different attributes both
// survive; one whose base version is no longer current is counted as a stale
// (concurrent) write — last writer wins per attribute, as in Spring Session.
// remove() and expire() read and delete inside one script, so exactly one
// caller cluster-wide gets a record, and destroyed listeners fire once.
// expire() keeps what it claimed until acknowledgeExpired(): a claim whose
// reply was lost (a Redis stall past timeoutMs drops the connection) or
// whose node died before its listeners ran is claimed again after
// kReclaimAfterMs, by whichever node sweeps next.
//
// Round trips: load 1 (HGETALL), save 1 (EVALSHA), so a read-modify-write
// request costs 2 — or 1 for an owned session in the near cache (loadOwned
// answers from it, save is one MULTI/EXEC; NearCache.h says why it stays
// valid). All calls share one pipelined connection (RedisPipeline.h), plus
// one for invalidations (RedisInvalidations.h); saveAsync() lets a response
// wait for its write instead of a worker. refresh() (a read-only request) writes only when
// touchFraction of the max inactive interval has passed since the stored
// access time: a session kept alive by reads alone may expire up to that
// fraction early. Redis TTL = time left + expiryGrace, so the sweeper claims
// records (with their data, for the listeners) before Redis drops them.
//
// Records that do not parse (corrupt, newer schema) are logged once per key
// with the key and the reason and treated as absent; never a crash.
//
// Thread-safety: every method may be called from any thread. Errors: Redis
// unreachable or slower than timeoutMs -> mt::StoreUnavailable (503).

#include "CachedWrite.h"
#include "MigrationDetours.h"
#include "NearCache.h"
#include "RedisInvalidations.h"
#include "RedisPipeline.h"
#include "RedisScript.h"
#include "RedisSettings.h"
#include "SentinelWatch.h"

#include "mt/MBeanRegistry.h"
#include "mt/ObjectName.h"
#include "mt/SessionStoreAdapter.h"

#include <atomic>
#include <mutex>
#include <set>
#include <string>

namespace mt::redis {

class RedisSessionStore : public SessionStoreAdapter
{
public:
    /// Most sessions one expire() call claims: bounds the time Redis spends in one script.
    static constexpr std::size_t kMaxExpireBatch = 1000;
    /// How long a claim waits for its acknowledgement before another sweep takes it.
    static constexpr TimeMs kReclaimAfterMs = 30000;
    /// How long a claimed session's data is kept at most (nobody left to sweep).
    static constexpr TimeMs kClaimTtlMs = 3600000;
    /// Claims taken again at most this often before their data is given up.
    static constexpr int kMaxReclaims = 3;
    /// Claims with more fields than this are not re-read (their data is given up).
    static constexpr int kMaxReclaimFields = 10000;

    /// Throws mt::PluginConfigError for a bad setting. Does not connect: a
    /// Redis that is down at start makes the store DOWN, not the server fail.
    /// Registers its MBean (mt:type=SessionStore,store=redis,context=<scope>)
    /// when the context offers a registry.
    explicit RedisSessionStore(const PluginContext& context);
    RedisSessionStore(RedisSettings settings, const std::string& scope, Poco::Logger& logger);
    ~RedisSessionStore() override;

    /// Always from Redis (the record is not kept: another node may write it).
    DataPtr load(const std::string& id) override;
    /// From the near cache when it holds the record; else from Redis, kept.
    DataPtr loadOwned(const std::string& id) override;
    bool create(const SessionData& data) override;
    DataPtr save(const SessionDelta& delta) override;
    /// Only with the base record in the near cache (one MULTI/EXEC) and, in a
    /// cluster, no new interval (two calls in order: CachedWrite::indexFirst); else false.
    bool saveAsync(const SessionDelta& delta, SaveDone done) override;
    bool touch(const std::string& id, TimeMs lastAccessedTime) override;
    bool refresh(const SessionData& loaded, TimeMs now) override;
    DataPtr remove(const std::string& id) override;
    DataPtr invalidate(const std::string& id) override;
    bool rename(const std::string& oldId, const std::string& newId) override;
    std::vector<std::string> list() override;
    std::size_t count() override;
    std::vector<SessionData> expire(TimeMs now, std::size_t limit) override;
    void acknowledgeExpired(const std::vector<std::string>& ids) override;
    std::string healthProblem() override;

    /// Redis commands sent by this store (for benchmarks and monitoring).
    std::uint64_t commands() const { return _redis.commands(); }
    std::uint64_t roundTrips() const { return _redis.roundTrips(); }
    /// Calls an ASK sent on, and calls sent again after a TRYAGAIN (a slot migration: RedisPipeline.h).
    std::uint64_t askRedirects() const { return _redis.askRedirects(); }
    std::uint64_t tryAgains() const { return _redis.tryAgains(); }
    NearCache::Stats nearCacheStats() const { return _cache.stats(); }
    /// True once tracking is on and the cache serves reads (tests wait for it).
    bool nearCacheReady() { return cacheUsable(); }
    /// Saves whose base version was no longer current (a concurrent write happened).
    std::uint64_t staleWrites() const { return _staleWrites.load(std::memory_order_relaxed); }
    std::string hashKey(const std::string& id) const { return _base + ":s:" + id; }
    /// Where a save under `id` finds the session a failover moved (kRename).
    std::string forwardKey(const std::string& id) const { return _base + ":m:" + id; }
    const std::string& indexKey() const { return _index; }
    const std::string& claimsKey() const { return _claims; }
    /// Whom the next connection asks for the master (MasterLocator::text()); "" when host and port name Redis.
    std::string discovery() const;
    /// The instance the store's connection is on (RedisPipeline::peer()), "" while not connected.
    std::string connectedTo() { return _redis.peer(); }
    /// The sentinels the store hears failovers from (SentinelWatch), "" while none or without sentinels.
    std::string failoverWatch() const;

private:
    /// The record from HGETALL fields, or null (absent, or unreadable: reported once).
    DataPtr decode(const std::string& id, const Reply& fields);
    void reportUnreadable(const std::string& key, const std::string& reason);
    /// The near cache may be used: tracking is on for the current pipeline
    /// connection and subscriber (enabled here, once per epoch, if not).
    bool cacheUsable();
    /// NearCache::complete() for a call begun when askRedirects() was `asks`:
    /// tracked unless an ASK (a slot migration) may have sent it elsewhere.
    void settle(const NearCache::Ticket& ticket, DataPtr data, std::uint64_t asks, std::int64_t indexedAtMs = 0);
    /// A record this node holds, and when it last wrote that session's TTL
    /// and expiry index itself (0: not known, e.g. loaded or written by a script).
    struct CachedBase
    {
        DataPtr data;
        std::int64_t indexedAtMs = 0;
    };
    /// remove(), and invalidate() with `followMoves` (scripts::kRemove).
    DataPtr removeFollowing(const std::string& id, bool followMoves);
    /// save() by the script: the delta applied to whatever the record is
    /// now, or where a failover moved it. Completes `ticket`.
    DataPtr saveByScript(const SessionDelta& delta, const NearCache::Ticket& ticket);
    /// The script's ARGV for `delta`.
    static std::vector<std::string> saveArgs(const SessionDelta& delta, const std::string& grace);
    /// The script's reply as a record; null: the session is gone.
    DataPtr savedRecord(const SessionDelta& delta, const Reply& reply);
    /// saveAsync()'s way when its block found the session gone: it may have
    /// moved (a failover), and the script takes the delta there.
    void followAsync(const SessionDelta& delta, SaveDone done);
    /// save() when this node holds the record the delta was made on;
    /// `followMoves`: a session found gone may have moved (saveByScript).
    DataPtr saveOnCachedBase(const SessionDelta& delta, const CachedBase& base, const NearCache::Ticket& ticket,
                             bool followMoves = true);
    /// save() whose script was refused while the cluster migrates the
    /// store's slot (TRYAGAIN: the session's key and the index are apart).
    DataPtr saveAroundMigration(const SessionDelta& delta);
    /// The cached base for `delta`, if it may take the MULTI/EXEC way, with its ticket.
    CachedBase cachedBase(const SessionDelta& delta, NearCache::Ticket& ticket);

    /// The MULTI/EXEC block for `delta` on `base` (CachedWrite.h).
    CachedWrite prepareCachedSave(const SessionDelta& delta, const CachedBase& base) const;
    /// CachedWrite::outcome(), counting and logging a stale write.
    CachedWrite::Outcome cachedSaveOutcome(const CachedWrite& write, const std::vector<Reply>& replies);
    void invalidated(const std::vector<std::string>& keys);
    std::shared_ptr<MBean> makeMBean();

    const RedisSettings _settings;
    Poco::Logger& _logger;
    const std::string _base;   // <prefix>:<namespace>:<context>
    const std::string _index;  // <base>:expiry
    const std::string _claims; // <base>:claims
    const std::string _reclaims; // <base>:reclaims
    const std::string _claimPrefix; // <base>:c:
    const std::string _grace;  // expiryGrace in ms, as text for the scripts
    const std::string _sessionPrefix; // <base>:s:, the tracked prefix
    const RedisScript _create, _save, _touch, _touchKey, _remove, _rename, _expire, _releaseClaims;
    std::atomic<std::uint64_t> _staleWrites{0};

    // Destroyed in reverse: the subscriber and the pipeline call into the cache.
    NearCache _cache;
    const std::shared_ptr<MasterLocator> _locator; // null when host and port name Redis; shared by the two connections
    RedisPipeline _redis;
    MigrationDetours _detours; // for calls a cluster's slot migration refuses (TRYAGAIN)
    std::unique_ptr<RedisInvalidations> _invalidations; // null when the near cache is off
    std::unique_ptr<SentinelWatch> _watch;              // with sentinels: moves _redis when they announce a failover
    std::mutex _trackingMutex;                          // one thread enables tracking
    std::atomic<bool> _trackingRefused{false};          // Redis said no: cache off for good

    MBeanRegistry* _mbeans = nullptr; // where this store's MBean is registered, if anywhere
    std::shared_ptr<const MBean> _mbean;  // ours (held, so that a store made later can give it back)
    std::weak_ptr<const MBean> _replaced; // the one ours replaced, while its store lives
    ObjectName _mbeanName;

    std::mutex _reportedMutex;
    std::set<std::string> _reported; // keys already logged as unreadable (bounded)
};

} // namespace mt::redis
