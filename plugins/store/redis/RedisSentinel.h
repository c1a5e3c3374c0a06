#pragma once
// Redis Sentinel as its clients use it (redis.io, "Sentinel client spec"):
// before every connection, ask the sentinels in turn where the master named
// by store.redis.sentinelMaster is; openStream() connects there and checks
// that it is the master (HELLO's role), because a sentinel may not have
// caught up with a failover yet. A failover is then followed at the next
// connection: Sentinel closes the clients of a master it demotes, and the
// pipeline reconnects on a READONLY reply too (a master made a replica
// behind Sentinel's back).

#include "RedisSettings.h"
#include "RedisSocket.h"

namespace mt::redis {

/// The master's address according to the first sentinel that knows it; each
/// sentinel gets an equal share of the time left, so one that hangs does not
/// use up the deadline of the ones after it. Throws RedisSocketError naming
/// what every sentinel said.
Endpoint askSentinels(const RedisSettings& settings, Deadline deadline);

} // namespace mt::redis
