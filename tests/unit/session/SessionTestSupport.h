#pragma once
// Test doubles for the session tests: a store wrapper that records every call,
// and a listener that records every event. Both thread-safe.

#include "MemorySessionStore.h"
#include "mt/SessionListener.h"
#include "session/DistributedSessionManager.h"

#include <Poco/Logger.h>

#include <atomic>
#include <condition_variable>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace mt::test {

class RecordingStore : public SessionStoreAdapter
{
public:
    DataPtr load(const std::string& id) override
    {
        loads++;
        return _inner.load(id);
    }
    bool create(const SessionData& data) override
    {
        creates++;
        return _inner.create(data);
    }
    DataPtr save(const SessionDelta& delta) override
    {
        {
            std::lock_guard<std::mutex> lock(_mutex);
            _saves.push_back(delta);
        }
        return _inner.save(delta);
    }
    bool touch(const std::string& id, TimeMs t) override
    {
        touches++;
        return _inner.touch(id, t);
    }
    DataPtr remove(const std::string& id) override
    {
        removes++;
        return _inner.remove(id);
    }
    bool rename(const std::string& a, const std::string& b) override { return _inner.rename(a, b); }
    std::vector<std::string> list() override { return _inner.list(); }
    std::size_t count() override { return _inner.count(); }
    std::vector<SessionData> expire(TimeMs now, std::size_t limit) override { return _inner.expire(now, limit); }

    std::vector<SessionDelta> saves() const
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _saves;
    }
    std::size_t saveCount() const { return saves().size(); }
    /// Forgets what was recorded so far (the set-up's own calls).
    void reset()
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _saves.clear();
        loads = creates = touches = removes = 0;
    }

    std::atomic<int> loads{0}, creates{0}, touches{0}, removes{0};

private:
    MemorySessionStore _inner;
    mutable std::mutex _mutex;
    std::vector<SessionDelta> _saves;
};

class RecordingListener : public SessionListener
{
public:
    void sessionCreated(const SessionData& d) override { add("created " + d.id); }
    void sessionDestroyed(const SessionData& d, DestroyReason r) override
    {
        add(std::string(r == DestroyReason::Expired ? "expired " : "invalidated ") + d.id);
    }
    void attributeAdded(const std::string&, const std::string& n, const std::string& j) override
    {
        add("added " + n + "=" + j);
    }
    void attributeReplaced(const std::string&, const std::string& n, const std::string& o, const std::string& j) override
    {
        add("replaced " + n + "=" + o + "->" + j);
    }
    void attributeRemoved(const std::string&, const std::string& n, const std::string& o) override
    {
        add("removed " + n + "=" + o);
    }

    std::vector<std::string> events() const
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _events;
    }
    std::size_t countPrefix(const std::string& prefix) const
    {
        std::size_t n = 0;
        for (const auto& e : events()) n += e.rfind(prefix, 0) == 0;
        return n;
    }
    /// Waits (bounded) until at least `n` events start with `prefix`.
    bool waitFor(const std::string& prefix, std::size_t n, std::chrono::milliseconds timeout)
    {
        std::unique_lock<std::mutex> lock(_mutex);
        return _changed.wait_for(lock, timeout, [&] {
            std::size_t c = 0;
            for (const auto& e : _events) c += e.rfind(prefix, 0) == 0;
            return c >= n;
        });
    }
    void clear()
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _events.clear();
    }

private:
    void add(std::string e)
    {
        {
            std::lock_guard<std::mutex> lock(_mutex);
            _events.push_back(std::move(e));
        }
        _changed.notify_all();
    }
    mutable std::mutex _mutex;
    std::condition_variable _changed;
    std::vector<std::string> _events;
};

inline Poco::Logger& testLogger()
{
    return Poco::Logger::get("mt.test.session");
}

/// A manager over a recording memory store on a manual clock.
struct ManagerFixture
{
    explicit ManagerFixture(SessionSettings settings = {})
        : store(std::make_shared<RecordingStore>()),
          listener(std::make_shared<RecordingListener>()),
          manager(settings, store, clock, testLogger())
    {
        manager.addListener(listener);
    }

    ManualClock clock;
    std::shared_ptr<RecordingStore> store;
    std::shared_ptr<RecordingListener> listener;
    DistributedSessionManager manager;
};

} // namespace mt::test
