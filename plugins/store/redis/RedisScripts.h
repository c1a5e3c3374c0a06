#pragma once
// The store's Lua scripts. Each runs atomically inside Redis, so a session's
// hash and the context's expiry index never disagree, and of several nodes
// racing for one record (remove, expire) exactly one gets it.
//
// Layout (see RedisSessionStore.h): KEYS are the session hash and the expiry
// index (a ZSET of id -> expiry time in ms, +inf for sessions that never
// expire). Times are ms since the epoch: 13 digits, exact in Lua's doubles
// and printed in full by its "%.14g" number format.

namespace mt::redis::scripts {

// Shared tail: TTL and index follow the stored access time and interval.
// ARGV[1] id, graceMs in `grace`.
#define MT_REDIS_REINDEX                                                              \
    "local m = tonumber(redis.call('HGET', KEYS[1], 'maxInactive') or '0')\n"         \
    "local a = tonumber(redis.call('HGET', KEYS[1], 'accessed') or '0')\n"            \
    "if m > 0 then\n"                                                                 \
    "  local left = a + m * 1000 - now\n"                                             \
    "  if left < 1 then left = 1 end\n"                                               \
    "  redis.call('PEXPIRE', KEYS[1], left + grace)\n"                                \
    "  redis.call('ZADD', KEYS[2], a + m * 1000, ARGV[1])\n"                          \
    "else\n"                                                                          \
    "  redis.call('PERSIST', KEYS[1])\n"                                              \
    "  redis.call('ZADD', KEYS[2], '+inf', ARGV[1])\n"                                \
    "end\n"

/// KEYS: hash, index. ARGV: id, nowMs, graceMs, field, value, ... -> 1 created, 0 id taken.
inline const char* kCreate =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
    "local now = tonumber(ARGV[2])\n"
    "local grace = tonumber(ARGV[3])\n"
    "for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end\n"
    MT_REDIS_REINDEX
    "return 1\n";

/// KEYS: hash, index. ARGV: id, nowMs, graceMs, node, accessedMs, maxInactive ('' = unchanged),
/// baseVersion, nSet, then nSet (name, json) pairs, then removed names.
/// -> false if the session is gone, else {stale (1 if someone wrote since
/// baseVersion), the record's fields after the write}. Only fields the delta
/// changes are written (one HSET, one HDEL), so concurrent deltas to different
/// attributes both survive. It reads the hash once and works on a Lua table:
/// 4 Redis calls per save, whatever the session holds.
inline const char* kSave =
    "local flat = redis.call('HGETALL', KEYS[1])\n"
    "if #flat == 0 then return false end\n"
    "local h = {}\n"
    "for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end\n"
    "local now = tonumber(ARGV[2])\n"
    "local grace = tonumber(ARGV[3])\n"
    "local set, del, changed = {}, {}, false\n"
    "local function put(f, v) h[f] = v; set[#set + 1] = f; set[#set + 1] = v end\n"
    "if ARGV[6] ~= '' and h['maxInactive'] ~= ARGV[6] then put('maxInactive', ARGV[6]); changed = true end\n"
    "local i = 9\n"
    "for k = 1, tonumber(ARGV[8]) do\n"
    "  local f = 'a:' .. ARGV[i]\n"
    "  if h[f] ~= ARGV[i + 1] then put(f, ARGV[i + 1]); changed = true end\n"
    "  i = i + 2\n"
    "end\n"
    "while i <= #ARGV do\n"
    "  local f = 'a:' .. ARGV[i]\n"
    "  if h[f] then h[f] = nil; del[#del + 1] = f; changed = true end\n"
    "  i = i + 1\n"
    "end\n"
    "local a = tonumber(h['accessed'] or '0')\n"
    "if tonumber(ARGV[5]) > a then a = tonumber(ARGV[5]); put('accessed', ARGV[5]) end\n"
    "local stale = 0\n"
    "if changed then\n"
    "  local v = tonumber(h['version'] or '0')\n"
    "  if v ~= tonumber(ARGV[7]) then stale = 1 end\n"
    "  put('version', string.format('%d', v + 1))\n"
    "  local vf = 'vv:' .. ARGV[4]\n"
    "  put(vf, string.format('%d', tonumber(h[vf] or '0') + 1))\n"
    "end\n"
    // unpack() is bounded by Lua's C stack: write in slices of 1000 arguments.
    "for s = 1, #del, 1000 do redis.call('HDEL', KEYS[1], unpack(del, s, math.min(s + 999, #del))) end\n"
    "for s = 1, #set, 1000 do redis.call('HSET', KEYS[1], unpack(set, s, math.min(s + 999, #set))) end\n"
    "local m = tonumber(h['maxInactive'] or '0')\n"
    "if m > 0 then\n"
    "  local left = a + m * 1000 - now\n"
    "  if left < 1 then left = 1 end\n"
    "  redis.call('PEXPIRE', KEYS[1], left + grace)\n"
    "  redis.call('ZADD', KEYS[2], a + m * 1000, ARGV[1])\n"
    "else\n"
    "  redis.call('PERSIST', KEYS[1])\n"
    "  redis.call('ZADD', KEYS[2], '+inf', ARGV[1])\n"
    "end\n"
    "local out = {}\n"
    "for f, v in pairs(h) do out[#out + 1] = f; out[#out + 1] = v end\n"
    "return {stale, out}\n";

/// KEYS: hash, index. ARGV: id, nowMs, graceMs, accessedMs -> 1, or 0 if gone.
inline const char* kTouch =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "local now = tonumber(ARGV[2])\n"
    "local grace = tonumber(ARGV[3])\n"
    "if tonumber(ARGV[4]) > tonumber(redis.call('HGET', KEYS[1], 'accessed') or '0') then\n"
    "  redis.call('HSET', KEYS[1], 'accessed', ARGV[4])\n"
    "end\n"
    MT_REDIS_REINDEX
    "return 1\n";

/// KEYS: hash, index. ARGV: id -> the removed hash's fields (empty if it was not there).
inline const char* kRemove =
    "local fields = redis.call('HGETALL', KEYS[1])\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "if #fields > 0 then redis.call('DEL', KEYS[1]) end\n"
    "return fields\n";

/// KEYS: old hash, new hash, index. ARGV: oldId, newId -> 1 moved, 0 old gone or new taken.
/// RENAME keeps the TTL; the index entry moves with its score.
inline const char* kRename =
    "if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end\n"
    "redis.call('RENAME', KEYS[1], KEYS[2])\n"
    "local score = redis.call('ZSCORE', KEYS[3], ARGV[1])\n"
    "redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "redis.call('ZADD', KEYS[3], score or '+inf', ARGV[2])\n"
    "return 1\n";

/// KEYS: index. ARGV: nowMs, limit, hash key prefix -> {id, fields, id, fields, ...}:
/// the sessions expired at now, each claimed (removed from the index and its
/// hash deleted) by exactly one caller cluster-wide. `fields` is empty when
/// Redis' TTL already dropped the hash (the sweeper was late by more than the grace).
inline const char* kExpire =
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))\n"
    "local out = {}\n"
    "for _, id in ipairs(ids) do\n"
    "  redis.call('ZREM', KEYS[1], id)\n"
    "  local key = ARGV[3] .. id\n"
    "  local fields = redis.call('HGETALL', key)\n"
    "  if #fields > 0 then redis.call('DEL', key) end\n"
    "  out[#out + 1] = id\n"
    "  out[#out + 1] = fields\n"
    "end\n"
    "return out\n";

#undef MT_REDIS_REINDEX

} // namespace mt::redis::scripts
