#pragma once
// The order a store asks the instances that tell it where its master is
// (sentinels, cluster nodes), as Redis's client guidelines recommend: the one
// that answered last first, so that one that hangs costs its share of a
// deadline once, not at every reconnection; then the others; among them
// those an answer listed that the configuration lacks, so that instances
// added or replaced since it was written are found. Configured ones are never
// dropped; learnt ones are replaced by each answer that lists the others, and
// kept when one will not list them. At most kMaxEndpoints.
//
// Thread-safety: every method from any thread (a store's connection and its
// invalidation subscriber ask at the same time).

#include "RedisSettings.h"
#include "RedisSocket.h"

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace Poco {
class Logger;
}

namespace mt::redis {

class AskOrder
{
public:
    /// `what`: how log lines name them ("redis sentinels of master 'x'").
    AskOrder(std::vector<Endpoint> configured, std::string what, Poco::Logger& logger);

    /// The order the next connection asks them in.
    std::vector<Endpoint> order() const;
    /// "host:port,..." in that order.
    std::string text() const;
    /// `answering` answered. `others`: the others it knows of that are up;
    /// empty optional when it would not list them (`why`).
    void answered(const Endpoint& answering, const std::optional<std::vector<Endpoint>>& others, const std::string& why);
    /// Asks `first` first from now on, changing nothing else: it knows
    /// something the others may not yet (it announced a failover).
    void prefer(const Endpoint& first);
    /// `ask`s each in order until one answers, with an equal share of the
    /// time left each, so one that hangs does not use up the deadline of the
    /// ones after it. Throws RedisSocketError: `none` and what each said.
    Endpoint firstAnswer(Deadline deadline, const std::function<Endpoint(const Endpoint&, Deadline)>& ask,
                         const std::string& none) const;

private:
    bool configured(const Endpoint& endpoint) const;

    const std::vector<Endpoint> _configured;
    const std::string _what;
    Poco::Logger& _logger;
    mutable std::mutex _mutex;
    std::vector<Endpoint> _order;
    bool _listRefused = false; // logged once until one lists the others again
};

} // namespace mt::redis
