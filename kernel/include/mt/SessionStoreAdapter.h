#pragma once
// Where session data lives. One instance per web context (the kernel creates
// one per context from the store plugin that context names).
//
// Thread-safety: every method may be called concurrently from any thread; an
// implementation makes each call atomic with respect to the others on the same id.
// Consistency: calls on one id are linearizable within one store instance. A
// networked store documents what it adds (e.g. Redis: linearizable per key).
// Errors: a store that cannot reach its backend throws mt::StoreUnavailable;
// the kernel answers 503 with Retry-After and reports the store DOWN.

#include "mt/Plugin.h"
#include "mt/SessionData.h"

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace mt {

class MT_API StoreUnavailable : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

class MT_API SessionStoreAdapter : public PluginObject
{
public:
    using DataPtr = std::shared_ptr<const SessionData>;

    ~SessionStoreAdapter() override;

    /// The session, or null if there is none. Does not check expiry (the
    /// manager does). The returned record is immutable and may be shared.
    virtual DataPtr load(const std::string& id) = 0;
    /// load() of a session only this node writes while its route names this
    /// node: the balancer sends it here, and session.rewriteRoute gives it a
    /// new id (another key) before any other node writes it. A store may
    /// answer from a copy it keeps, valid as long as nobody else changes the
    /// key (see the redis store's near cache). Default: load().
    virtual DataPtr loadOwned(const std::string& id) { return load(id); }
    /// Stores a new session; false (and no change) if the id exists.
    virtual bool create(const SessionData& data) = 0;
    /// Applies the delta atomically against the current record (different
    /// attributes changed by concurrent requests both survive). Returns the
    /// resulting record, or null if the session no longer exists.
    virtual DataPtr save(const SessionDelta& delta) = 0;
    /// Called once when a saveAsync() has its outcome: null when the delta is
    /// stored (or the session was gone: the changes had nowhere to go, as with
    /// save() returning null), else why not (mt::StoreUnavailable).
    using SaveDone = std::function<void(std::exception_ptr error)>;
    /// save() without waiting for the backend, for the end of a request whose
    /// response can wait for `done` instead of a worker thread. `done` runs
    /// exactly once — on the store's own thread, or on this one before the call
    /// returns — and must be short and not call back into the store. False
    /// (and `done` never runs) when this store, or this delta, can only be
    /// saved synchronously: the caller then calls save(). Default: false.
    virtual bool saveAsync(const SessionDelta& delta, SaveDone done)
    {
        (void)delta;
        (void)done;
        return false;
    }
    /// Sets the last-access time only (no version change). False if gone.
    virtual bool touch(const std::string& id, TimeMs lastAccessedTime) = 0;
    /// A read-only access at `now` to `loaded` (the record this request
    /// loaded). By default a touch(); a networked store may skip the write
    /// while the stored access time is recent enough, trading a little expiry
    /// precision for one round trip per read (it documents how much).
    virtual bool refresh(const SessionData& loaded, TimeMs now) { return touch(loaded.id, now); }
    /// Removes the session and returns what was removed; null if it was not
    /// there. Exactly one of several concurrent callers gets the record: that
    /// caller fires the destroyed listeners.
    virtual DataPtr remove(const std::string& id) = 0;
    /// remove() of a session the application invalidated (a logout). A
    /// store that keeps where a failover moved a session (the redis store)
    /// removes it there if `id` is gone: the logout must not leave it alive
    /// under another route. remove() does not follow: a session that looks
    /// gone to one caller may have been taken over because to another node it
    /// was not. Default: remove().
    virtual DataPtr invalidate(const std::string& id) { return remove(id); }
    /// Moves a session to a new id (session fixation defence), or to another
    /// node's route of the same id (a failover). False if the old id is gone
    /// or the new id is taken. A store that leaves a moved session reachable
    /// from its old id (RedisSessionStore) gives a new id to the session
    /// where a move took it: the caller holds that session.
    virtual bool rename(const std::string& oldId, const std::string& newId) = 0;
    /// Ids of every stored session (expired ones not yet swept included).
    virtual std::vector<std::string> list() = 0;
    virtual std::size_t count() = 0;
    /// Removes up to `limit` sessions expired at `now` and returns them; each
    /// expired session is returned by exactly one call — unless the store
    /// keeps what it returned until acknowledgeExpired() and that does not
    /// come (the reply was lost on the way, the node died before its
    /// listeners ran): then a later call, on any node, returns it again. One
    /// whose data the store lost meanwhile (Redis' own TTL) comes with its id
    /// only: creationTime 0, no attributes.
    virtual std::vector<SessionData> expire(TimeMs now, std::size_t limit) = 0;
    /// The destroyed listeners of these sessions, which expire() returned,
    /// have run. Default: nothing (a store whose expire() cannot lose a reply).
    virtual void acknowledgeExpired(const std::vector<std::string>& ids) { (void)ids; }
    /// Empty when healthy, else why not (shown by /health).
    virtual std::string healthProblem() { return {}; }
};

} // namespace mt
