#include "RedisSettings.h"

#include <Poco/Exception.h>

#include <cctype>
#include <stdexcept>
#include <sys/un.h>

namespace mt::redis {

namespace {

int intSetting(const Poco::Util::AbstractConfiguration& config, const std::string& key, int def, int min, int max)
{
    int value = def;
    try
    {
        value = config.getInt(key, def);
    }
    catch (const Poco::Exception&)
    {
        throw PluginConfigError("store.redis." + key + "='" + config.getString(key, "") + "' is not a number; use " +
                                std::to_string(min) + ".." + std::to_string(max));
    }
    if (value < min || value > max)
        throw PluginConfigError("store.redis." + key + "=" + std::to_string(value) + " is out of range; use " +
                                std::to_string(min) + ".." + std::to_string(max) + " (default " + std::to_string(def) + ")");
    return value;
}

bool isKeyToken(const std::string& text)
{
    if (text.empty() || text.size() > 64) return false;
    for (char c : text)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
    return true;
}

bool hasSpaceOrControl(const std::string& text)
{
    for (char c : text)
        if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) return true;
    return false;
}

void readSocket(const Poco::Util::AbstractConfiguration& config, RedisSettings& s)
{
    s.socket = config.getString("socket", "");
    if (s.socket.empty()) return;
    // A Unix socket has no host or port: both set would leave one of them silently unused.
    if (config.hasProperty("host") || config.hasProperty("port"))
        throw PluginConfigError("store.redis.socket='" + s.socket +
                                "' and store.redis.host/port are both set; a Unix socket has neither: remove one");
    constexpr std::size_t maxPath = sizeof(sockaddr_un::sun_path) - 1;
    if (s.socket.front() != '/' || s.socket.size() > maxPath)
        throw PluginConfigError("store.redis.socket='" + s.socket + "': use an absolute path of at most " +
                                std::to_string(maxPath) + " bytes (redis.conf's unixsocket)");
}

bool boolSetting(const Poco::Util::AbstractConfiguration& config, const std::string& key, bool def)
{
    const std::string text = config.getString(key, def ? "true" : "false");
    if (text == "true") return true;
    if (text == "false") return false;
    throw PluginConfigError("store.redis." + key + "='" + text + "': use true or false");
}

void readTls(const Poco::Util::AbstractConfiguration& config, RedisSettings& s)
{
    static const char* const kTlsKeys[] = {"tlsCaFile", "tlsCertFile", "tlsKeyFile", "tlsServerName"};
    if (!boolSetting(config, "tls", false))
    {
        for (const char* key : kTlsKeys)
            if (config.hasProperty(key))
                throw PluginConfigError(std::string("store.redis.") + key +
                                        " is set but store.redis.tls is not true: set it, or remove the key");
        return;
    }
    if (!s.socket.empty())
        throw PluginConfigError("store.redis.tls=true with store.redis.socket: Redis serves TLS on its tls-port only; "
                                "use host and port");
    TlsOptions options;
    options.caFile = config.getString("tlsCaFile", "");
    options.certFile = config.getString("tlsCertFile", "");
    options.keyFile = config.getString("tlsKeyFile", "");
    // Behind sentinels and in a cluster, by default each certificate names the host connected to.
    const bool located = !config.getString("sentinels", "").empty() || !config.getString("cluster", "").empty();
    options.serverName = config.getString("tlsServerName", located ? "" : s.host);
    if ((options.serverName.empty() && !(located && !config.hasProperty("tlsServerName"))) ||
        hasSpaceOrControl(options.serverName))
        throw PluginConfigError("store.redis.tlsServerName='" + options.serverName +
                                "': the DNS name or IP address Redis's certificate carries");
    try
    {
        s.tls = std::make_shared<const TlsClient>(std::move(options));
    }
    catch (const TlsSetupError& e)
    {
        throw PluginConfigError("store.redis." + e.key() + ": " + e.what());
    }
}

Endpoint parseEndpoint(const std::string& text)
{
    // host:port, or [IPv6]:port
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
        throw std::invalid_argument("not host:port");
    Endpoint e;
    e.host = text.substr(0, colon);
    if (e.host.front() == '[')
    {
        if (e.host.size() < 3 || e.host.back() != ']') throw std::invalid_argument("unclosed [");
        e.host = e.host.substr(1, e.host.size() - 2);
    }
    else if (e.host.find(':') != std::string::npos)
        throw std::invalid_argument("an IPv6 address goes in brackets");
    if (hasSpaceOrControl(e.host)) throw std::invalid_argument("spaces in the host");
    const std::string port = text.substr(colon + 1);
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) throw std::invalid_argument("bad port");
    e.port = std::stoi(port);
    if (e.port < 1 || e.port > 65535) throw std::invalid_argument("port out of range");
    return e;
}

/// "host:port[,host:port...]" of store.redis.<key>: each entry once, at most kMaxEndpoints.
std::vector<Endpoint> endpointList(const std::string& key, const std::string& list, int examplePort)
{
    std::vector<Endpoint> endpoints;
    std::size_t start = 0;
    for (;;)
    {
        const auto comma = list.find(',', start);
        std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        try
        {
            Endpoint e = parseEndpoint(item);
            for (const auto& known : endpoints)
                if (known == e) throw std::invalid_argument("listed twice");
            endpoints.push_back(std::move(e));
        }
        catch (const std::exception& e) // invalid_argument, out_of_range
        {
            throw PluginConfigError("store.redis." + key + "='" + list + "': entry '" + item + "': " + e.what() +
                                    "; use host:port[,host:port...] (e.g. 10.0.0.5:" + std::to_string(examplePort) + ")");
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    if (endpoints.size() > kMaxEndpoints)
        throw PluginConfigError("store.redis." + key + ": " + std::to_string(endpoints.size()) + " entries; at most " +
                                std::to_string(kMaxEndpoints));
    return endpoints;
}

void readCluster(const Poco::Util::AbstractConfiguration& config, RedisSettings& s)
{
    const std::string list = config.getString("cluster", "");
    if (list.empty()) return;
    // The nodes come from the cluster: a host, port, socket or sentinels set too would be silently unused.
    for (const char* key : {"host", "port", "socket", "sentinels"})
        if (config.hasProperty(key))
            throw PluginConfigError(std::string("store.redis.cluster and store.redis.") + key +
                                    " are both set; in a cluster, its nodes name the master of the store's slot: remove " +
                                    key);
    if (s.database != 0)
        throw PluginConfigError("store.redis.database=" + std::to_string(s.database) +
                                " with store.redis.cluster: a Redis Cluster has database 0 only");
    s.cluster = endpointList("cluster", list, 6379);
}

void readSentinels(const Poco::Util::AbstractConfiguration& config, RedisSettings& s)
{
    static const char* const kSentinelKeys[] = {"sentinelMaster", "sentinelUsername", "sentinelPassword"};
    const std::string list = config.getString("sentinels", "");
    if (list.empty())
    {
        for (const char* key : kSentinelKeys)
            if (config.hasProperty(key))
                throw PluginConfigError(std::string("store.redis.") + key +
                                        " is set but store.redis.sentinels is not: list the sentinels, or remove the key");
        return;
    }
    // The master's address comes from the sentinels: a host or port set too would be silently unused.
    for (const char* key : {"host", "port", "socket"})
        if (config.hasProperty(key))
            throw PluginConfigError(std::string("store.redis.sentinels and store.redis.") + key +
                                    " are both set; with sentinels, they name the master: remove " + key);
    s.sentinels = endpointList("sentinels", list, 26379);
    s.sentinelMaster = config.getString("sentinelMaster", "");
    if (s.sentinelMaster.empty() || hasSpaceOrControl(s.sentinelMaster))
        throw PluginConfigError("store.redis.sentinels needs store.redis.sentinelMaster='" + s.sentinelMaster +
                                "' to be the master's name, as in the sentinels' `sentinel monitor <name> ...`");
    s.sentinelPassword = config.getString("sentinelPassword", "");
    s.sentinelUsername = config.getString("sentinelUsername", "");
    if (!s.sentinelUsername.empty() && s.sentinelPassword.empty())
        throw PluginConfigError("store.redis.sentinelUsername='" + s.sentinelUsername + "' needs store.redis.sentinelPassword");
    if (hasSpaceOrControl(s.sentinelUsername))
        throw PluginConfigError("store.redis.sentinelUsername='" + s.sentinelUsername +
                                "': an ACL user name has no spaces or control characters");
}

std::vector<std::string> authFor(const std::string& username, const std::string& password)
{
    if (password.empty()) return {};
    if (username.empty()) return {"AUTH", password};
    return {"AUTH", username, password};
}

} // namespace

std::string Endpoint::text() const
{
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string joinEndpoints(const std::vector<Endpoint>& endpoints)
{
    std::string text;
    for (const auto& e : endpoints) text += (text.empty() ? "" : ",") + e.text();
    return text;
}

std::string RedisSettings::address() const
{
    if (!socket.empty()) return "unix:" + socket;
    if (!sentinels.empty())
        return "master '" + sentinelMaster + "' via sentinels " + joinEndpoints(sentinels) + (tls ? " (TLS)" : "");
    if (!cluster.empty()) return "cluster " + joinEndpoints(cluster) + (tls ? " (TLS)" : "");
    return host + ":" + std::to_string(port) + (tls ? " (TLS)" : "");
}

std::string RedisSettings::locatedBy() const
{
    return sentinels.empty() ? "the cluster's nodes" : "the sentinels";
}

std::vector<std::string> RedisSettings::authCommand() const
{
    return authFor(username, password);
}

std::vector<std::string> RedisSettings::sentinelAuthCommand() const
{
    return authFor(sentinelUsername, sentinelPassword);
}

RedisSettings RedisSettings::from(const Poco::Util::AbstractConfiguration& config)
{
    RedisSettings s;
    s.host = config.getString("host", s.host);
    if (s.host.empty()) throw PluginConfigError("store.redis.host is empty; name the Redis server, e.g. 127.0.0.1");
    s.port = intSetting(config, "port", s.port, 1, 65535);
    readSocket(config, s);
    s.password = config.getString("password", "");
    s.username = config.getString("username", "");
    if (!s.username.empty() && s.password.empty())
        throw PluginConfigError("store.redis.username='" + s.username +
                                "' needs store.redis.password: an ACL user logs in with AUTH <username> <password>");
    if (hasSpaceOrControl(s.username))
        throw PluginConfigError("store.redis.username='" + s.username + "': an ACL user name has no spaces or control characters");
    s.database = intSetting(config, "database", s.database, 0, 1023);
    s.keyPrefix = config.getString("keyPrefix", s.keyPrefix);
    if (!isKeyToken(s.keyPrefix))
        throw PluginConfigError("store.redis.keyPrefix='" + s.keyPrefix + "': use 1..64 of A-Z a-z 0-9 _ - .");
    s.ns = config.getString("namespace", s.ns);
    if (!isKeyToken(s.ns))
        throw PluginConfigError("store.redis.namespace='" + s.ns + "': use 1..64 of A-Z a-z 0-9 _ - . (e.g. the cluster name)");
    s.timeoutMs = intSetting(config, "timeoutMs", s.timeoutMs, 10, 60000);
    s.reconnectMaxMs = intSetting(config, "reconnectMaxMs", s.reconnectMaxMs, 50, 600000);
    s.expiryGraceSeconds = intSetting(config, "expiryGrace", s.expiryGraceSeconds, 0, 86400);
    s.nearCache = intSetting(config, "nearCache", s.nearCache, 0, 10000000);
    const std::string fraction = config.getString("touchFraction", "0.1");
    try
    {
        std::size_t used = 0;
        s.touchFraction = std::stod(fraction, &used);
        if (used != fraction.size()) throw std::invalid_argument(fraction);
    }
    catch (const std::exception&)
    {
        throw PluginConfigError("store.redis.touchFraction='" + fraction + "' is not a number; use 0..1 (default 0.1)");
    }
    if (!(s.touchFraction >= 0.0 && s.touchFraction <= 1.0))
        throw PluginConfigError("store.redis.touchFraction=" + fraction + " is out of range; use 0..1 (0: every read writes)");
    readTls(config, s);
    readSentinels(config, s);
    readCluster(config, s);
    return s;
}

} // namespace mt::redis
