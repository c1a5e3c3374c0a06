#include "balancer/BalancerSettings.h"

namespace mt::balancer {

BalancerSettings BalancerSettings::from(const ServerConfig& config)
{
    auto num = [&](const char* key) { return std::stoi(config.value(key)); };
    BalancerSettings s;
    s.strategy = config.value("balancer.strategy");
    s.hashKey = config.value("balancer.hashKey");
    std::string prefix = "lb." + s.strategy + ".";
    for (const auto& [key, value] : config.properties)
        if (key.compare(0, prefix.size(), prefix) == 0) s.strategySettings[key.substr(prefix.size())] = value.value;
    s.pool.connectTimeoutMs = num("balancer.connectTimeout");
    s.responseTimeoutMs = num("balancer.responseTimeout");
    s.pool.maxConnections = num("balancer.pool.maxConnections");
    s.pool.maxIdle = num("balancer.pool.maxIdle");
    s.pool.idleTimeoutMs = num("balancer.pool.idleTimeout");
    s.retry.maxRetries = num("balancer.retry.max");
    s.retry.budgetPercent = num("balancer.retry.budgetPercent");
    s.retry.minConcurrent = num("balancer.retry.minConcurrent");
    s.retry.backoffBaseMs = num("balancer.retry.backoffBase");
    s.retry.backoffMaxMs = num("balancer.retry.backoffMax");
    s.bodyBufferBytes = num("balancer.retry.bodyBuffer");
    s.core.outlier.consecutiveFailures = num("balancer.eject.consecutiveFailures");
    s.core.outlier.baseTimeMs = num("balancer.eject.baseTime");
    s.core.outlier.maxTimeMs = num("balancer.eject.maxTime");
    s.core.outlier.maxPercent = num("balancer.eject.maxPercent");
    s.core.slowStartMs = num("balancer.slowStart");
    return s;
}

} // namespace mt::balancer
