#pragma once
// The mt::HttpSession a handler sees during one request: the session record
// loaded once (an immutable snapshot shared with the store, never copied)
// plus this request's changes overlaid on it. Reads see the request's own
// writes; the changes become one SessionDelta at commit.
//
// Changes are net: setting a value equal to the current one, or removing an
// absent attribute, records nothing, and a change undone within the request
// disappears from the delta.
//
// Thread-safety: the request's thread only.

#include "mt/HttpSession.h"
#include "mt/SessionStoreAdapter.h"

#include <functional>
#include <map>
#include <optional>
#include <string>

namespace mt {

class DistributedSessionManager;

class RequestSession : public HttpSession
{
public:
    using DataPtr = SessionStoreAdapter::DataPtr;

    /// `onInvalidate` runs after the manager removed the session (the scope
    /// sends the expired cookie and forgets this object as its current session).
    RequestSession(DistributedSessionManager& manager, DataPtr data, bool isNew, std::function<void()> onInvalidate);
    ~RequestSession() override;

    const std::string& id() const override { return _id; }
    bool isNew() const override;
    TimeMs creationTime() const override;
    TimeMs lastAccessedTime() const override;
    int maxInactiveInterval() const override;
    void setMaxInactiveInterval(int seconds) override;
    std::optional<std::string> attributeJson(const std::string& name) const override;
    void setAttributeJson(const std::string& name, const std::string& json) override;
    void removeAttribute(const std::string& name) override;
    std::vector<std::string> attributeNames() const override;
    /// As of the load (or this request's commit): pending changes are not counted.
    std::uint64_t version() const override;
    const VersionVector& versionVector() const override;
    void invalidate() override;
    bool isValid() const override { return _valid; }

    // Kernel side (SessionScope).
    bool changesData() const { return _maxInactive.has_value() || !_changes.empty(); }
    bool createdNow() const { return _isNew; }
    SessionDelta delta(const std::string& node, TimeMs now) const;
    /// After a commit: the store's result becomes the new base, changes are cleared.
    void rebase(DataPtr data);
    void setId(std::string id) { _id = std::move(id); }
    /// The record as loaded (or as of the last write this request made).
    const SessionData& loaded() const { return *_data; }
    /// True once this request wrote the access time: a flushMode=IMMEDIATE
    /// write, or the touch of a session loaded late in its interval.
    bool accessWritten() const { return _accessWritten; }
    void noteAccessWritten() { _accessWritten = true; }
    /// The response is committed: a change now would be lost, so it throws
    /// std::logic_error instead (flushMode=IMMEDIATE writes it at once: allowed).
    void seal() { _sealed = true; }
    /// flushMode=IMMEDIATE found the session removed by another request: the
    /// changes stay this request's view, and nothing more is written.
    bool gone() const { return _gone; }

    /// Throws std::invalid_argument unless `json` is one complete JSON value.
    static void validateJson(const std::string& json);

private:
    void checkValid(const char* method) const;
    /// checkValid(), and the change would not be lost (seal()).
    void checkChangeable(const char* method) const;
    /// The value this request sees: its own change, else the loaded one; null if absent.
    const std::string* current(const std::string& name) const;
    /// Records `value` (nullopt = removed) as the request's view of `name`,
    /// dropping the change when it equals what was loaded.
    void record(const std::string& name, std::optional<std::string> value);
    /// flushMode=IMMEDIATE: writes the pending changes now.
    void flushIfImmediate();

    DistributedSessionManager& _manager;
    DataPtr _data;
    std::string _id;
    bool _isNew;
    bool _valid = true;
    std::function<void()> _onInvalidate;
    std::map<std::string, std::optional<std::string>> _changes; // name -> new JSON, nullopt = removed
    std::optional<int> _maxInactive;
    bool _accessWritten = false;
    bool _sealed = false;
    bool _gone = false;
};

} // namespace mt
