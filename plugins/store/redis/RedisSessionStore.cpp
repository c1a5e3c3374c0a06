#include "RedisSessionStore.h"

#include "MasterLocator.h"
#include "RedisScripts.h"
#include "RedisSocket.h"

#include "mt/SessionSerializer.h"

#include <Poco/Logger.h>
#include <Poco/Redis/Array.h>
#include <Poco/Redis/Type.h>

#include <algorithm>
#include <map>

namespace mt::redis {

namespace {

using Poco::Redis::Array;
using Poco::Redis::BulkString;
using Poco::Redis::Type;

constexpr std::size_t kMaxReported = 10000;
// How long a failover's forwarding entry may outlive the move (kRename): a
// save in flight arrives within a request's time, far less than this.
const char* const kForwardLifeMs = "3600000";

/// The same session id under another route ("<random>.<route>", see the
/// kernel's SessionIdGenerator): a failover's move, as opposed to a new id.
bool isRouteMove(const std::string& oldId, const std::string& newId)
{
    const auto dot = oldId.find('.'); // the random part has none; a route may
    return dot != std::string::npos && dot > 0 && newId.size() > dot + 1 && newId.compare(0, dot + 1, oldId, 0, dot + 1) == 0;
}

/// A cluster's answer to a script whose keys a slot migration moved or split.
bool isMigrationAnswer(const std::string& error)
{
    return error.rfind("TRYAGAIN", 0) == 0 || error.rfind("ASK ", 0) == 0 ||
           error.find("non local key") != std::string::npos;
}

bool isTryAgain(const Reply& reply)
{
    return reply->isError() && errorMessage(reply).rfind("TRYAGAIN", 0) == 0;
}

/// What every key of the store starts with. In a cluster it is a hash tag:
/// all of them in one slot, so that a script or MULTI block may change a
/// session and the expiry index together (keyPrefix and namespace have no braces).
std::string keyBase(const RedisSettings& settings, const std::string& scope)
{
    const std::string base = settings.keyPrefix + ":" + settings.ns + ":" + scope;
    return settings.cluster.empty() ? base : "{" + base + "}";
}

std::int64_t asInt(const Reply& reply)
{
    if (auto number = integerValue(reply)) return *number;
    throw StoreUnavailable("redis: unexpected reply " + printableReply(reply));
}

std::string ms(TimeMs value)
{
    return std::to_string(value);
}

/// Whether applying `delta` to `base` changes an attribute or a setting.
bool changes(const SessionDelta& delta, const SessionData& base)
{
    if (delta.maxInactiveInterval && *delta.maxInactiveInterval != base.maxInactiveInterval) return true;
    for (const auto& [name, json] : delta.setAttributes)
    {
        auto it = base.attributes.find(name);
        if (it == base.attributes.end() || it->second != json) return true;
    }
    for (const auto& name : delta.removedAttributes)
        if (base.attributes.count(name)) return true;
    return false;
}

} // namespace

RedisSessionStore::RedisSessionStore(const PluginContext& context)
    : RedisSessionStore(RedisSettings::from(context.config()), context.scope().empty() ? "/" : context.scope(),
                        context.logger())
{
    if (!context.mbeans()) return;
    const std::string scope = context.scope().empty() ? "/" : context.scope();
    // Quoted only when JMX needs it, as the kernel's own names (/counter is fine as is).
    const bool plain = scope.find_first_of(",=:\"*?\n") == std::string::npos;
    _mbeanName = ObjectName("mt", {{"type", "SessionStore"}, {"store", "redis"}, {"context", plain ? scope : ObjectName::quote(scope)}});
    _mbean = makeMBean();
    _replaced = context.mbeans()->replaceMBean(_mbeanName, _mbean);
    _mbeans = context.mbeans();
}

std::shared_ptr<MBean> RedisSessionStore::makeMBean()
{
    auto bean = std::make_shared<MBean>("The redis session store of one context: load on Redis and the near cache",
                                        "mt.redis.RedisSessionStore");
    auto count = [](std::uint64_t n) { return Poco::Dynamic::Var(Poco::Int64(n)); };
    bean->attribute("address", "java.lang.String", "Redis server", [this] { return Poco::Dynamic::Var(_redis.address()); })
        .attribute("connectedTo", "java.lang.String",
                   "the instance the store's connection is on (with sentinels or in a cluster: the master found); empty while not connected",
                   [this] { return Poco::Dynamic::Var(connectedTo()); })
        .attribute("discovery", "java.lang.String",
                   "whom the next connection asks for the master, in order (the one that answered last first, then "
                   "the others, configured and learnt): sentinels, or in a cluster the store's slot and the nodes; "
                   "empty when host and port name Redis",
                   [this] { return Poco::Dynamic::Var(discovery()); })
        .attribute("failoverWatch", "java.lang.String",
                   "the sentinels whose failover announcements (+switch-master) move the store's connection at once "
                   "(\"host:port, host:port\"); empty while none answers, or without sentinels",
                   [this] { return Poco::Dynamic::Var(failoverWatch()); })
        .attribute("commands", "long", "Redis commands sent", [this, count] { return count(_redis.commands()); })
        .attribute("roundTrips", "long", "calls to Redis (a MULTI/EXEC block or a pipelined group is one)",
                   [this, count] { return count(_redis.roundTrips()); })
        .attribute("askRedirects", "long",
                   "calls sent on to the node the store's slot is being migrated to (ASK), as the cluster asks",
                   [this, count] { return count(_redis.askRedirects()); })
        .attribute("tryAgains", "long",
                   "calls sent again after a pause because a slot migration had split their keys (TRYAGAIN)",
                   [this, count] { return count(_redis.tryAgains()); })
        .attribute("staleWrites", "long", "saves whose base version was no longer current (merged)",
                   [this, count] { return count(staleWrites()); })
        .attribute("nearCacheActive", "boolean", "client tracking is on and the near cache serves reads",
                   [this] { return Poco::Dynamic::Var(_cache.stats().active); })
        .attribute("nearCacheEntries", "long", "sessions held", [this, count] { return count(_cache.stats().entries); })
        .attribute("nearCacheHits", "long", "owned-session reads answered without Redis",
                   [this, count] { return count(_cache.stats().hits); })
        .attribute("nearCacheMisses", "long", "owned-session reads that went to Redis",
                   [this, count] { return count(_cache.stats().misses); })
        .attribute("nearCacheWaits", "long", "owned-session reads that waited for this node's write in flight on the same session",
                   [this, count] { return count(_cache.stats().waits); })
        .attribute("nearCacheInvalidations", "long", "entries dropped because Redis reported a change",
                   [this, count] { return count(_cache.stats().invalidations); })
        .attribute("nearCacheResets", "long", "times tracking broke and the whole cache was dropped",
                   [this, count] { return count(_cache.stats().resets); });
    return bean;
}

RedisSessionStore::RedisSessionStore(RedisSettings settings, const std::string& scope, Poco::Logger& logger)
    : _settings(std::move(settings)),
      _logger(logger),
      _base(keyBase(_settings, scope)),
      _index(_base + ":expiry"),
      _claims(_base + ":claims"),
      _reclaims(_base + ":reclaims"),
      _claimPrefix(_base + ":c:"),
      _grace(std::to_string(std::int64_t(_settings.expiryGraceSeconds) * 1000)),
      _sessionPrefix(_base + ":s:"),
      _create(scripts::kCreate),
      _save(scripts::kSave),
      _touch(scripts::kTouch),
      _touchKey(scripts::kTouchKey),
      _remove(scripts::kRemove),
      _rename(scripts::kRename),
      _expire(scripts::kExpire),
      _releaseClaims(scripts::kReleaseClaims),
      _cache(std::size_t(_settings.nearCache)),
      _locator(makeLocator(_settings, _base, logger)),
      _redis(_settings, logger, _locator),
      _detours(_redis, _sessionPrefix, _index, logger)
{
    // Tracking lives and dies with the connection.
    _redis.setConnectionListener([this] { _cache.reset(); });
    if (_settings.nearCache > 0)
        _invalidations = std::make_unique<RedisInvalidations>(
            _settings, logger,
            RedisInvalidations::Listener{[this](const std::vector<std::string>& keys) { invalidated(keys); },
                                         [this] { _cache.clear(); }, [this] { _cache.reset(); }},
            _locator);
    // The subscriber follows _redis to the master it finds (cacheUsable).
    if (auto sentinels = std::dynamic_pointer_cast<SentinelList>(_locator))
        _watch = std::make_unique<SentinelWatch>(_settings, *sentinels, logger,
                                                 [this](const Endpoint& master) { _redis.masterMoved(master.text()); });
    _logger.information("redis session store for %s at %s, keys %s<id>, timeout %d ms, near cache %d sessions", scope,
                        _redis.address(), _sessionPrefix, _settings.timeoutMs, _settings.nearCache);
}

std::string RedisSessionStore::discovery() const
{
    return _locator ? _locator->text() : std::string();
}

std::string RedisSessionStore::failoverWatch() const
{
    return _watch ? _watch->watching() : std::string();
}

RedisSessionStore::~RedisSessionStore()
{
    // The getters live in this library and read this object.
    if (!_mbeans || !_mbeans->unregisterMBean(_mbeanName, _mbean.get())) return;
    // A store made for a reload that was then refused: the store it replaced
    // (alive while it holds its MBean) serves on, and gets its MBean back.
    if (auto replaced = _replaced.lock()) _mbeans->replaceMBean(_mbeanName, std::move(replaced));
}

void RedisSessionStore::invalidated(const std::vector<std::string>& keys)
{
    for (const auto& key : keys)
        if (key.compare(0, _sessionPrefix.size(), _sessionPrefix) == 0) _cache.invalidate(key.substr(_sessionPrefix.size()));
}

bool RedisSessionStore::cacheUsable()
{
    if (!_invalidations || _trackingRefused.load(std::memory_order_relaxed)) return false;
    if (_cache.active()) return true;
    const std::int64_t subscriber = _invalidations->clientId();
    if (subscriber == 0) return false;
    std::unique_lock<std::mutex> lock(_trackingMutex, std::try_to_lock);
    if (!lock) return false; // another request is enabling it; this one reads Redis
    if (_cache.active()) return true;
    const std::uint64_t epoch = _cache.epoch();
    try
    {
        // OFF first: ON again with the same prefix is refused as an overlap.
        _redis.call({"CLIENT", "TRACKING", "OFF"});
        // REDIRECT names a client of the same instance, and a name may lead
        // elsewhere than it did (a failover behind a DNS name, a virtual IP,
        // sentinels or in a cluster): the subscriber follows the store's
        // connection, where the data goes. It must have connected since that
        // one did, to the same peer.
        const std::string here = _redis.peer(), there = _invalidations->peer();
        if (here.empty()) return false; // dropped meanwhile: the next request tries again
        if (here != there || _invalidations->subscribedAt() < _redis.connectedAt())
        {
            if (here != there)
                _logger.information("redis %s: the invalidation subscriber is on %s, the store's connection on %s: "
                                    "subscribing again",
                                    _redis.address(), there, here);
            _invalidations->resubscribe();
            return false;
        }
        Reply on = _redis.call({"CLIENT", "TRACKING", "ON", "REDIRECT", std::to_string(subscriber), "BCAST", "PREFIX",
                                _sessionPrefix, "NOLOOP"});
        // The subscriber went away meanwhile (it reports that, and comes back): not a refusal.
        if (on->isError() && errorMessage(on).find("does not exist") != std::string::npos) return false;
        if (on->isError())
        {
            _trackingRefused = true;
            _logger.error("redis %s refused client tracking (%s): the near cache is off, every request reads Redis",
                          _redis.address(), errorMessage(on));
            return false;
        }
    }
    catch (const StoreUnavailable&)
    {
        return false;
    }
    // A reset since `epoch` (connection or subscriber replaced) voids this.
    return _invalidations->clientId() == subscriber && _cache.activate(epoch);
}

void RedisSessionStore::reportUnreadable(const std::string& key, const std::string& reason)
{
    {
        std::lock_guard<std::mutex> lock(_reportedMutex);
        if (_reported.size() >= kMaxReported || !_reported.insert(key).second) return;
    }
    _logger.error("unreadable session record %s skipped (treated as absent): %s", key, reason);
}

SessionStoreAdapter::DataPtr RedisSessionStore::decode(const std::string& id, const Reply& reply)
{
    const Array* array = asArray(reply);
    if (!array || array->size() == 0) return nullptr;
    std::vector<std::string> flat = bulkTexts(*array);
    if (flat.size() % 2 != 0)
    {
        reportUnreadable(hashKey(id), "odd number of hash elements");
        return nullptr;
    }
    std::map<std::string, std::string> fields;
    for (std::size_t i = 0; i < flat.size(); i += 2) fields.emplace(std::move(flat[i]), std::move(flat[i + 1]));
    try
    {
        return std::make_shared<const SessionData>(SessionSerializer::fromFields(id, fields));
    }
    catch (const SessionFormatError& e)
    {
        reportUnreadable(hashKey(id), e.what());
        return nullptr;
    }
}

SessionStoreAdapter::DataPtr RedisSessionStore::load(const std::string& id)
{
    Reply reply = _redis.call({"HGETALL", hashKey(id)});
    if (reply->isError())
    {
        const std::string error = errorMessage(reply);
        if (error.rfind("WRONGTYPE", 0) != 0) throw StoreUnavailable("redis HGETALL: " + error);
        // Something else wrote another kind of value there: unreadable, as a
        // corrupt record is, rather than a 503 for as long as the key lives.
        reportUnreadable(hashKey(id), "not a hash (left in place): " + error);
        return nullptr;
    }
    return decode(id, reply);
}

SessionStoreAdapter::DataPtr RedisSessionStore::loadOwned(const std::string& id)
{
    NearCache::Ticket ticket;
    if (cacheUsable())
    {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(_settings.timeoutMs);
        if (auto cached = _cache.get(id, deadline)) return cached;
        ticket = _cache.begin(id);
    }
    const std::uint64_t asks = _redis.askRedirects();
    DataPtr data;
    try
    {
        data = load(id);
    }
    catch (...)
    {
        _cache.abandon(ticket);
        throw;
    }
    settle(ticket, data, asks);
    return data;
}

void RedisSessionStore::settle(const NearCache::Ticket& ticket, DataPtr data, std::uint64_t asks, std::int64_t indexedAtMs)
{
    _cache.complete(ticket, std::move(data), indexedAtMs, _redis.askRedirects() == asks);
}

bool RedisSessionStore::create(const SessionData& data)
{
    std::vector<std::string> args{data.id, ms(data.lastAccessedTime), _grace};
    for (auto& [name, value] : SessionSerializer::toFields(data))
    {
        args.push_back(std::move(name));
        args.push_back(std::move(value));
    }
    NearCache::Ticket ticket;
    if (cacheUsable()) ticket = _cache.begin(data.id);
    const std::uint64_t asks = _redis.askRedirects();
    std::int64_t created = 0;
    try
    {
        const Reply reply = _create.call(_redis, {hashKey(data.id), _index}, args, RedisPipeline::Migration::AskOnly);
        if (isTryAgain(reply))
            created = _detours.create(data.id, args, indexScore(data.lastAccessedTime, data.maxInactiveInterval)) ? 1 : 0;
        else if (reply->isError())
            throw StoreUnavailable("redis create script failed: " + errorMessage(reply));
        else
            created = asInt(reply);
    }
    catch (...)
    {
        _cache.abandon(ticket);
        throw;
    }
    if (created == 1)
        settle(ticket, std::make_shared<const SessionData>(data), asks);
    else
        _cache.abandon(ticket); // someone else's session under that id: not ours to cache
    return created == 1;
}

CachedWrite RedisSessionStore::prepareCachedSave(const SessionDelta& delta, const CachedBase& base) const
{
    // In a cluster the block keeps to the session's key (see CachedWrite.h).
    return CachedWrite::prepare(delta, *base.data, base.indexedAtMs,
                                {_sessionPrefix, _index, _settings.touchFraction, _settings.expiryGraceSeconds,
                                 !_settings.cluster.empty()});
}

CachedWrite::Outcome RedisSessionStore::cachedSaveOutcome(const CachedWrite& write, const std::vector<Reply>& replies)
{
    const CachedWrite::Outcome outcome = write.outcome(replies);
    if (outcome == CachedWrite::Outcome::Stale)
    {
        _staleWrites.fetch_add(1, std::memory_order_relaxed);
        _logger.debug("session %s: concurrent write merged (base version %s was not current)", write.id,
                      std::to_string(write.baseVersion));
    }
    return outcome;
}

SessionStoreAdapter::DataPtr RedisSessionStore::saveOnCachedBase(const SessionDelta& delta, const CachedBase& base,
                                                                 const NearCache::Ticket& ticket, bool followMoves)
{
    const CachedWrite write = prepareCachedSave(delta, base);
    const std::uint64_t asks = _redis.askRedirects();
    if (!write.indexFirst.empty())
    {
        const Reply moved = _redis.call(write.indexFirst);
        if (moved->isError())
            throw StoreUnavailable("redis ZADD of the session's expiry entry for its new interval: " + errorMessage(moved));
    }
    switch (cachedSaveOutcome(write, _redis.callAll(write.wire, write.names.size())))
    {
    case CachedWrite::Outcome::Gone:
        // Two calls: while a cluster migrates the slot, each key may be on
        // another node, and an ASK is followed for one command at a time.
        _redis.call({"DEL", hashKey(delta.id)});
        _redis.call({"ZREM", _index, delta.id});
        _cache.invalidate(delta.id);
        // Moved by a failover, or gone. Not from saveAroundMigration, which
        // the script's TRYAGAIN led to: that would go round again.
        return followMoves ? saveByScript(delta, NearCache::Ticket{}) : nullptr;
    case CachedWrite::Outcome::Stale:
    {
        DataPtr fresh = decode(delta.id, _redis.call({"HGETALL", hashKey(delta.id)}));
        settle(ticket, fresh, asks);
        return fresh;
    }
    case CachedWrite::Outcome::Saved:
        break;
    }
    settle(ticket, write.next, asks, write.indexedAtMs);
    return write.next;
}

SessionStoreAdapter::DataPtr RedisSessionStore::saveAroundMigration(const SessionDelta& delta)
{
    // The MULTI/EXEC block keeps to the session's key in a cluster
    // (prepareCachedSave): on the record as it is now, one round trip more
    // than the script. Its version check reports anyone who wrote since.
    CachedBase base;
    base.data = load(delta.id);
    if (!base.data) return nullptr;
    if (delta.baseVersion && base.data->version != *delta.baseVersion)
        _staleWrites.fetch_add(1, std::memory_order_relaxed);
    return saveOnCachedBase(delta, base, NearCache::Ticket{}, false);
}

RedisSessionStore::CachedBase RedisSessionStore::cachedBase(const SessionDelta& delta, NearCache::Ticket& ticket)
{
    if (!cacheUsable()) return {};
    // Only sessions this node keeps (owned ones: loadOwned, create) are
    // cached; a write to any other stays out of the cache.
    CachedBase cached;
    cached.data = _cache.beginWrite(delta.id, ticket, cached.indexedAtMs);
    if (!cached.data) return {};
    if (!delta.baseVersion || cached.data->version != *delta.baseVersion) return {};
    // The MULTI/EXEC block bumps the version unconditionally: a delta that
    // would change nothing in `base` goes the script's way, which compares.
    if (!changes(delta, *cached.data)) return {};
    return cached;
}

bool RedisSessionStore::saveAsync(const SessionDelta& delta, SaveDone done)
{
    if (!delta.changesData()) return false;
    NearCache::Ticket ticket;
    const CachedBase base = cachedBase(delta, ticket);
    if (!base.data)
    {
        _cache.abandon(ticket);
        return false;
    }
    auto write = std::make_shared<const CachedWrite>(prepareCachedSave(delta, base));
    auto followed = std::make_shared<const SessionDelta>(delta); // for a session a failover moved meanwhile
    if (!write->indexFirst.empty())
    {
        // Two calls in order (an ASK could reorder them in flight): save() does that.
        _cache.abandon(ticket);
        return false;
    }
    // The callback runs on the pipeline's reader: nothing in it waits for Redis.
    const std::uint64_t asks = _redis.askRedirects();
    _redis.callAllAsync(write->wire, write->names.size(), [this, write, followed, ticket, asks, done = std::move(done)](
                                                              std::vector<Reply> replies, const std::string& error) {
        try
        {
            if (!error.empty()) throw StoreUnavailable("redis " + _redis.address() + ": " + error);
            switch (cachedSaveOutcome(*write, replies))
            {
            case CachedWrite::Outcome::Gone:
                // Two calls, as in saveOnCachedBase().
                _redis.callAllAsync({{"DEL", hashKey(write->id)}}, [](std::vector<Reply>, const std::string&) {});
                _redis.callAllAsync({{"ZREM", _index, write->id}}, [](std::vector<Reply>, const std::string&) {});
                _cache.invalidate(write->id);
                return followAsync(*followed, done); // sent after the DEL: the block's partial hash is gone by then
            case CachedWrite::Outcome::Stale:
                _cache.abandon(ticket); // the next request reads the merged record
                break;
            case CachedWrite::Outcome::Saved:
                settle(ticket, write->next, asks, write->indexedAtMs);
                break;
            }
            done(nullptr);
        }
        catch (const StoreUnavailable&)
        {
            _cache.abandon(ticket);
            done(std::current_exception());
        }
    });
    return true;
}

SessionStoreAdapter::DataPtr RedisSessionStore::save(const SessionDelta& delta)
{
    NearCache::Ticket ticket;
    const CachedBase base = cachedBase(delta, ticket);
    if (base.data && delta.changesData())
    {
        try
        {
            return saveOnCachedBase(delta, base, ticket);
        }
        catch (...)
        {
            _cache.abandon(ticket);
            throw;
        }
    }
    return saveByScript(delta, ticket);
}

std::vector<std::string> RedisSessionStore::saveArgs(const SessionDelta& delta, const std::string& grace)
{
    // ARGV: id, now, grace, node, accessed, maxInactive, baseVersion, nSet, wantRecord, pairs..., removed...
    std::vector<std::string> args{delta.id,
                                  ms(delta.lastAccessedTime),
                                  grace,
                                  delta.node,
                                  ms(delta.lastAccessedTime),
                                  delta.maxInactiveInterval ? std::to_string(*delta.maxInactiveInterval) : "",
                                  delta.baseVersion ? std::to_string(*delta.baseVersion) : "-1",
                                  std::to_string(delta.setAttributes.size()),
                                  "1"}; // the whole record back: no cached base to apply the delta to
    args.reserve(args.size() + 2 * delta.setAttributes.size() + delta.removedAttributes.size());
    for (const auto& [name, json] : delta.setAttributes)
    {
        args.push_back(name);
        args.push_back(json);
    }
    for (const auto& name : delta.removedAttributes) args.push_back(name);
    return args;
}

SessionStoreAdapter::DataPtr RedisSessionStore::saveByScript(const SessionDelta& delta, const NearCache::Ticket& ticket)
{
    // A script's own writes come back as invalidations (see CachedWrite.h):
    // what it installs lasts until that message arrives.
    const std::vector<std::string> args = saveArgs(delta, _grace);
    const std::uint64_t asks = _redis.askRedirects();
    Reply reply;
    bool splitByMigration = false;
    try
    {
        // A change of data has another way round a slot migration that
        // split the session's key from the index; a mere access waits.
        reply = _save.call(_redis, {hashKey(delta.id), _index}, args,
                           delta.changesData() ? RedisPipeline::Migration::AskOnly : RedisPipeline::Migration::Follow);
        splitByMigration = isTryAgain(reply) && delta.changesData();
        if (reply->isError() && !splitByMigration)
            throw StoreUnavailable("redis save script failed: " + errorMessage(reply));
    }
    catch (...)
    {
        _cache.abandon(ticket);
        throw;
    }
    if (splitByMigration)
    {
        _cache.abandon(ticket);
        return saveAroundMigration(delta);
    }
    if (!asArray(reply))
    {
        _cache.complete(ticket, nullptr); // the session is gone
        return nullptr;
    }
    DataPtr saved;
    try
    {
        saved = savedRecord(delta, reply);
    }
    catch (...)
    {
        _cache.abandon(ticket);
        throw;
    }
    if (!saved)
        _cache.abandon(ticket); // unreadable record: reported by decode, not cached
    else if (saved->id != delta.id)
    {
        _cache.abandon(ticket); // another node's now: not ours to cache
        _cache.invalidate(delta.id);
    }
    else
        settle(ticket, saved, asks);
    return saved;
}

SessionStoreAdapter::DataPtr RedisSessionStore::savedRecord(const SessionDelta& delta, const Reply& reply)
{
    const Array* result = asArray(reply);
    if (!result) return nullptr; // the session is gone
    try
    {
        // {stale, version, vv, accessed, fields, [id it moved to]}: the record is always asked for.
        if (result->size() < 5) throw StoreUnavailable("redis save script: unexpected reply " + printableReply(reply));
        const std::string id = result->size() > 5 ? result->get<BulkString>(5).value() : delta.id;
        const bool stale = result->get<Poco::Int64>(0) == 1;
        if (stale && delta.baseVersion)
        {
            _staleWrites.fetch_add(1, std::memory_order_relaxed);
            _logger.debug("session %s: concurrent write merged (base version %s was not current)", id,
                          std::to_string(*delta.baseVersion));
        }
        if (id != delta.id)
            _logger.information("session %s: a save in flight followed the session to %s (a failover moved it)", delta.id, id);
        return decode(id, new Type<Array>(result->get<Array>(4)));
    }
    catch (const Poco::Exception& e) // BadCast / InvalidArgument: a reply of another shape
    {
        throw StoreUnavailable("redis save script: unexpected reply (" + e.displayText() + ")");
    }
}

void RedisSessionStore::followAsync(const SessionDelta& delta, SaveDone done)
{
    // EVAL, not EVALSHA: this path is rare, and the full script needs no
    // NOSCRIPT round after a Redis restart.
    std::vector<std::string> command{"EVAL", scripts::kSave, "2", hashKey(delta.id), _index};
    for (auto& arg : saveArgs(delta, _grace)) command.push_back(std::move(arg));
    // Migration::None: the script reads keys it does not declare, and its
    // declared key is gone, so a slot migration answers it TRYAGAIN or ASK
    // for as long as it lasts. That answer means "not followed", as save()'s
    // way round a migration does not follow either: the change goes nowhere,
    // as for a session gone, rather than a 503 after waiting.
    _redis.callAllAsync(
        {std::move(command)},
        [this, delta, done = std::move(done)](std::vector<Reply> replies, const std::string& error) {
            try
            {
                if (!error.empty()) throw StoreUnavailable("redis " + _redis.address() + ": " + error);
                if (replies.size() != 1) throw StoreUnavailable("redis save script: no reply");
                const Reply& reply = replies[0];
                if (reply->isError() && isMigrationAnswer(errorMessage(reply)))
                    _logger.information("session %s: gone while the cluster migrates its slot, its change not followed (%s)",
                                        delta.id, errorMessage(reply));
                else if (reply->isError())
                    throw StoreUnavailable("redis save script failed: " + errorMessage(reply));
                else
                    savedRecord(delta, reply);
                done(nullptr);
            }
            catch (const StoreUnavailable&)
            {
                done(std::current_exception());
            }
        },
        RedisPipeline::Migration::None);
}

bool RedisSessionStore::touch(const std::string& id, TimeMs lastAccessedTime)
{
    std::int64_t found = 0;
    try
    {
        const std::vector<std::string> args{id, ms(lastAccessedTime), _grace, ms(lastAccessedTime)};
        found = asInt(_settings.cluster.empty() ? _touch.run(_redis, {hashKey(id), _index}, args)
                                                : _touchKey.run(_redis, {hashKey(id)}, args));
    }
    catch (...)
    {
        _cache.invalidate(id);
        throw;
    }
    // The stored access time moved: the next read takes the record from Redis.
    _cache.invalidate(id);
    return found == 1;
}

bool RedisSessionStore::refresh(const SessionData& loaded, TimeMs now)
{
    // A read only moves the access time forward by a little: write it (and
    // the TTL) only once a fraction of the interval has passed.
    if (loaded.maxInactiveInterval > 0 && now >= loaded.lastAccessedTime &&
        double(now - loaded.lastAccessedTime) < _settings.touchFraction * loaded.maxInactiveInterval * 1000.0)
        return true;
    return touch(loaded.id, now);
}

SessionStoreAdapter::DataPtr RedisSessionStore::remove(const std::string& id)
{
    return removeFollowing(id, false);
}

SessionStoreAdapter::DataPtr RedisSessionStore::invalidate(const std::string& id)
{
    return removeFollowing(id, true);
}

SessionStoreAdapter::DataPtr RedisSessionStore::removeFollowing(const std::string& id, bool followMoves)
{
    Reply reply;
    std::string removedId = id;
    try
    {
        reply = _remove.call(_redis, {hashKey(id), _index}, {id, followMoves ? "1" : ""}, RedisPipeline::Migration::AskOnly);
        if (isTryAgain(reply))
            reply = _detours.remove(id);
        else if (reply->isError())
            throw StoreUnavailable("redis remove script failed: " + errorMessage(reply));
        else
        {
            // {id removed, fields}: the id is another when a failover had moved the session.
            const Array* parts = asArray(reply);
            if (!parts || parts->size() != 2)
                throw StoreUnavailable("redis remove script: unexpected reply " + printableReply(reply));
            removedId = parts->get<BulkString>(0).value();
            const Reply fields = *(parts->begin() + 1);
            reply = fields;
        }
    }
    catch (const Poco::Exception& e) // BadCast: a reply of another shape
    {
        _cache.invalidate(id);
        throw StoreUnavailable("redis remove script: unexpected reply (" + e.displayText() + ")");
    }
    catch (...)
    {
        _cache.invalidate(id);
        throw;
    }
    _cache.invalidate(id);
    if (removedId != id)
    {
        _cache.invalidate(removedId);
        _logger.information("session %s: removed where a failover had moved it, %s", id, removedId);
    }
    return decode(removedId, reply);
}

bool RedisSessionStore::rename(const std::string& oldId, const std::string& newId)
{
    if (oldId == newId) return false;
    bool moved = false;
    std::string movedFrom = oldId; // another when a failover had moved the session
    try
    {
        const Reply reply = _rename.call(_redis, {hashKey(oldId), hashKey(newId), _index, forwardKey(oldId)},
                                         {oldId, newId, isRouteMove(oldId, newId) ? "1" : "", kForwardLifeMs},
                                         RedisPipeline::Migration::AskOnly);
        if (isTryAgain(reply))
            moved = _detours.rename(oldId, newId);
        else if (reply->isError())
            throw StoreUnavailable("redis rename script failed: " + errorMessage(reply));
        else if (!reply->isBulkString())
            throw StoreUnavailable("redis rename script: unexpected reply " + printableReply(reply));
        else if (const std::string from = bulkText(reply); !from.empty())
        {
            moved = true;
            movedFrom = from;
        }
    }
    catch (...)
    {
        _cache.invalidate(oldId);
        _cache.invalidate(newId);
        throw;
    }
    _cache.invalidate(oldId);
    _cache.invalidate(newId);
    if (movedFrom != oldId)
    {
        _cache.invalidate(movedFrom);
        _logger.information("session %s: new id %s given where a failover had moved it, %s", oldId, newId, movedFrom);
    }
    return moved;
}

std::vector<std::string> RedisSessionStore::list()
{
    Reply reply = _redis.call({"ZRANGE", _index, "0", "-1"});
    const Array* ids = asArray(reply);
    return ids ? bulkTexts(*ids) : std::vector<std::string>{};
}

std::size_t RedisSessionStore::count()
{
    const std::int64_t n = asInt(_redis.call({"ZCARD", _index}));
    return n < 0 ? 0 : std::size_t(n);
}

std::vector<SessionData> RedisSessionStore::expire(TimeMs now, std::size_t limit)
{
    if (limit > kMaxExpireBatch) limit = kMaxExpireBatch;
    _detours.dropLeftIndexEntries(); // a sweep would claim them
    // Not after an ASK: the importing node would read the sessions it does
    // not have yet as gone, and claim them. While the slot is migrated
    // sweeping waits (the next sweep comes; Redis' TTL is the safety net).
    Reply reply = _expire.run(_redis, {_index, _claims, _reclaims},
                              {ms(now), std::to_string(limit), _sessionPrefix, _claimPrefix, ms(now - kReclaimAfterMs),
                               std::to_string(kClaimTtlMs), std::to_string(kMaxReclaims),
                               std::to_string(kMaxReclaimFields)},
                              RedisPipeline::Migration::None);
    std::vector<SessionData> expired;
    const Array* claimed = asArray(reply);
    if (!claimed) return expired;
    for (std::size_t i = 0; i + 1 < claimed->size(); i += 2)
    {
        const std::string id = claimed->get<BulkString>(i).value();
        _cache.invalidate(id); // claimed by this node: NOLOOP tells nobody here
        if (claimed->getType(i + 1) != Poco::Redis::RedisType::REDIS_ARRAY)
        {
            // Its key holds another type (kExpire): no data, no listeners.
            const std::string type = claimed->getType(i + 1) == Poco::Redis::RedisType::REDIS_BULK_STRING
                                         ? claimed->get<BulkString>(i + 1).value()
                                         : std::string("?");
            reportUnreadable(hashKey(id), "not a hash but a " + type +
                                              " (left in place, dropped from the expiry index)");
            continue;
        }
        Reply fields = new Type<Array>(claimed->get<Array>(i + 1));
        if (auto data = decode(id, fields))
            expired.push_back(*data);
        else if (!asArray(fields) || asArray(fields)->size() == 0)
        {
            // Redis' TTL dropped the data before a sweeper came: the session
            // still ended, once, but its attributes are gone.
            SessionData gone;
            gone.id = id;
            gone.lastAccessedTime = now;
            expired.push_back(std::move(gone));
        }
    }
    return expired;
}

void RedisSessionStore::acknowledgeExpired(const std::vector<std::string>& ids)
{
    for (std::size_t from = 0; from < ids.size(); from += kMaxExpireBatch)
    {
        std::vector<std::string> args{_claimPrefix};
        args.insert(args.end(), ids.begin() + from, ids.begin() + std::min(ids.size(), from + kMaxExpireBatch));
        _releaseClaims.run(_redis, {_claims, _reclaims}, args, RedisPipeline::Migration::None);
    }
}

std::string RedisSessionStore::healthProblem()
{
    return _redis.problem();
}

} // namespace mt::redis
