#pragma once
// Redis Sentinel as its clients use it (redis.io, "Sentinel client spec"):
// before every connection, ask the sentinels in turn where the master named
// by store.redis.sentinelMaster is; openStream() connects there and checks
// that it is the master (HELLO's role), because a sentinel may not have
// caught up with a failover yet. A failover is then followed at the next
// connection: Sentinel closes the clients of a master it demotes, the
// pipeline reconnects on a READONLY reply too (a master made a replica
// behind Sentinel's back), and SentinelWatch moves it as soon as a sentinel
// announces the new master.

#include "AskOrder.h"
#include "MasterLocator.h"

#include <optional>
#include <vector>

namespace mt::redis {

/// The master's address in an answer to SENTINEL GET-MASTER-ADDR-BY-NAME
/// `master`; throws RedisSocketError saying what was wrong with it.
Endpoint masterAddressIn(const Reply& reply, const std::string& master);

/// A sentinel's answer to where the master is, and to the command sent after.
struct SentinelAnswer
{
    Endpoint master;
    Reply then;
};

/// On a connection to a sentinel: logs in (when the settings give a
/// sentinel password), asks where the master is, then sends `then`, all in
/// one round trip. Throws RedisSocketError when the login or the answer fails.
SentinelAnswer askSentinel(RedisStream& stream, RespParser& parser, const RedisSettings& settings,
                           std::vector<std::string> then, Deadline deadline);

/// The new master in a +switch-master message's payload ("<name> <old ip>
/// <old port> <new ip> <new port>"), or none when it is about another
/// master than `master`; throws RedisSocketError when it is malformed.
std::optional<Endpoint> switchedMasterIn(const std::string& payload, const std::string& master);

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
    /// The sentinels, in the order the next connection asks them.
    std::vector<Endpoint> sentinels() const { return _order.order(); }
    /// `sentinel` announced a failover: the next connection asks it first,
    /// as the others may not have heard of the new master yet.
    void announced(const Endpoint& sentinel) { _order.prefer(sentinel); }

private:
    Endpoint askOne(const Endpoint& sentinel, Deadline deadline);

    const RedisSettings _settings;
    AskOrder _order;
};

} // namespace mt::redis
