#include "session/DistributedSessionManager.h"

#include "session/SessionIdGenerator.h"
#include "session/SessionListeners.h"
#include "session/StoreRefusals.h"

#include <chrono>
#include <stdexcept>
#include <type_traits>

namespace mt {

namespace {

/// What a failed asynchronous write says, for the 503 and the log.
std::string whyOf(std::exception_ptr error)
{
    try
    {
        std::rethrow_exception(error);
    }
    catch (const std::exception& e)
    {
        return *e.what() ? e.what() : "store write failed";
    }
    catch (...)
    {
        return "store write failed (unknown error)";
    }
}

// 144 random bits collide with probability ~0; a repeated collision means a
// broken store or RNG, which must not turn into an endless loop.
constexpr int kCreateAttempts = 8;

void raiseMax(std::atomic<std::uint64_t>& max, std::uint64_t value)
{
    auto current = max.load(std::memory_order_relaxed);
    while (value > current && !max.compare_exchange_weak(current, value, std::memory_order_relaxed))
    {
    }
}

/// Tomcat's session timing window: the times of the last kWindow events,
/// giving a rate per minute that follows bursts and decays to 0 when idle.
class RateWindow
{
public:
    static constexpr std::size_t kWindow = 100;

    void record(TimeMs when)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _times[_next] = when;
        _next = (_next + 1) % kWindow;
        if (_count < kWindow) ++_count;
    }

    double perMinute(TimeMs now) const
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_count == 0) return 0;
        TimeMs oldest = _times[(_next + kWindow - _count) % kWindow];
        if (now <= oldest) return 0;
        return 60000.0 * double(_count) / double(now - oldest);
    }

private:
    mutable std::mutex _mutex;
    TimeMs _times[kWindow] = {};
    std::size_t _next = 0;
    std::size_t _count = 0;
};

} // namespace

struct DistributedSessionManager::Impl
{
    Impl(SessionSettings s, std::shared_ptr<SessionStoreAdapter> st, const Clock& c, Poco::Logger& l)
        : settings(std::move(s)), store(std::move(st)), clock(c), logger(l), ids(settings.nodeName), listeners(l)
    {
        if (!store) throw std::invalid_argument("DistributedSessionManager needs a store");
        if (settings.contextPath.empty()) settings.contextPath = "/";
        cookieTail = "; Path=" + settings.contextPath + "; HttpOnly; SameSite=Lax";
        if (settings.cookieSecure) cookieTail += "; Secure";
    }

    /// Runs a store call, counting a StoreUnavailable as a rejected request
    /// and remembering it for /health until a write goes through.
    /// `provesWrites`: this call's success shows that the store takes writes
    /// (a create or a save; not a read, a touch the store may skip, or a
    /// delete, which a Redis out of memory still takes).
    template <class Call>
    auto guarded(Call&& call, bool provesWrites = false) -> decltype(call())
    {
        try
        {
            if constexpr (std::is_void_v<decltype(call())>)
            {
                call();
                if (provesWrites) refusals->written();
            }
            else
            {
                auto result = call();
                if (provesWrites) refusals->written();
                return result;
            }
        }
        catch (const StoreUnavailable& e)
        {
            rejected->fetch_add(1, std::memory_order_relaxed);
            refusals->refused(e.what());
            throw;
        }
    }

    static constexpr std::size_t kAcknowledgeBatch = 100;
    static constexpr TimeMs kAcknowledgeEveryMs = 5000;
    /// Expired sessions whose listeners ran but whose acknowledgement failed; the most kept.
    static constexpr std::size_t kMaxUnacknowledged = 100000;

    /// Acknowledges `ids` (and clears it); one the store refused is kept for
    /// the next sweep rather than lost: unacknowledged, its claim would be
    /// taken again and its listeners run twice.
    void acknowledge(std::vector<std::string>& ids)
    {
        if (ids.empty()) return;
        try
        {
            store->acknowledgeExpired(ids);
        }
        catch (const std::exception& e) // StoreUnavailable, or another failure: the listeners ran all the same
        {
            logger.warning("acknowledging %z expired sessions failed, retried at the next sweep: %s", ids.size(),
                           std::string(e.what()));
            std::lock_guard<std::mutex> lock(unacknowledgedMutex);
            unacknowledged.insert(unacknowledged.end(), ids.begin(), ids.end());
            if (unacknowledged.size() > kMaxUnacknowledged)
            {
                const std::size_t dropped = unacknowledged.size() - kMaxUnacknowledged;
                unacknowledged.erase(unacknowledged.begin(), unacknowledged.begin() + std::ptrdiff_t(dropped));
                logger.error("%z unacknowledged expired sessions given up: their listeners may run again", dropped);
            }
        }
        ids.clear();
    }

    void retryAcknowledgements()
    {
        std::vector<std::string> ids;
        {
            std::lock_guard<std::mutex> lock(unacknowledgedMutex);
            ids.swap(unacknowledged);
        }
        acknowledge(ids);
    }

    void destroyed(const SessionData& data, SessionListener::DestroyReason reason, TimeMs now)
    {
        auto& counter = reason == SessionListener::DestroyReason::Expired ? expired : invalidated;
        counter.fetch_add(1, std::memory_order_relaxed);
        expireTimes.record(now);
        // Creation 0: the store lost the record's data, its lifetime is unknown.
        if (data.creationTime > 0 && now >= data.creationTime)
        {
            totalAliveMs.fetch_add(std::uint64_t(now - data.creationTime), std::memory_order_relaxed);
            lifetimes.fetch_add(1, std::memory_order_relaxed);
        }
        listeners.fire("sessionDestroyed", [&](SessionListener& l) { l.sessionDestroyed(data, reason); });
    }

    SessionSettings settings;
    std::shared_ptr<SessionStoreAdapter> store;
    const Clock& clock;
    Poco::Logger& logger;
    SessionIdGenerator ids;
    SessionListeners listeners;
    std::string cookieTail; // "; Path=...; HttpOnly; SameSite=Lax[; Secure]", built once

    std::atomic<std::uint64_t> created{0};
    std::atomic<std::uint64_t> expired{0};
    std::atomic<std::uint64_t> invalidated{0};
    // Shared with asynchronous writes, whose failure may come after the manager is gone.
    std::shared_ptr<std::atomic<std::uint64_t>> rejected = std::make_shared<std::atomic<std::uint64_t>>(0);
    std::shared_ptr<StoreRefusals> refusals = std::make_shared<StoreRefusals>();
    std::atomic<std::uint64_t> maxActive{0};
    std::atomic<std::uint64_t> totalAliveMs{0};
    std::atomic<std::uint64_t> lifetimes{0};
    std::atomic<std::uint64_t> sweepTimeUs{0};
    std::atomic<int> maxInactive{settings.maxInactiveInterval};
    RateWindow createTimes;
    RateWindow expireTimes;
    std::mutex unacknowledgedMutex; // sweeps may overlap (a manual one and the sweeper's)
    std::vector<std::string> unacknowledged;
};

DistributedSessionManager::DistributedSessionManager(SessionSettings settings, std::shared_ptr<SessionStoreAdapter> store,
                               const Clock& clock, Poco::Logger& logger)
    : _impl(std::make_unique<Impl>(std::move(settings), std::move(store), clock, logger))
{
}

DistributedSessionManager::~DistributedSessionManager() = default;

void DistributedSessionManager::addListener(std::shared_ptr<SessionListener> listener)
{
    _impl->listeners.add(std::move(listener));
}

const SessionSettings& DistributedSessionManager::settings() const
{
    return _impl->settings;
}

SessionStoreAdapter& DistributedSessionManager::store()
{
    return *_impl->store;
}

std::shared_ptr<SessionStoreAdapter> DistributedSessionManager::sharedStore() const
{
    return _impl->store;
}

const Clock& DistributedSessionManager::clock() const
{
    return _impl->clock;
}

std::size_t DistributedSessionManager::sweep(std::size_t limit)
{
    const auto started = std::chrono::steady_clock::now();
    _impl->retryAcknowledgements();
    const TimeMs now = _impl->clock.nowMs();
    auto removed = _impl->store->expire(now, limit);
    std::vector<std::string> ended;
    TimeMs acknowledgedAt = now;
    for (const auto& data : removed)
    {
        _impl->destroyed(data, SessionListener::DestroyReason::Expired, now);
        ended.push_back(data.id);
        // Only after the listeners ran: a store that hands claims out again
        // when this does not come (the node died) must not see them as done
        // before. But soon after: a claim held longer is taken again (the
        // redis store: after 30 s), and its listeners run twice.
        const TimeMs at = _impl->clock.nowMs();
        if (ended.size() >= Impl::kAcknowledgeBatch || at - acknowledgedAt >= Impl::kAcknowledgeEveryMs || at < acknowledgedAt)
        {
            _impl->acknowledge(ended);
            acknowledgedAt = at;
        }
    }
    _impl->acknowledge(ended);
    raiseMax(_impl->maxActive, _impl->store->count() + removed.size());
    _impl->sweepTimeUs.fetch_add(
        std::uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count()),
        std::memory_order_relaxed);
    return removed.size();
}

std::string DistributedSessionManager::refusal() const
{
    return _impl->refusals->problem();
}

SessionStats DistributedSessionManager::stats() const
{
    SessionStats s;
    try
    {
        s.active = _impl->store->count();
    }
    catch (const StoreUnavailable& e)
    {
        // Not 0: a gauge that drops to 0 while Redis is away says "no users", not "unknown".
        s.storeError = e.what();
    }
    if (s.storeError.empty()) raiseMax(_impl->maxActive, s.active);
    s.created = _impl->created.load(std::memory_order_relaxed);
    s.expired = _impl->expired.load(std::memory_order_relaxed);
    s.invalidated = _impl->invalidated.load(std::memory_order_relaxed);
    s.rejected = _impl->rejected->load(std::memory_order_relaxed);
    s.maxActive = _impl->maxActive.load(std::memory_order_relaxed);
    s.totalAliveMs = _impl->totalAliveMs.load(std::memory_order_relaxed);
    s.lifetimes = _impl->lifetimes.load(std::memory_order_relaxed);
    const TimeMs now = _impl->clock.nowMs();
    s.createRatePerMinute = _impl->createTimes.perMinute(now);
    s.expireRatePerMinute = _impl->expireTimes.perMinute(now);
    s.sweepTimeUs = _impl->sweepTimeUs.load(std::memory_order_relaxed);
    return s;
}

int DistributedSessionManager::maxInactiveInterval() const
{
    return _impl->maxInactive.load(std::memory_order_relaxed);
}

void DistributedSessionManager::setMaxInactiveInterval(int seconds)
{
    _impl->maxInactive.store(seconds, std::memory_order_relaxed);
}

std::string DistributedSessionManager::cookieFor(const std::string& id) const
{
    return _impl->settings.cookieName + "=" + id + _impl->cookieTail;
}

std::string DistributedSessionManager::expiredCookie() const
{
    return _impl->settings.cookieName + "=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT" + _impl->cookieTail;
}

std::string DistributedSessionManager::newId() const
{
    return _impl->ids.generate();
}

std::shared_ptr<const SessionData> DistributedSessionManager::find(const std::string& id)
{
    if (!SessionIdGenerator::isWellFormed(id)) return nullptr;
    // Owned: routed here, and any other node that serves it renames it first.
    const bool owned = _impl->settings.rewriteRoute && rerouted(id).empty();
    auto data = _impl->guarded([&] { return owned ? _impl->store->loadOwned(id) : _impl->store->load(id); });
    if (!data || data->isExpired(_impl->clock.nowMs())) return nullptr;
    return data;
}

std::shared_ptr<const SessionData> DistributedSessionManager::create()
{
    const TimeMs now = _impl->clock.nowMs();
    SessionData data;
    data.creationTime = now;
    data.lastAccessedTime = now;
    data.maxInactiveInterval = _impl->maxInactive.load(std::memory_order_relaxed);
    for (int attempt = 0; attempt < kCreateAttempts; ++attempt)
    {
        data.id = _impl->ids.generate();
        if (!_impl->guarded([&] { return _impl->store->create(data); }, true)) continue;
        // maxActive is sampled in stats() and sweep(), not here: count() is a
        // round trip on a networked store and create() is on the request path.
        _impl->created.fetch_add(1, std::memory_order_relaxed);
        _impl->createTimes.record(now);
        auto record = std::make_shared<const SessionData>(std::move(data));
        _impl->listeners.fire("sessionCreated", [&](SessionListener& l) { l.sessionCreated(*record); });
        return record;
    }
    throw std::runtime_error("session id collided " + std::to_string(kCreateAttempts) + " times: store or RNG broken");
}

std::shared_ptr<const SessionData> DistributedSessionManager::commit(const SessionDelta& delta)
{
    return _impl->guarded([&] { return _impl->store->save(delta); }, true);
}

std::shared_ptr<Completion> DistributedSessionManager::commitAsync(const SessionDelta& delta)
{
    auto completion = std::make_shared<Completion>();
    // The callback may run after this manager is gone (a context undeployed
    // while the write was on its way): it touches only what it holds.
    auto done = [completion, rejected = _impl->rejected, refusals = _impl->refusals](std::exception_ptr error) {
        if (!error)
        {
            refusals->written();
            return completion->complete({});
        }
        rejected->fetch_add(1, std::memory_order_relaxed); // the response becomes a 503
        std::string why = whyOf(error);
        refusals->refused(why);
        completion->complete(std::move(why));
    };
    // Started is not stored: the completion says whether it was.
    const bool started = _impl->guarded([&] { return _impl->store->saveAsync(delta, std::move(done)); });
    if (started) return completion;
    commit(delta);
    return nullptr;
}

bool DistributedSessionManager::touch(const std::string& id, TimeMs when)
{
    return _impl->guarded([&] { return _impl->store->touch(id, when); });
}

void DistributedSessionManager::invalidate(const std::string& id)
{
    auto removed = _impl->guarded([&] { return _impl->store->invalidate(id); });
    if (removed) _impl->destroyed(*removed, SessionListener::DestroyReason::Invalidated, _impl->clock.nowMs());
}

void DistributedSessionManager::refresh(const SessionData& loaded, TimeMs when)
{
    _impl->guarded([&] { return _impl->store->refresh(loaded, when); });
}

std::string DistributedSessionManager::rerouted(const std::string& id) const
{
    if (!_impl->settings.rewriteRoute) return {};
    return SessionIdGenerator::withRoute(id, _impl->settings.nodeName);
}

std::vector<std::string> DistributedSessionManager::otherRoutes(const std::string& id) const
{
    std::vector<std::string> ids;
    if (!_impl->settings.rewriteRoute || !_impl->settings.routes) return ids;
    for (const auto& route : _impl->settings.routes->get())
    {
        if (route == _impl->settings.nodeName) continue;
        std::string other = SessionIdGenerator::withRoute(id, route);
        if (!other.empty()) ids.push_back(std::move(other));
    }
    return ids;
}

bool DistributedSessionManager::rename(const std::string& oldId, const std::string& newId)
{
    return _impl->guarded([&] { return _impl->store->rename(oldId, newId); });
}

void DistributedSessionManager::fireAttributeAdded(const std::string& id, const std::string& name, const std::string& json)
{
    _impl->listeners.fire("attributeAdded", [&](SessionListener& l) { l.attributeAdded(id, name, json); });
}

void DistributedSessionManager::fireAttributeReplaced(const std::string& id, const std::string& name, const std::string& oldJson,
                                           const std::string& newJson)
{
    _impl->listeners.fire("attributeReplaced",
                          [&](SessionListener& l) { l.attributeReplaced(id, name, oldJson, newJson); });
}

void DistributedSessionManager::fireAttributeRemoved(const std::string& id, const std::string& name, const std::string& oldJson)
{
    _impl->listeners.fire("attributeRemoved", [&](SessionListener& l) { l.attributeRemoved(id, name, oldJson); });
}

} // namespace mt
