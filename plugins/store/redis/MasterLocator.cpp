#include "MasterLocator.h"

#include "RedisCluster.h"
#include "RedisSentinel.h"

namespace mt::redis {

std::shared_ptr<MasterLocator> makeLocator(const RedisSettings& settings, const std::string& key, Poco::Logger& logger)
{
    if (!settings.sentinels.empty()) return std::make_shared<SentinelList>(settings, logger);
    if (!settings.cluster.empty()) return std::make_shared<ClusterMap>(settings, keySlot(key), logger);
    return nullptr;
}

} // namespace mt::redis
