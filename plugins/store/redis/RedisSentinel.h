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

#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace Poco {
class Logger;
}

namespace mt::redis {

/// The sentinels one store asks, in the order it asks them, as the client
/// spec recommends: the one that answered last first, so that a sentinel
/// that hangs costs its share of a deadline once, not at every reconnection;
/// then the others; among them those the sentinels listed (SENTINEL
/// SENTINELS) that the configuration lacks, so that sentinels added or
/// replaced since it was written are found. Configured sentinels are never
/// dropped; learnt ones are replaced by each answer that lists the others,
/// and kept when a sentinel will not list them. At most kMaxSentinels.
///
/// Thread-safety: every method from any thread (the store's connection and
/// its invalidation subscriber ask at the same time).
class SentinelList
{
public:
    SentinelList(std::vector<Endpoint> configured, std::string master, Poco::Logger& logger);

    /// The order the next connection asks them in.
    std::vector<Endpoint> order() const;
    /// "host:port,..." in that order, for the MBean.
    std::string text() const;
    /// `sentinel` named the master. `others`: the other sentinels it knows of
    /// that are up; empty optional when it would not list them (`why`).
    void answered(const Endpoint& sentinel, const std::optional<std::vector<Endpoint>>& others, const std::string& why);

private:
    bool configured(const Endpoint& sentinel) const;

    const std::vector<Endpoint> _configured;
    const std::string _master;
    Poco::Logger& _logger;
    mutable std::mutex _mutex;
    std::vector<Endpoint> _order;
    bool _listRefused = false; // logged once until a sentinel lists the others again
};

/// The master's address according to the first sentinel in `sentinels`'
/// order that knows it; each sentinel gets an equal share of the time left,
/// so one that hangs does not use up the deadline of the ones after it.
/// Tells `sentinels` which one answered and the others it listed. Throws
/// RedisSocketError naming what every sentinel said.
Endpoint askSentinels(const RedisSettings& settings, SentinelList& sentinels, Deadline deadline);

} // namespace mt::redis
