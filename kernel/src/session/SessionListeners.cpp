#include "session/SessionListeners.h"

namespace mt {

void SessionListeners::add(std::shared_ptr<SessionListener> listener)
{
    if (!listener) return;
    std::lock_guard<std::mutex> lock(_addMutex);
    auto next = std::make_shared<List>(*std::atomic_load(&_list));
    next->push_back(std::move(listener));
    std::atomic_store(&_list, std::shared_ptr<const List>(std::move(next)));
    _any.store(true, std::memory_order_release);
}

void SessionListeners::logFailure(const char* what, const char* why) const
{
    _logger.error("session listener %s threw: %s (ignored)", std::string(what), std::string(why));
}

} // namespace mt
