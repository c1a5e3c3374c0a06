#pragma once
// Redis Sentinel as its clients use it (redis.io, "Sentinel client spec"):
// before every connection, ask the sentinels in turn where the master named
// by store.redis.sentinelMaster is; openStream() connects there and checks
// that it is the master (HELLO's role), because a sentinel may not have
// caught up with a failover yet. A failover is then followed at the next
// connection: Sentinel closes the clients of a master it demotes, and the
// pipeline reconnects on a READONLY reply too (a master made a replica
// behind Sentinel's back).

#include "AskOrder.h"
#include "MasterLocator.h"

namespace mt::redis {

/// Asks the sentinels in AskOrder's order, each with an equal share of the
/// time left, so one that hangs does not use up the deadline of the ones
/// after it; each answer also lists the other sentinels (SENTINEL SENTINELS,
/// in the same round trip), those not down. Thread-safe.
class SentinelList : public MasterLocator
{
public:
    SentinelList(RedisSettings settings, Poco::Logger& logger);

    Endpoint locate(Deadline deadline) override;
    /// The sentinels in the order the next connection asks them.
    std::string text() const override { return _order.text(); }
    std::string master() const override { return "master '" + _settings.sentinelMaster + "'"; }

private:
    Endpoint askOne(const Endpoint& sentinel, Deadline deadline);

    const RedisSettings _settings;
    AskOrder _order;
};

} // namespace mt::redis
