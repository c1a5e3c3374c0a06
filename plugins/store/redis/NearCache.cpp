#include "NearCache.h"

namespace mt::redis {

NearCache::DataPtr NearCache::get(const std::string& id, std::chrono::steady_clock::time_point deadline)
{
    std::unique_lock<std::mutex> lock(_mutex);
    auto inFlight = [&] {
        auto it = _entries.find(id);
        return it != _entries.end() && it->second.data && it->second.token != 0;
    };
    if (_active.load(std::memory_order_relaxed) && inFlight())
    {
        ++_waits;
        int& waiting = _waiting[id];
        ++waiting;
        while (_active.load(std::memory_order_relaxed) && inFlight())
            if (_settled.wait_until(lock, deadline) == std::cv_status::timeout) break;
        if (--waiting == 0) _waiting.erase(id); // a rehash keeps references valid
    }
    if (!_active.load(std::memory_order_relaxed)) return nullptr;
    auto it = _entries.find(id);
    if (it == _entries.end() || !it->second.data || !it->second.tracked)
    {
        ++_misses;
        return nullptr;
    }
    ++_hits;
    return it->second.data;
}

NearCache::DataPtr NearCache::beginWrite(const std::string& id, Ticket& ticket, std::int64_t& indexedAtMs)
{
    std::lock_guard<std::mutex> lock(_mutex);
    indexedAtMs = 0;
    if (!_active.load(std::memory_order_relaxed)) return nullptr;
    auto it = _entries.find(id);
    if (it == _entries.end() || !it->second.data) return nullptr;
    indexedAtMs = it->second.indexedAtMs;
    it->second.token = ++_tokens;
    ticket = Ticket{id, it->second.token, _epoch};
    return it->second.data;
}

NearCache::Ticket NearCache::begin(const std::string& id)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (!_active.load(std::memory_order_relaxed) || _capacity == 0) return {};
    auto it = _entries.find(id);
    if (it == _entries.end())
    {
        if (_entries.size() >= _capacity)
        {
            // Whoever waits on the evicted one must not wait for its deadline.
            const std::string evicted = _entries.begin()->first;
            _entries.erase(_entries.begin());
            settledLocked(evicted);
        }
        it = _entries.emplace(id, Entry{}).first;
    }
    it->second.token = ++_tokens;
    return Ticket{id, it->second.token, _epoch};
}

void NearCache::complete(const Ticket& ticket, DataPtr data, std::int64_t indexedAtMs, bool tracked)
{
    if (ticket.token == 0) return;
    std::lock_guard<std::mutex> lock(_mutex);
    if (ticket.epoch != _epoch) return;
    auto it = _entries.find(ticket.id);
    if (it == _entries.end() || it->second.token != ticket.token) return;
    settledLocked(ticket.id);
    if (!data)
    {
        _entries.erase(it);
        return;
    }
    it->second.data = std::move(data);
    it->second.token = 0;
    it->second.indexedAtMs = indexedAtMs;
    it->second.tracked = tracked;
}

void NearCache::abandon(const Ticket& ticket)
{
    if (ticket.token == 0) return;
    std::lock_guard<std::mutex> lock(_mutex);
    if (ticket.epoch != _epoch) return;
    auto it = _entries.find(ticket.id);
    // A newer call on the id owns the entry now; but what this one did is
    // unknown (a timed-out write may have happened), so the data goes too.
    if (it != _entries.end())
    {
        _entries.erase(it);
        settledLocked(ticket.id);
    }
}

void NearCache::invalidate(const std::string& id)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_entries.erase(id) > 0)
    {
        ++_invalidations;
        settledLocked(id);
    }
}

void NearCache::settledLocked(const std::string& id)
{
    if (!_waiting.empty() && _waiting.count(id)) _settled.notify_all();
}

void NearCache::clearLocked()
{
    ++_epoch;
    _entries.clear();
    _settled.notify_all();
}

void NearCache::clear()
{
    std::lock_guard<std::mutex> lock(_mutex);
    clearLocked();
}

void NearCache::reset()
{
    std::lock_guard<std::mutex> lock(_mutex);
    clearLocked();
    ++_resets;
    _active.store(false, std::memory_order_release);
}

std::uint64_t NearCache::epoch() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _epoch;
}

bool NearCache::activate(std::uint64_t epoch)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (epoch != _epoch || _capacity == 0) return false;
    _active.store(true, std::memory_order_release);
    return true;
}

NearCache::Stats NearCache::stats() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return Stats{_hits, _misses, _invalidations, _resets, _waits, _entries.size(), _active.load(std::memory_order_relaxed)};
}

} // namespace mt::redis
