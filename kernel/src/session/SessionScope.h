#pragma once
// The session side of one request: finds or creates the session on first use,
// records changes, and commits exactly the delta once (commit()).
//
// PUBLIC INTERFACE FIXED; the session module owns the implementation.
// Thread-safety: the request's thread only.

#include "http/SessionSource.h"
#include "session/DistributedSessionManager.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mt {

class SessionScope : public http::SessionSource
{
public:
    /// `requestedIds`: the session cookie's values, or the ";jsessionid="
    /// id (empty if none). The first that names a session is the request's
    /// (a browser may send a stale cookie of another path or domain first,
    /// as Tomcat allows for). At most kMaxRequestedIds are looked up.
    /// `setCookie`: adds a Set-Cookie header value to the response (called
    /// when a session is created, renamed or invalidated).
    SessionScope(DistributedSessionManager& manager, std::vector<std::string> requestedIds,
                 std::function<void(const std::string&)> setCookie);
    /// One requested id ("" if none).
    SessionScope(DistributedSessionManager& manager, std::string requestedId, std::function<void(const std::string&)> setCookie);
    static constexpr std::size_t kMaxRequestedIds = 4;
    ~SessionScope() override;

    HttpSession* session(bool create) override;
    std::string changeSessionId() override;

    /// Writes what the request changed (nothing if nothing changed; a touch
    /// if the session was only read, unless it was touched as it loaded).
    /// Idempotent: later calls do nothing.
    /// Afterwards a new session, a new id or a change (but for
    /// flushMode=IMMEDIATE) throws std::logic_error: it would be lost.
    /// Throws mt::StoreUnavailable if the store is down.
    void commit();
    /// As commit(), but a data write may be left on its way (the store
    /// permitting): then the completion says when it is stored, and the
    /// response must not leave before. Null: committed synchronously.
    std::shared_ptr<Completion> commitAsync();

private:
    std::shared_ptr<Completion> commitWith(bool allowAsync);

    struct Impl;
    std::unique_ptr<Impl> _impl;
};

} // namespace mt
