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

// Shared tail: TTL (MT_REDIS_RETTL) and index (MT_REDIS_REINDEX, both)
// follow the stored access time and interval. ARGV[1] id, graceMs in `grace`.
#define MT_REDIS_RETTL                                                                \
    "local m = tonumber(redis.call('HGET', KEYS[1], 'maxInactive') or '0')\n"         \
    "local a = tonumber(redis.call('HGET', KEYS[1], 'accessed') or '0')\n"            \
    "if m > 0 then\n"                                                                 \
    "  local left = a + m * 1000 - now\n"                                             \
    "  if left < 1 then left = 1 end\n"                                               \
    "  redis.call('PEXPIRE', KEYS[1], left + grace)\n"                                \
    "else\n"                                                                          \
    "  redis.call('PERSIST', KEYS[1])\n"                                              \
    "end\n"
#define MT_REDIS_REINDEX                                                              \
    MT_REDIS_RETTL                                                                    \
    "if m > 0 then redis.call('ZADD', KEYS[2], a + m * 1000, ARGV[1])\n"              \
    "else redis.call('ZADD', KEYS[2], '+inf', ARGV[1]) end\n"

#define MT_REDIS_CREATE                                                                    \
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"                            \
    "local now = tonumber(ARGV[2])\n"                                                      \
    "local grace = tonumber(ARGV[3])\n"                                                    \
    "for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end\n"

/// KEYS: hash, index. ARGV: id, nowMs, graceMs, field, value, ... -> 1 created, 0 id taken.
inline const char* kCreate = MT_REDIS_CREATE MT_REDIS_REINDEX "return 1\n";

/// kCreate without KEYS[2], for a Redis Cluster migrating the slot, where
/// the new key and the index may be on two nodes: the index entry follows
/// in a call of its own (MigrationDetours::create).
inline const char* kCreateKey = MT_REDIS_CREATE MT_REDIS_RETTL "return 1\n";

// Sets `key` and `id` to where the session KEYS[1] / ARGV[1] is now, and
// `here` to whether it is anywhere: there, or where a failover moved it
// (kRename's forwarding entry, <base>:m:<id>, made here from KEYS[1] =
// <base>:s:<id>, undeclared: it is in the same slot, and declaring a key that
// is usually absent would make every call wait out a slot migration) — a
// chain when it moved on again, a cycle when it came back to a route and was
// removed since: both bounded. A record is a hash with `created`: a partial
// hash that a MULTI/EXEC block made on a session gone (CachedWrite.h),
// before its node deletes it, is none. Follows only if `when` (Lua) holds.
#define MT_REDIS_FOLLOW(when)                                                               \
    "local key, id = KEYS[1], ARGV[1]\n"                                                    \
    "local here = redis.call('HEXISTS', key, 'created') == 1\n"                             \
    "if not here and (" when ") then\n"                                                     \
    "  local base = string.sub(KEYS[1], 1, #KEYS[1] - #id - 2)\n"                           \
    "  local to = id\n"                                                                     \
    "  for hop = 1, 8 do\n"                                                                 \
    "    to = redis.call('GET', base .. 'm:' .. to)\n"                                      \
    "    if not to then break end\n"                                                        \
    "    if redis.call('HEXISTS', base .. 's:' .. to, 'created') == 1 then\n"               \
    "      key, id, here = base .. 's:' .. to, to, true\n"                                  \
    "      break\n"                                                                         \
    "    end\n"                                                                             \
    "  end\n"                                                                               \
    "end\n"

/// KEYS: hash, index. ARGV: id,
/// nowMs, graceMs, node, accessedMs, maxInactive ('' = unchanged),
/// baseVersion, nSet, wantRecord ('1': return the whole record), then nSet
/// (name, json) pairs, then removed names.
/// -> false if the session is gone, else {stale, version, vv[node], accessed,
/// [fields], [id]}: stale is 1 if someone wrote since baseVersion; the
/// record's fields after the write come back when asked for, or when stale
/// (the caller's copy is then out of date). A session another node took over
/// meanwhile (its hash gone, a forwarding entry left) gets the delta where it
/// went (MT_REDIS_FOLLOW): the fields and that id come back. It reads only the fields the delta
/// touches (one HMGET) and writes only those that change (one HSET, one
/// HDEL), so concurrent deltas to different attributes both survive and an
/// unchanged value is not a write: 5 Redis calls per save (one HEXISTS to
/// find the record), whatever the session holds.
inline const char* kSave =
    MT_REDIS_FOLLOW("true")
    "if not here then return false end\n"
    "local node, nset = ARGV[4], tonumber(ARGV[8])\n"
    "local vf = 'vv:' .. node\n"
    "local fields = {'version', 'accessed', 'maxInactive', vf}\n"
    "for i = 10, #ARGV do\n"
    "  if i < 10 + 2 * nset then\n"
    "    if (i - 10) % 2 == 0 then fields[#fields + 1] = 'a:' .. ARGV[i] end\n"
    "  else fields[#fields + 1] = 'a:' .. ARGV[i] end\n"
    "end\n"
    // unpack() is bounded by Lua's C stack: read and write in slices of 1000.
    "local cur = {}\n"
    "for s = 1, #fields, 1000 do\n"
    "  local part = redis.call('HMGET', key, unpack(fields, s, math.min(s + 999, #fields)))\n"
    "  for k = 1, #part do cur[s + k - 1] = part[k] end\n"
    "end\n"
    "local v = tonumber(cur[1] or '0')\n"
    "local a = tonumber(cur[2] or '0')\n"
    "local m = cur[3]\n"
    "local vn = tonumber(cur[4] or '0')\n"
    "local now = tonumber(ARGV[2])\n"
    "local grace = tonumber(ARGV[3])\n"
    "local set, del, changed = {}, {}, false\n"
    "if ARGV[6] ~= '' and m ~= ARGV[6] then set[#set + 1] = 'maxInactive'; set[#set + 1] = ARGV[6]; m = ARGV[6]; changed = true end\n"
    "for k = 1, nset do\n"
    "  local value = ARGV[10 + 2 * k - 1]\n"
    "  if cur[4 + k] ~= value then set[#set + 1] = fields[4 + k]; set[#set + 1] = value; changed = true end\n"
    "end\n"
    "for k = 5 + nset, #fields do\n"
    "  if cur[k] then del[#del + 1] = fields[k]; changed = true end\n"
    "end\n"
    "if tonumber(ARGV[5]) > a then a = tonumber(ARGV[5]); set[#set + 1] = 'accessed'; set[#set + 1] = ARGV[5] end\n"
    // Stale even when it changes nothing: a lost increment writes the value
    // that is already there, and staleWrites is how an operator sees those.
    "local stale = 0\n"
    "if v ~= tonumber(ARGV[7]) then stale = 1 end\n"
    "if changed then\n"
    "  v = v + 1\n"
    "  vn = vn + 1\n"
    "  set[#set + 1] = 'version'; set[#set + 1] = string.format('%d', v)\n"
    "  set[#set + 1] = vf; set[#set + 1] = string.format('%d', vn)\n"
    "end\n"
    "for s = 1, #del, 1000 do redis.call('HDEL', key, unpack(del, s, math.min(s + 999, #del))) end\n"
    "for s = 1, #set, 1000 do redis.call('HSET', key, unpack(set, s, math.min(s + 999, #set))) end\n"
    "m = tonumber(m or '0')\n"
    "if m > 0 then\n"
    "  local left = a + m * 1000 - now\n"
    "  if left < 1 then left = 1 end\n"
    "  redis.call('PEXPIRE', key, left + grace)\n"
    "  redis.call('ZADD', KEYS[2], a + m * 1000, id)\n"
    "else\n"
    "  redis.call('PERSIST', key)\n"
    "  redis.call('ZADD', KEYS[2], '+inf', id)\n"
    "end\n"
    "local out = {stale, v, vn, a}\n"
    "if stale == 1 or ARGV[9] == '1' or id ~= ARGV[1] then out[5] = redis.call('HGETALL', key) end\n"
    "if id ~= ARGV[1] then out[6] = id end\n"
    "return out\n";

#define MT_REDIS_TOUCH                                                                              \
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"                                     \
    "local now = tonumber(ARGV[2])\n"                                                               \
    "local grace = tonumber(ARGV[3])\n"                                                             \
    "if tonumber(ARGV[4]) > tonumber(redis.call('HGET', KEYS[1], 'accessed') or '0') then\n"       \
    "  redis.call('HSET', KEYS[1], 'accessed', ARGV[4])\n"                                          \
    "end\n"

/// KEYS: hash, index. ARGV: id, nowMs, graceMs, accessedMs -> 1, or 0 if gone.
inline const char* kTouch = MT_REDIS_TOUCH MT_REDIS_REINDEX "return 1\n";

/// kTouch without KEYS[2], for a Redis Cluster: the index entry stays early,
/// as after the write block there (CachedWrite.h, keyOnly), so
/// a slot migration that puts the session's key and the index on two nodes
/// does not stop it.
inline const char* kTouchKey = MT_REDIS_TOUCH MT_REDIS_RETTL "return 1\n";

#define MT_REDIS_REMOVE_KEY                                          \
    "local fields = redis.call('HGETALL', KEYS[1])\n"               \
    "if #fields > 0 then redis.call('DEL', KEYS[1]) end\n"

/// KEYS: hash, index. ARGV: id, follow ('1': follow a failover's move,
/// MT_REDIS_FOLLOW) -> {the id removed, its hash's fields} (fields empty if
/// it was not there). An invalidation (a logout) in flight under an id a
/// failover moved must not leave the session alive under the new one; the
/// removal of a session found expired must not follow (another node may
/// have taken it over because it was not).
inline const char* kRemove =
    MT_REDIS_FOLLOW("ARGV[2] == '1'")
    "local fields = redis.call('HGETALL', key)\n"
    "if #fields > 0 then redis.call('DEL', key) end\n"
    "redis.call('ZREM', KEYS[2], id)\n"
    "return {id, fields}\n";

/// kRemove without KEYS[2], for a Redis Cluster migrating the slot: the
/// index entry goes in a call of its own (MigrationDetours::remove).
inline const char* kRemoveKey = MT_REDIS_REMOVE_KEY "return fields\n";

/// For a rename while a Redis Cluster migrates the slot
/// (MigrationDetours::rename), which copies the record: KEYS: hash -> {time
/// to live in ms (-1: none, -2: gone), its fields}.
inline const char* kReadForCopy = "return {redis.call('PTTL', KEYS[1]), redis.call('HGETALL', KEYS[1])}\n";

/// KEYS: new hash. ARGV: time to live in ms (-1: none), then field, value,
/// ... -> 1 made, 0 the id is taken.
inline const char* kCreateCopy =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
    "for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end\n"
    "if tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end\n"
    "return 1\n";

/// KEYS: hash. ARGV: its `version` as copied ('' when it had none) -> 1
/// deleted, 0 written since (every write of data moves `version`), -1 gone.
inline const char* kDeleteUnchanged =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n"
    "if (redis.call('HGET', KEYS[1], 'version') or '') ~= ARGV[1] then return 0 end\n"
    "redis.call('DEL', KEYS[1])\n"
    "return 1\n";

/// KEYS: old hash, new hash, index, forwarding entry of the old id. ARGV:
/// oldId, newId, forward ('1': leave the entry, for a failover's move; '':
/// a new id, which follows a move, MT_REDIS_FOLLOW), its longest life (ms)
/// -> the id moved from, false if the session is gone or the new id taken.
/// RENAME keeps the TTL; the index entry moves with its score (one that had
/// none gets its expiry from the record: +inf would outlive the TTL). The
/// forwarding entry (old id -> new id, for as long as the session or that
/// life, whichever ends first) is for a failover, which moves a session to
/// another node's route: a request that read it under the old id, in flight
/// on another node, saves its changes to where it went (kSave) instead of
/// losing them. A new id (session fixation defence) leaves none: a request
/// under the old id must not write to it. It follows: the request changing
/// the id holds the session, wherever a failover moved it meanwhile. A
/// failover's move does not: its caller looks again (SessionScope).
inline const char* kRename =
    MT_REDIS_FOLLOW("ARGV[3] ~= '1'")
    "if not here or redis.call('EXISTS', KEYS[2]) == 1 then return false end\n"
    "redis.call('RENAME', key, KEYS[2])\n"
    "local score = redis.call('ZSCORE', KEYS[3], id)\n"
    "if not score then\n"
    "  local f = redis.call('HMGET', KEYS[2], 'accessed', 'maxInactive')\n"
    "  local a, m = tonumber(f[1]), tonumber(f[2])\n"
    "  if a and m and m > 0 then score = string.format('%d', a + m * 1000) else score = '+inf' end\n"
    "end\n"
    "redis.call('ZREM', KEYS[3], id)\n"
    "redis.call('ZADD', KEYS[3], score, ARGV[2])\n"
    "if ARGV[3] == '1' then\n"
    "  local life = redis.call('PTTL', KEYS[2])\n"
    "  if life < 1 or life > tonumber(ARGV[4]) then life = tonumber(ARGV[4]) end\n"
    "  redis.call('SET', KEYS[4], ARGV[2], 'PX', life)\n"
    "end\n"
    "return id\n";

/// KEYS: index, claims, reclaims. ARGV: nowMs, limit, hash key prefix, claim
/// key prefix, reclaim cutoff (ms), claim TTL (ms), most reclaims, most
/// fields re-read -> {id, fields, id, fields, ...}:
/// the sessions expired at now, each claimed by one caller cluster-wide:
/// removed from the index, its hash renamed to a claim key, its id put in
/// the claims set. The caller releases the claims (kReleaseClaims) once the
/// destroyed listeners ran; a claim still there at the cutoff (its reply was
/// lost, or its node died first) is returned again, to whoever sweeps next,
/// so that no expired session ends without its listeners. A claim taken
/// again that many times (`reclaims` counts), or too big to re-read (a
/// session whose reading outlasts every reply's timeout would time out the
/// claims re-read with it too), is returned without its data instead, and
/// dropped: its listeners run once, as for a session Redis' TTL dropped.
/// The first write is a ZREM, which Redis allows when out of memory (and
/// then the rest of the script): a script whose first write is refused
/// (ZADD, HINCRBY) fails whole, and the sweep with it, exactly when lost
/// replies leave claims to re-take — or, for an entry to move, every sweep
/// after it, since that entry stays first in the index.
/// `fields` is empty when Redis' TTL already dropped the hash (the sweeper
/// was late by more than the grace), and the key's type (a string, not an
/// array) when something else wrote another kind of value there: that key is
/// left alone, its id only dropped from the index, so that it cannot fail
/// every sweep after it.
/// An entry older than its session's last access is not claimed but
/// moved: the store's write path refreshes the index only once per
/// touchFraction of the interval, and in a Redis Cluster only moves it
/// earlier, when the interval changes (see CachedWrite.h).
/// Every hash is read before anything is written: in a cluster whose slot is
/// being migrated, reading one the node has handed over already fails the
/// script, which must then have changed nothing.
inline const char* kExpire =
    "local now = tonumber(ARGV[1])\n"
    "local again = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[5], 'LIMIT', 0, tonumber(ARGV[2]))\n"
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))\n"
    "local reread, tries = {}, {}\n"
    "for i, id in ipairs(again) do\n"
    "  tries[i] = tonumber(redis.call('HGET', KEYS[3], id) or '0')\n"
    "  reread[i] = {}\n"
    "  local size = redis.pcall('HLEN', ARGV[4] .. id)\n"
    "  if type(size) == 'number' and size > tonumber(ARGV[8]) then tries[i] = tonumber(ARGV[7]) end\n"
    "  if tries[i] < tonumber(ARGV[7]) then\n"
    "    reread[i] = redis.pcall('HGETALL', ARGV[4] .. id)\n"
    "    if reread[i].err then\n"
    "      if string.sub(reread[i].err, 1, 9) ~= 'WRONGTYPE' then return reread[i] end\n"
    "      reread[i] = {}\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local read = {}\n"
    "for i, id in ipairs(ids) do\n"
    "  read[i] = redis.pcall('HGETALL', ARGV[3] .. id)\n"
    "  if read[i].err then\n"
    "    if string.sub(read[i].err, 1, 9) ~= 'WRONGTYPE' then return read[i] end\n"
    "    read[i] = redis.call('TYPE', ARGV[3] .. id).ok\n"
    "  end\n"
    "end\n"
    "local out = {}\n"
    "for i, id in ipairs(again) do\n"
    "  redis.call('ZREM', KEYS[2], id)\n"
    "  if tries[i] < tonumber(ARGV[7]) then\n"
    "    redis.call('ZADD', KEYS[2], now, id)\n"
    "    redis.call('HINCRBY', KEYS[3], id, 1)\n"
    "    if #reread[i] > 0 then redis.call('PEXPIRE', ARGV[4] .. id, ARGV[6]) end\n"
    "  else\n"
    "    redis.call('HDEL', KEYS[3], id)\n"
    "    redis.call('UNLINK', ARGV[4] .. id)\n"
    "  end\n"
    "  out[#out + 1] = id\n"
    "  out[#out + 1] = reread[i]\n"
    "end\n"
    "for i, id in ipairs(ids) do\n"
    "  local key = ARGV[3] .. id\n"
    "  local claimed = read[i]\n"
    "  local fields = claimed\n"
    "  if type(claimed) == 'string' then fields = {} end\n"
    "  local a, m\n"
    "  for i = 1, #fields - 1, 2 do\n"
    "    if fields[i] == 'accessed' then a = tonumber(fields[i + 1])\n"
    "    elseif fields[i] == 'maxInactive' then m = tonumber(fields[i + 1]) end\n"
    "  end\n"
    "  redis.call('ZREM', KEYS[1], id)\n"
    "  if m and m <= 0 then\n"
    "    redis.call('ZADD', KEYS[1], '+inf', id)\n"
    "  elseif m and a and a + m * 1000 > now then\n"
    "    redis.call('ZADD', KEYS[1], a + m * 1000, id)\n"
    "  else\n"
    "    if type(claimed) ~= 'string' then\n"
    "      if #fields > 0 then\n"
    "        redis.call('RENAME', key, ARGV[4] .. id)\n"
    "        redis.call('PEXPIRE', ARGV[4] .. id, ARGV[6])\n"
    "      end\n"
    "      redis.call('ZADD', KEYS[2], now, id)\n"
    "    end\n"
    "    out[#out + 1] = id\n"
    "    out[#out + 1] = claimed\n"
    "  end\n"
    "end\n"
    "return out\n";

/// KEYS: claims, reclaims. ARGV: claim key prefix, id, id, ... -> how many:
/// the destroyed listeners of these claimed sessions ran; their claims go.
inline const char* kReleaseClaims =
    "for i = 2, #ARGV do\n"
    "  redis.call('ZREM', KEYS[1], ARGV[i])\n"
    "  redis.call('HDEL', KEYS[2], ARGV[i])\n"
    "  redis.call('DEL', ARGV[1] .. ARGV[i])\n"
    "end\n"
    "return #ARGV - 1\n";

#undef MT_REDIS_CREATE
#undef MT_REDIS_REMOVE_KEY
#undef MT_REDIS_TOUCH
#undef MT_REDIS_REINDEX
#undef MT_REDIS_RETTL
#undef MT_REDIS_FOLLOW

} // namespace mt::redis::scripts
