#pragma once
// The session store's latest refusal, for /health. A store that answers but
// refuses (Redis out of memory or failing to persist, a permission taken
// away, a key overwritten with another type) is as down for the users of its
// context as one that does not answer, while its own health check (a PING)
// still passes. Shared with asynchronous writes, which may end after the
// session manager that started them.
//
// Thread-safety: all methods from any thread; written() is one relaxed load
// while nothing was refused, as it runs on every write.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace mt {

class StoreRefusals
{
public:
    /// How long a refusal that no write has cleared keeps the store DOWN:
    /// without requests nobody learns that the store is back.
    static constexpr std::chrono::seconds kShownFor{10};

    void refused(const std::string& why)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _why = why;
        _last = std::chrono::steady_clock::now();
        _pending.store(true, std::memory_order_relaxed);
    }
    /// A write went through: the store takes writes again.
    void written()
    {
        if (!_pending.load(std::memory_order_relaxed)) return;
        std::lock_guard<std::mutex> lock(_mutex);
        _pending.store(false, std::memory_order_relaxed);
    }
    /// "" unless a call was refused in the last kShownFor and no write went through since.
    std::string problem() const
    {
        if (!_pending.load(std::memory_order_relaxed)) return {};
        std::lock_guard<std::mutex> lock(_mutex);
        if (!_pending.load(std::memory_order_relaxed) || std::chrono::steady_clock::now() - _last > kShownFor) return {};
        return "the store refused the last request that used it, and no write has gone through since: " + _why;
    }

private:
    mutable std::mutex _mutex;
    std::string _why;
    std::chrono::steady_clock::time_point _last;
    std::atomic<bool> _pending{false};
};

} // namespace mt
