#pragma once
// What the tests of the store against a real Redis share: a session as the
// counter app keeps it, a write of its count from one node, a count read or
// written through a store, and the message of a store call that fails.

#include "mt/SessionData.h"
#include "mt/SessionStoreAdapter.h"

#include <cstdint>
#include <string>

namespace mt::redis::test {

inline constexpr TimeMs kNow = 1700000000000;

/// A new session, made at kNow, 30 minutes' max inactive interval.
inline SessionData session(const std::string& id)
{
    SessionData d;
    d.id = id;
    d.creationTime = kNow;
    d.lastAccessedTime = kNow;
    d.maxInactiveInterval = 1800;
    return d;
}

/// `node` sets the session's count to `count`, on top of version `base`.
inline SessionDelta delta(const std::string& id, const std::string& node, std::uint64_t base, const std::string& count)
{
    SessionDelta d;
    d.id = id;
    d.node = node;
    d.lastAccessedTime = kNow + 10;
    d.baseVersion = base;
    d.setAttributes = {{"count", count}};
    return d;
}

/// The count a store reads for `id` ("" when it cannot), through its near cache.
inline std::string countOf(SessionStoreAdapter& store, const std::string& id)
{
    try
    {
        auto data = store.loadOwned(id);
        return data && data->attributes.count("count") ? data->attributes.at("count") : std::string();
    }
    catch (const StoreUnavailable&)
    {
        return {};
    }
}

/// One read-modify-write through the near cache; false when the store is
/// unavailable or the write lost.
inline bool count(SessionStoreAdapter& store, const std::string& id, const std::string& node, const std::string& value)
{
    try
    {
        auto data = store.loadOwned(id);
        return data && store.save(delta(id, node, data->version, value));
    }
    catch (const StoreUnavailable&)
    {
        return false;
    }
}

/// The StoreUnavailable's message of a failing call, or "no error".
template <typename Call>
std::string failureOf(Call call)
{
    try
    {
        call();
    }
    catch (const StoreUnavailable& e)
    {
        return e.what();
    }
    return "no error";
}

} // namespace mt::redis::test
