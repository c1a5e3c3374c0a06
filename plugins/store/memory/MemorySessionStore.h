#pragma once
// Sessions in this process's memory: the embedded default store.
//
// Layout: N shards (default 16), each a mutex and a hash map of
// id -> shared_ptr<const SessionData>. Records are immutable once published,
// so load() hands out the stored pointer without copying; every change
// (save, touch, rename) builds a new record under the shard's lock and swaps
// it in (copy-on-write). Two requests saving different attributes of one
// session are therefore serialised on the shard lock and both survive.
//
// Thread-safety: every method may be called from any thread. Each call is
// atomic with respect to the others on the same id (one shard lock; rename
// takes both shards' locks in a deadlock-free order). count() is a single
// atomic read. expire() removes a session under the same lock that found it
// expired, so each expired session is returned by exactly one call.
//
// Config keys: `shards` (1..4096, default 16).

#include "mt/SessionStoreAdapter.h"

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace mt {

class MemorySessionStore : public SessionStoreAdapter
{
public:
    static constexpr std::size_t kDefaultShards = 16;
    static constexpr std::size_t kMaxShards = 4096;

    /// Throws mt::PluginConfigError for a bad `shards` value.
    explicit MemorySessionStore(const PluginContext& context);
    explicit MemorySessionStore(std::size_t shards = kDefaultShards);
    ~MemorySessionStore() override;

    DataPtr load(const std::string& id) override;
    bool create(const SessionData& data) override;
    DataPtr save(const SessionDelta& delta) override;
    bool touch(const std::string& id, TimeMs lastAccessedTime) override;
    DataPtr remove(const std::string& id) override;
    bool rename(const std::string& oldId, const std::string& newId) override;
    std::vector<std::string> list() override;
    std::size_t count() override;
    std::vector<SessionData> expire(TimeMs now, std::size_t limit) override;

private:
    struct Shard
    {
        std::mutex mutex;
        std::unordered_map<std::string, DataPtr> sessions;
    };

    Shard& shardFor(const std::string& id);

    std::vector<std::unique_ptr<Shard>> _shards;
    std::atomic<std::size_t> _count{0};
    std::atomic<std::size_t> _nextExpireShard{0}; // spreads partial sweeps over all shards
};

} // namespace mt
