#pragma once
// Where a connection finds its master when the settings do not name it:
// behind Redis Sentinel (SentinelList) or in a Redis Cluster (ClusterMap).
// openStream() asks it before every connection, then checks that what it
// named is a master (HELLO's role): what it says may be a moment out of date.

#include "RedisSettings.h"
#include "RedisSocket.h"

#include <memory>
#include <string>

namespace Poco {
class Logger;
}

namespace mt::redis {

/// Thread-safety: every method from any thread (a store's connection and its
/// invalidation subscriber ask at the same time).
class MasterLocator
{
public:
    virtual ~MasterLocator() = default;
    /// The master to connect to now, found within the deadline. Throws
    /// RedisSocketError saying what each instance asked said.
    virtual Endpoint locate(Deadline deadline) = 0;
    /// What it knows, for the MBean: whom it asks, in order, and what for.
    virtual std::string text() const = 0;
    /// Which master it finds, for log lines: "master 'sessions'", "master of slot 42".
    virtual std::string master() const = 0;
};

/// The locator the settings call for, or null when they name the instance
/// (host and port, or socket). In a cluster the master is that of `key`'s
/// slot: every key of one store shares it (RedisSessionStore's hash tag);
/// without a key it throws std::invalid_argument.
std::shared_ptr<MasterLocator> makeLocator(const RedisSettings& settings, const std::string& key, Poco::Logger& logger);

} // namespace mt::redis
