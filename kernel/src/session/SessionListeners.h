#pragma once
// The listeners of one context, and firing them safely: an exception from a
// listener is logged and the others still run.
//
// Thread-safety: add() and fire() from any thread. fire() takes no lock: the
// list is an immutable snapshot swapped on add (listeners are added at
// start-up; events fire on every request), and an empty list costs one
// atomic load.

#include "mt/SessionListener.h"

#include <Poco/Logger.h>

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>

namespace mt {

class SessionListeners
{
public:
    explicit SessionListeners(Poco::Logger& logger) : _logger(logger) {}

    void add(std::shared_ptr<SessionListener> listener);
    bool empty() const { return !_any.load(std::memory_order_acquire); }

    /// Calls `event(listener)` on every listener, catching what they throw.
    template <class Event>
    void fire(const char* what, Event&& event) const
    {
        if (empty()) return;
        auto list = std::atomic_load(&_list);
        for (const auto& listener : *list)
        {
            try
            {
                event(*listener);
            }
            catch (const std::exception& e)
            {
                logFailure(what, e.what());
            }
            catch (...)
            {
                logFailure(what, "unknown exception");
            }
        }
    }

private:
    using List = std::vector<std::shared_ptr<SessionListener>>;

    void logFailure(const char* what, const char* why) const;

    Poco::Logger& _logger;
    std::mutex _addMutex;
    std::shared_ptr<const List> _list = std::make_shared<const List>();
    std::atomic<bool> _any{false};
};

} // namespace mt
