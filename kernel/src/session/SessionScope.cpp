#include "session/SessionScope.h"

#include "session/RequestSession.h"
#include "session/SessionIdGenerator.h"

#include <stdexcept>
#include <vector>

namespace mt {

struct SessionScope::Impl
{
    Impl(DistributedSessionManager& m, std::vector<std::string> requested, std::function<void(const std::string&)> cookie)
        : manager(m), requestedIds(std::move(requested)), setCookie(std::move(cookie))
    {
    }

    std::unique_ptr<RequestSession> make(SessionStoreAdapter::DataPtr data, bool isNew)
    {
        return std::make_unique<RequestSession>(manager, std::move(data), isNew, [this] { invalidated(); });
    }

    // The handler may still hold the invalidated session: keep the object
    // alive (its methods throw std::logic_error) until the request ends.
    void invalidated()
    {
        if (current) retired.push_back(std::move(current));
        sendCookie(manager.expiredCookie());
    }

    void sendCookie(const std::string& cookie)
    {
        if (setCookie) setCookie(cookie);
    }

    // Failover (Tomcat's JvmRouteBinderValve): a session that arrives with
    // another node's route is moved to this node's route, so the balancer's
    // stickiness follows it here. Of concurrent requests carrying the old id,
    // one renames and the others find the session where it went: under this
    // node's route, or under another node's that renamed it first.
    void lookUp()
    {
        const std::string rerouted = manager.rerouted(requestedId);
        const std::string ownId = rerouted.empty() ? requestedId : rerouted;
        // Each pass loses at most one race to a concurrent rename; three is plenty.
        for (int pass = 0; pass < 3; ++pass)
        {
            std::string at;
            auto data = locate(ownId, at);
            if (!data) return;
            if (at != ownId && !manager.rename(at, ownId)) continue; // moved on meanwhile: look again
            current = make(std::move(data), false);
            if (at != ownId) current->setId(ownId);
            if (committed) current->seal(); // first reached after the commit: reading only
            if (!touchIfLate())
            {
                current.reset(); // gone meanwhile, or moved by a failover: look again
                continue;
            }
            if (ownId != requestedId) sendCookie(manager.cookieFor(ownId));
            return;
        }
    }

    /// Tomcat moves a session's access time as a request begins; the store
    /// gets it at commit. A session loaded after more than half its interval
    /// idle is touched now, so that no sweep takes it while this request
    /// uses it (for half an interval at least). False: it is gone.
    bool touchIfLate()
    {
        const SessionData& loaded = current->loaded();
        const TimeMs now = manager.clock().nowMs();
        if (loaded.maxInactiveInterval <= 0 || now - loaded.lastAccessedTime < TimeMs(loaded.maxInactiveInterval) * 500)
            return true;
        current->noteAccessWritten();
        return manager.touch(current->id(), now);
    }

    /// The session under the id the client sent, under this node's route,
    /// or under another node's route (a failover renamed it since the
    /// client got its cookie). Sets `at` to the id it was found under.
    SessionStoreAdapter::DataPtr locate(const std::string& ownId, std::string& at)
    {
        std::vector<std::string> candidates{requestedId};
        if (ownId != requestedId) candidates.push_back(ownId);
        for (auto& other : manager.otherRoutes(requestedId))
            if (other != requestedId) candidates.push_back(std::move(other));
        for (const auto& id : candidates)
            if (auto data = manager.find(id))
            {
                at = id;
                return data;
            }
        return nullptr;
    }

    DistributedSessionManager& manager;
    std::vector<std::string> requestedIds;
    std::string requestedId; ///< the one being looked up

    std::function<void(const std::string&)> setCookie;
    bool lookedUp = false;
    bool committed = false;
    std::unique_ptr<RequestSession> current;
    std::vector<std::unique_ptr<RequestSession>> retired;
};

SessionScope::SessionScope(DistributedSessionManager& manager, std::vector<std::string> requestedIds,
                           std::function<void(const std::string&)> setCookie)
    : _impl(std::make_unique<Impl>(manager, std::move(requestedIds), std::move(setCookie)))
{
}

SessionScope::SessionScope(DistributedSessionManager& manager, std::string requestedId,
                           std::function<void(const std::string&)> setCookie)
    : SessionScope(manager, std::vector<std::string>{std::move(requestedId)}, std::move(setCookie))
{
}

SessionScope::~SessionScope() = default;

HttpSession* SessionScope::session(bool create)
{
    Impl& s = *_impl;
    if (!s.lookedUp)
    {
        // Looked up once per request, and only for a well-formed id: garbage
        // from a client never reaches the store.
        s.lookedUp = true;
        std::size_t tried = 0;
        for (const auto& id : s.requestedIds)
        {
            if (!SessionIdGenerator::isWellFormed(id)) continue;
            if (++tried > kMaxRequestedIds) break;
            s.requestedId = id;
            s.lookUp();
            if (s.current) break;
        }
    }
    if (s.current || !create) return s.current.get();
    if (s.committed) throw std::logic_error("HttpRequest::session: the response is committed, a new session's cookie could not be sent");
    s.current = s.make(s.manager.create(), true);
    s.sendCookie(s.manager.cookieFor(s.current->id()));
    return s.current.get();
}

std::string SessionScope::changeSessionId()
{
    Impl& s = *_impl;
    if (!session(false)) throw std::logic_error("changeSessionId: the request has no session");
    if (s.committed) throw std::logic_error("changeSessionId: the response is committed, the new id's cookie could not be sent");
    const std::string oldId = s.current->id();
    // A collision on the new id is as unlikely as in create(); the retry is
    // bounded the same way. A false with the old id gone means another request
    // invalidated the session meanwhile — or moved it (a failover) where the
    // store could not follow (SessionStoreAdapter::rename).
    for (int attempt = 0; attempt < 8; ++attempt)
    {
        std::string newId = s.manager.newId();
        if (s.manager.rename(oldId, newId))
        {
            s.current->setId(newId);
            s.sendCookie(s.manager.cookieFor(newId));
            return newId;
        }
        if (!s.manager.find(oldId)) throw std::logic_error("changeSessionId: the session no longer exists");
    }
    throw std::runtime_error("changeSessionId: new session ids kept colliding");
}

void SessionScope::commit()
{
    commitWith(false);
}

std::shared_ptr<Completion> SessionScope::commitAsync()
{
    return commitWith(true);
}

std::shared_ptr<Completion> SessionScope::commitWith(bool allowAsync)
{
    Impl& s = *_impl;
    if (s.committed) return nullptr;
    s.committed = true;
    if (!s.current) return nullptr; // no session accessed, or it was invalidated
    RequestSession& session = *s.current;
    session.seal();
    if (session.gone()) return nullptr; // flushMode=IMMEDIATE found it removed: nowhere to write
    const TimeMs now = s.manager.clock().nowMs();
    if (session.changesData() && allowAsync)
    {
        // The record this write produces is not needed here, only its
        // outcome (a handler reading the session afterwards still sees its
        // changes: RequestSession keeps them).
        return s.manager.commitAsync(session.delta(s.manager.settings().nodeName, now));
    }
    if (session.changesData())
    {
        // Null result: another request removed the session meanwhile; its
        // changes have nowhere to go, as in a servlet container.
        if (auto result = s.manager.commit(session.delta(s.manager.settings().nodeName, now)))
            session.rebase(std::move(result));
    }
    else if (!session.createdNow() && !session.accessWritten())
    {
        // Read only: access time, no version change; the store may skip the
        // write while the stored access time is recent enough.
        const SessionData& loaded = session.loaded();
        if (loaded.id == session.id())
            s.manager.refresh(loaded, now);
        else
            s.manager.touch(session.id(), now); // renamed in this request: the snapshot has the old id
    }
    return nullptr;
}

} // namespace mt
