#include "MasterLocator.h"

#include "RedisCluster.h"
#include "RedisSentinel.h"

#include <stdexcept>

namespace mt::redis {

std::shared_ptr<MasterLocator> makeLocator(const RedisSettings& settings, const std::string& key, Poco::Logger& logger)
{
    if (!settings.sentinels.empty()) return std::make_shared<SentinelList>(settings, logger);
    if (!settings.cluster.empty())
    {
        // Slot 0's master would be a silent guess: every caller has its keys.
        if (key.empty()) throw std::invalid_argument("redis cluster: a connection needs the key whose slot it serves");
        return std::make_shared<ClusterMap>(settings, keySlot(key), logger);
    }
    return nullptr;
}

} // namespace mt::redis
