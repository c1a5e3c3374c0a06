#pragma once
// A save of a session this node holds in its near cache (NearCache.h): one
// MULTI/EXEC block of plain commands, built without I/O and judged from its
// replies, so a read-modify-write request costs one round trip.
//
// Plain commands rather than the store's save script: Redis 7.0 reports a
// script's writes to the tracking client that ran it, NOLOOP or not (the
// script runs as its own client), so a script would invalidate this node's
// own entry after every write. The block cannot test, so it detects instead:
// its first command, HEXISTS of `created` (a field every record has and no
// block writes), says whether the session was there; if not, the block
// made a partial hash, for the caller to delete at once (and a second block
// in flight on it finds no `created` either). HINCRBY's new version says
// whether someone wrote since the base.
//
// TTL and expiry index (PEXPIRE, ZADD) are not written on every request but,
// like a read's touch, once per touchFraction of the interval: the TTL then
// gets that much margin beyond the interval, so the key outlives every access
// until the next refresh, and the expiry sweep checks `accessed` before it
// claims a session whose index entry is older than its last access
// (scripts::kExpire).
//
// Thread-safety: a value. outcome() sets `next`'s version and version vector:
// call it once, before `next` is shared.

#include "Resp.h"

#include "mt/SessionData.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mt::redis {

struct CachedWrite
{
    /// Where the session's keys are and how expiry is paced (from the store's settings).
    struct Layout
    {
        std::string sessionPrefix; ///< the hash key is this + id
        std::string indexKey;      ///< the expiry index (ZSET id -> expiry ms)
        double touchFraction = 0.1;
        int expiryGraceSeconds = 120;
        /// The block writes the session's key alone, never the index: the
        /// entry is then early, never late (accesses only move forward),
        /// which the sweep finds harmless — it checks `accessed` and moves
        /// the entry, once an interval. A new interval could make the entry
        /// late: `indexFirst` moves it earlier before the block. For a Redis
        /// Cluster: while it migrates the store's slot, the session's key and
        /// the index may be on two nodes, and a block with both is refused
        /// (TRYAGAIN) until they are not.
        bool keyOnly = false;
    };
    enum class Outcome { Saved, Gone, Stale };

    /// The block that applies `delta` to `base`, a record this node holds;
    /// `indexedAtMs`: when this node last wrote that session's TTL and index
    /// with the margin (0: not known, e.g. loaded or written by a script).
    static CachedWrite prepare(const SessionDelta& delta, const SessionData& base, std::int64_t indexedAtMs,
                               const Layout& layout);

    /// What the replies to `wire` say. Saved: `next` is what Redis now holds.
    /// Throws mt::StoreUnavailable for a failed transaction.
    Outcome outcome(const std::vector<Reply>& replies) const;

    std::string id, node;
    std::uint64_t baseVersion = 0;
    std::shared_ptr<SessionData> next; ///< the record after the write, if nobody else wrote
    std::int64_t indexedAtMs = 0;      ///< as given to prepare(), after this write
    std::string wire;                  ///< MULTI ... EXEC, encoded
    /// With Layout::keyOnly and a new interval: a command (ZADD XX LT, Redis
    /// 6.2+) that must succeed before `wire` is sent. It moves the index
    /// entry to the new expiry if that is earlier, so that a block without
    /// the index never leaves the entry late, whichever of the two fails.
    std::vector<std::string> indexFirst;
    std::vector<const char*> names;    ///< the commands, MULTI and EXEC included (for messages)
};

/// A session's score in the expiry index: when it expires (`accessedMs` plus
/// the interval), "+inf" for an interval of 0 or less (it never does).
std::string indexScore(std::int64_t accessedMs, std::int64_t maxInactiveSeconds);

} // namespace mt::redis
