#pragma once
// The redis store's settings: store.redis.<key> in server.properties, reaching
// the plugin through PluginContext::config() (only the keys in kConfigKeys).

#include "RedisTls.h"

#include "mt/Plugin.h"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace mt::redis {

/// Listed in the MT_PLUGIN line: the kernel refuses any other store.redis.* key.
inline constexpr const char* kConfigKeys =
    "host,port,socket,username,password,database,keyPrefix,namespace,timeoutMs,reconnectMaxMs,touchFraction,expiryGrace,"
    "nearCache,tls,tlsCaFile,tlsCertFile,tlsKeyFile,tlsServerName,sentinels,sentinelMaster,sentinelUsername,sentinelPassword,"
    "cluster";

/// A host and port (a sentinel's, or the master one of them named).
struct Endpoint
{
    std::string host;
    int port = 0;
    std::string text() const; ///< "host:port", "[v6]:port"
    bool operator==(const Endpoint& other) const { return port == other.port && host == other.host; }
};

/// "host:port,..."
std::string joinEndpoints(const std::vector<Endpoint>& endpoints);

/// The most sentinels, or cluster nodes, a store asks (configured, and learnt from them).
inline constexpr std::size_t kMaxEndpoints = 16;

struct RedisSettings
{
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string socket;            ///< a Unix socket's path: used instead of host and port when set
    std::string username;          ///< an ACL user (AUTH <username> <password>); needs the password
    std::string password;          ///< AUTH when not empty
    int database = 0;              ///< SELECT when not 0
    std::string keyPrefix = "mt";
    std::string ns = "default";    ///< "namespace": one per cluster sharing a Redis
    int timeoutMs = 500;           ///< bound of every call: connecting and its reply
    int reconnectMaxMs = 2000;     ///< ceiling of the reconnection backoff (starts at 50 ms, doubles)
    double touchFraction = 0.1;    ///< a read writes the access time only once this fraction of the interval passed
    int expiryGraceSeconds = 120;  ///< Redis TTL = max inactive + this: the sweeper claims first, TTL is the safety net
    int nearCache = 10000;         ///< sessions kept on this node between requests (NearCache.h); 0: off
    /// Set: every connection is TLS (RedisTls.h), with the context made from
    /// the tls* keys once, shared by the copies of these settings.
    std::shared_ptr<const TlsClient> tls;
    /// Set: Redis Sentinel names the master (host and port are unused); each
    /// connection asks them (in SentinelList's order, which starts as this
    /// one) and checks the role (RedisSentinel.h).
    std::vector<Endpoint> sentinels;
    std::string sentinelMaster;   ///< the name in the sentinels' `sentinel monitor <name> ...`
    std::string sentinelUsername; ///< AUTH to the sentinels (their own requirepass / ACL)
    std::string sentinelPassword;
    /// Set: a Redis Cluster, found through these nodes (host and port are
    /// unused); each store connects to the master of its slot (ClusterMap).
    std::vector<Endpoint> cluster;

    /// "unix:<path>", "<host>:<port>", "<host>:<port> (TLS)", "master '<name>'
    /// via sentinels <host>:<port>,..." or "cluster <host>:<port>,...", for messages.
    std::string address() const;
    /// "the sentinels" or "the cluster's nodes": who names the master, for messages.
    std::string locatedBy() const;
    /// The AUTH command a new connection starts with; empty when no password is set.
    std::vector<std::string> authCommand() const;
    /// The same for a connection to a sentinel.
    std::vector<std::string> sentinelAuthCommand() const;

    /// Reads and validates; throws mt::PluginConfigError naming the key and what is allowed.
    static RedisSettings from(const Poco::Util::AbstractConfiguration& config);
};

} // namespace mt::redis
