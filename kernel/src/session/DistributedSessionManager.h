#pragma once
// Sessions of one web context: ids, cookies, the store, listeners, expiry and
// statistics. One instance per context; the store is the context's
// SessionStoreAdapter plugin object (memory, redis, ...), the only place
// session data lives: the manager keeps no copy, so any node sharing the
// store serves any session (a networked store may cache, validated by version).
//
// PUBLIC INTERFACE FIXED (the dispatcher and web context code against it);
// the session module owns the implementation and may add members.
// Thread-safety: every method may be called from any thread.

#include "mt/SessionListener.h"
#include "mt/SessionStoreAdapter.h"
#include "session/KnownRoutes.h"
#include "util/Clock.h"
#include "util/Completion.h"

#include <Poco/Logger.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mt {

struct SessionSettings
{
    std::string nodeName = "node1";      ///< route suffix: ids end in ".<nodeName>"
    std::string contextPath = "/";       ///< cookie Path ("" is sent as "/")
    std::string cookieName = "JSESSIONID";
    bool cookieSecure = false;
    int maxInactiveInterval = 1800;      ///< seconds, for new sessions; <= 0 never expires
    bool rewriteRoute = true;            ///< give sessions with another node's route this node's route (failover)
    bool flushImmediate = false;         ///< write every change at once (flushMode=IMMEDIATE), not at commit
    /// The cluster's routes, to find a session another node renamed; null: this node's only.
    std::shared_ptr<const KnownRoutes> routes;
};

struct SessionStats
{
    std::uint64_t active = 0;     ///< store count; meaningless while storeError says why there is none
    std::string storeError;       ///< why the store could not count its sessions (unavailable); empty if it could
    std::uint64_t created = 0;
    std::uint64_t expired = 0;
    std::uint64_t invalidated = 0;
    std::uint64_t rejected = 0;   ///< requests refused because the store was unavailable
    std::uint64_t maxActive = 0;
    std::uint64_t totalAliveMs = 0; ///< summed lifetime of destroyed sessions
    /// Destroyed sessions whose lifetime totalAliveMs sums: not those whose
    /// data the store lost (their creation time is unknown). The average's divisor.
    std::uint64_t lifetimes = 0;
    // Tomcat's ManagerBase figures: per minute over the last 100 creations /
    // removals (expired or invalidated), and the time spent in expiry sweeps.
    double createRatePerMinute = 0;
    double expireRatePerMinute = 0;
    std::uint64_t sweepTimeUs = 0;
};

class DistributedSessionManager
{
public:
    DistributedSessionManager(SessionSettings settings, std::shared_ptr<SessionStoreAdapter> store, const Clock& clock,
                   Poco::Logger& logger);
    ~DistributedSessionManager();

    void addListener(std::shared_ptr<SessionListener> listener);
    const SessionSettings& settings() const;
    SessionStoreAdapter& store();
    /// The store, for a manager with other settings over the same sessions.
    std::shared_ptr<SessionStoreAdapter> sharedStore() const;

    /// Removes expired sessions (up to `limit`), fires destroyed listeners
    /// once each. Returns how many. Called by the sweeper thread. Acknowledges
    /// them to the store (acknowledgeExpired) every 100 sessions or 5 s of
    /// listeners; one the store refuses is acknowledged at the next sweep.
    std::size_t sweep(std::size_t limit = 10000);
    SessionStats stats() const;
    /// Why the store refused the latest request that used it, while no write
    /// has gone through since (StoreRefusals); "" otherwise. For /health.
    std::string refusal() const;
    /// Max inactive interval (seconds) given to new sessions; starts at
    /// settings().maxInactiveInterval, changed at run time by the Manager MBean.
    int maxInactiveInterval() const;
    void setMaxInactiveInterval(int seconds);

    /// "JSESSIONID=<id>; Path=/ctx; HttpOnly; SameSite=Lax[; Secure]"
    std::string cookieFor(const std::string& id) const;
    /// Max-Age=0 cookie that removes the client's cookie.
    std::string expiredCookie() const;
    std::string newId() const;

    // Used by SessionScope.
    /// Null if absent or expired. An expired one is left to sweep(): its
    /// claim is atomic with a last look at the access time (a request on
    /// another node may just have refreshed it), and survives a lost reply,
    /// so the destroyed listeners fire once even then.
    std::shared_ptr<const SessionData> find(const std::string& id);
    std::shared_ptr<const SessionData> create();
    std::shared_ptr<const SessionData> commit(const SessionDelta& delta);
    /// commit() without waiting, when the store can (SessionStoreAdapter::saveAsync):
    /// the completion reports when the write is stored, or why not. Null when
    /// it was committed synchronously here, as by commit() (which may throw).
    std::shared_ptr<Completion> commitAsync(const SessionDelta& delta);
    /// False: the session is gone.
    bool touch(const std::string& id, TimeMs when);
    /// A read-only access to `loaded`: the store decides whether it must write.
    void refresh(const SessionData& loaded, TimeMs when);
    /// `id` with this node's route, or "" if it already has it (or rewriting is off).
    std::string rerouted(const std::string& id) const;
    /// `id` with each other route it may carry in the cluster (not its own,
    /// not this node's): where another node may have renamed it. Empty while
    /// rewriting is off (ids then never change).
    std::vector<std::string> otherRoutes(const std::string& id) const;
    void invalidate(const std::string& id);
    bool rename(const std::string& oldId, const std::string& newId);
    void fireAttributeAdded(const std::string& id, const std::string& name, const std::string& json);
    void fireAttributeReplaced(const std::string& id, const std::string& name, const std::string& oldJson,
                               const std::string& newJson);
    void fireAttributeRemoved(const std::string& id, const std::string& name, const std::string& oldJson);
    const Clock& clock() const;

private:
    struct Impl;
    std::unique_ptr<Impl> _impl;
};

} // namespace mt
