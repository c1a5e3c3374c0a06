#pragma once
// The balancer.* and lb.* keys of server.properties, typed. Read from the
// validated ServerConfig (ConfigSchema holds the defaults and the docs), so
// ServerConfig itself needs no balancer fields. All of them apply on reload.

#include "balancer/BalancerCore.h"
#include "balancer/RetryPolicy.h"
#include "balancer/UpstreamPool.h"
#include "config/ServerConfig.h"

#include <map>
#include <string>

namespace mt::balancer {

struct BalancerSettings
{
    std::string strategy = "roundrobin";
    std::string hashKey = "ip";
    std::map<std::string, std::string> strategySettings; ///< lb.<strategy>.<key>, prefix removed
    int responseTimeoutMs = 30000;
    UpstreamPool::Limits pool;
    RetryPolicy::Settings retry;
    int bodyBufferBytes = 65536;
    BalancerCore::Settings core;

    static BalancerSettings from(const ServerConfig& config);
    bool sameStrategy(const BalancerSettings& o) const
    {
        return strategy == o.strategy && hashKey == o.hashKey && strategySettings == o.strategySettings;
    }
};

} // namespace mt::balancer
