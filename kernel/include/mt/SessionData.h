#pragma once
// The stored form of one session: what a SessionStoreAdapter keeps and what
// replication ships. Value types; not thread-safe.

#include "mt/Api.h"
#include "mt/VersionVector.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace mt {

/// Milliseconds since the Unix epoch.
using TimeMs = std::int64_t;

struct MT_API SessionData
{
    std::string id;
    TimeMs creationTime = 0;
    TimeMs lastAccessedTime = 0;
    int maxInactiveInterval = 1800; ///< seconds; <= 0 never expires
    std::uint64_t version = 0;      ///< bumped by every write that changes something
    VersionVector versionVector;    ///< writes per node
    std::map<std::string, std::string> attributes; ///< name -> JSON text

    bool isExpired(TimeMs now) const
    {
        return maxInactiveInterval > 0 && now - lastAccessedTime >= TimeMs(maxInactiveInterval) * 1000;
    }
};

/// What one request changed: only these fields are written to the store.
struct MT_API SessionDelta
{
    std::string id;
    std::string node;                               ///< writer; its version-vector counter is bumped
    TimeMs lastAccessedTime = 0;
    std::optional<int> maxInactiveInterval;
    std::map<std::string, std::string> setAttributes; ///< name -> JSON text
    std::set<std::string> removedAttributes;
    /// The version of the record the changes were made on, when known: a
    /// store may report a save whose base is no longer current (a concurrent
    /// write happened; different attributes still both survive).
    std::optional<std::uint64_t> baseVersion;

    /// True when applying it would change no attribute and no setting
    /// (only the access time): such a delta is a touch, not a write.
    bool changesData() const
    {
        return maxInactiveInterval.has_value() || !setAttributes.empty() || !removedAttributes.empty();
    }
    /// Applies this delta to `data`: attributes, settings, access time; when it
    /// changes data, also version + 1 and versionVector[node] + 1.
    void applyTo(SessionData& data) const;
};

} // namespace mt
