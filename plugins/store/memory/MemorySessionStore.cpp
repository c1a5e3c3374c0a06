#include "MemorySessionStore.h"

#include <functional>
#include <utility>

namespace mt {

namespace {

std::size_t shardsFrom(const PluginContext& context)
{
    const int shards = context.config().getInt("shards", int(MemorySessionStore::kDefaultShards));
    if (shards < 1 || std::size_t(shards) > MemorySessionStore::kMaxShards)
        throw PluginConfigError("store memory: shards=" + std::to_string(shards) + " is out of range; use 1.." +
                                std::to_string(MemorySessionStore::kMaxShards) + " (default 16)");
    return std::size_t(shards);
}

} // namespace

MemorySessionStore::MemorySessionStore(const PluginContext& context) : MemorySessionStore(shardsFrom(context))
{
}

MemorySessionStore::MemorySessionStore(std::size_t shards)
{
    if (shards < 1 || shards > kMaxShards) shards = kDefaultShards;
    _shards.reserve(shards);
    for (std::size_t i = 0; i < shards; ++i) _shards.push_back(std::make_unique<Shard>());
}

MemorySessionStore::~MemorySessionStore() = default;

MemorySessionStore::Shard& MemorySessionStore::shardFor(const std::string& id)
{
    return *_shards[std::hash<std::string>{}(id) % _shards.size()];
}

SessionStoreAdapter::DataPtr MemorySessionStore::load(const std::string& id)
{
    Shard& shard = shardFor(id);
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto it = shard.sessions.find(id);
    return it == shard.sessions.end() ? nullptr : it->second;
}

bool MemorySessionStore::create(const SessionData& data)
{
    auto record = std::make_shared<const SessionData>(data); // allocate outside the lock
    Shard& shard = shardFor(data.id);
    std::lock_guard<std::mutex> lock(shard.mutex);
    if (!shard.sessions.try_emplace(data.id, std::move(record)).second) return false;
    _count.fetch_add(1, std::memory_order_relaxed);
    return true;
}

SessionStoreAdapter::DataPtr MemorySessionStore::save(const SessionDelta& delta)
{
    Shard& shard = shardFor(delta.id);
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto it = shard.sessions.find(delta.id);
    if (it == shard.sessions.end()) return nullptr;
    // Copy-on-write under the lock: the delta is applied to the latest record,
    // so concurrent saves of different attributes compose instead of overwriting.
    auto next = std::make_shared<SessionData>(*it->second);
    delta.applyTo(*next);
    it->second = std::move(next);
    return it->second;
}

bool MemorySessionStore::touch(const std::string& id, TimeMs lastAccessedTime)
{
    Shard& shard = shardFor(id);
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto it = shard.sessions.find(id);
    if (it == shard.sessions.end()) return false;
    if (lastAccessedTime > it->second->lastAccessedTime)
    {
        auto next = std::make_shared<SessionData>(*it->second);
        next->lastAccessedTime = lastAccessedTime;
        it->second = std::move(next);
    }
    return true;
}

SessionStoreAdapter::DataPtr MemorySessionStore::remove(const std::string& id)
{
    Shard& shard = shardFor(id);
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto it = shard.sessions.find(id);
    if (it == shard.sessions.end()) return nullptr;
    DataPtr removed = std::move(it->second);
    shard.sessions.erase(it);
    _count.fetch_sub(1, std::memory_order_relaxed);
    return removed;
}

bool MemorySessionStore::rename(const std::string& oldId, const std::string& newId)
{
    if (oldId == newId) return false;
    Shard& from = shardFor(oldId);
    Shard& to = shardFor(newId);
    std::unique_lock<std::mutex> fromLock(from.mutex, std::defer_lock);
    std::unique_lock<std::mutex> toLock(to.mutex, std::defer_lock);
    if (&from == &to)
        fromLock.lock();
    else
        std::lock(fromLock, toLock);

    auto it = from.sessions.find(oldId);
    if (it == from.sessions.end() || to.sessions.count(newId) > 0) return false;
    auto next = std::make_shared<SessionData>(*it->second);
    next->id = newId;
    from.sessions.erase(it);
    to.sessions.emplace(newId, std::move(next));
    return true;
}

std::vector<std::string> MemorySessionStore::list()
{
    std::vector<std::string> ids;
    ids.reserve(count());
    for (auto& shard : _shards)
    {
        std::lock_guard<std::mutex> lock(shard->mutex);
        for (const auto& entry : shard->sessions) ids.push_back(entry.first);
    }
    return ids;
}

std::size_t MemorySessionStore::count()
{
    return _count.load(std::memory_order_relaxed);
}

std::vector<SessionData> MemorySessionStore::expire(TimeMs now, std::size_t limit)
{
    std::vector<SessionData> expired;
    // Start where the previous partial sweep stopped, so a small limit still
    // reaches every shard over successive calls.
    const std::size_t start = _nextExpireShard.load(std::memory_order_relaxed);
    for (std::size_t n = 0; n < _shards.size() && expired.size() < limit; ++n)
    {
        const std::size_t index = (start + n) % _shards.size();
        Shard& shard = *_shards[index];
        std::lock_guard<std::mutex> lock(shard.mutex);
        for (auto it = shard.sessions.begin(); it != shard.sessions.end();)
        {
            if (expired.size() >= limit)
            {
                _nextExpireShard.store(index, std::memory_order_relaxed);
                break;
            }
            if (it->second->isExpired(now))
            {
                expired.push_back(*it->second);
                it = shard.sessions.erase(it);
                _count.fetch_sub(1, std::memory_order_relaxed);
            }
            else
            {
                ++it;
            }
        }
    }
    return expired;
}

} // namespace mt
