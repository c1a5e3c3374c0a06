#include "config/ConfigLoader.h"

#include "config/ConfigSchema.h"

#include <Poco/File.h>
#include <Poco/NumberParser.h>
#include <Poco/Path.h>
#include <Poco/StringTokenizer.h>

#include <set>

namespace mt {

std::string ServerConfig::value(const std::string& key) const
{
    auto it = properties.find(key);
    if (it != properties.end()) return it->second.value;
    const KeySpec* spec = ConfigSchema::find(key);
    return spec ? spec->defaultValue : std::string();
}

namespace {

class Builder
{
public:
    Builder(PropertyMap properties, std::string file, std::string defaultPluginDir)
        : _properties(std::move(properties)), _file(std::move(file)), _defaultPluginDir(std::move(defaultPluginDir))
    {
        _baseDir = Poco::Path(Poco::Path(_file).absolute()).parent().toString();
    }

    ServerConfig build()
    {
        ServerConfig c;
        c.file = _file;
        checkKeys();
        c.nodeName = str("node.name");
        if (c.nodeName.empty()) fail("node.name", "a name (letters, digits, '_' and '-')");
        c.http.host = str("http.host");
        c.http.port = static_cast<unsigned short>(num("http.port"));
        c.http.threads = static_cast<int>(num("http.threads"));
        c.http.maxConnections = static_cast<int>(num("http.maxConnections"));
        c.http.keepAlive = flag("http.keepAlive");
        c.http.keepAliveTimeoutMs = static_cast<int>(num("http.keepAliveTimeout") * 1000);
        c.http.maxKeepAliveRequests = static_cast<int>(num("http.maxKeepAliveRequests"));
        c.http.readTimeoutMs = static_cast<int>(num("http.readTimeout") * 1000);
        c.http.minBodyRate = static_cast<std::size_t>(num("http.minBodyRate"));
        c.http.maxHeaderBytes = static_cast<std::size_t>(num("http.maxHeaderBytes"));
        c.http.maxHeaderFields = static_cast<int>(num("http.maxHeaderFields"));
        c.http.maxBodyBytes = static_cast<std::size_t>(num("http.maxBodyBytes"));
        c.http.serverHeader = str("http.serverHeader");
        c.drainTimeoutMs = static_cast<int>(num("http.drainTimeout") * 1000);

        c.adminToken = str("admin.token");
        c.adminHost = str("admin.host");
        c.adminPort = static_cast<unsigned short>(num("admin.port"));
        c.adminAllowRemote = flag("admin.allowRemote");

        c.logLevel = str("log.level");
        c.logFormat = str("log.format");
        c.logFile = path("log.file");
        c.accessLogEnabled = flag("accesslog.enabled");
        c.accessLogFormat = str("accesslog.format");
        c.accessLogFile = path("accesslog.file");

        c.pluginDir = path("plugin.dir");
        if (c.pluginDir.empty()) c.pluginDir = _defaultPluginDir;

        c.cookieName = str("session.cookieName");
        if (c.cookieName.empty()) fail("session.cookieName", "a cookie name");
        c.cookieSecure = flag("session.cookieSecure");
        c.sessionTimeout = static_cast<int>(num("session.timeout"));
        c.sweepIntervalMs = static_cast<int>(num("session.sweepInterval") * 1000);
        c.defaultStore = str("session.store");
        if (c.defaultStore.empty()) fail("session.store", "a store plugin name, e.g. memory");
        c.rewriteRoute = flag("session.rewriteRoute");
        c.flushImmediate = str("session.flushMode") == "IMMEDIATE";

        c.clusterConfigFile = path("cluster.config");

        buildContexts(c);
        buildStores(c);
        if (!_errors.empty())
        {
            std::string message = "invalid configuration:";
            for (const auto& e : _errors) message += "\n  " + e;
            throw ConfigError(message);
        }
        c.properties = _properties;
        return c;
    }

private:
    void checkKeys()
    {
        for (const auto& [key, value] : _properties)
        {
            const KeySpec* spec = ConfigSchema::find(key);
            if (!spec)
            {
                _errors.push_back(value.origin + ": unknown key '" + key +
                                  "' (see the README's configuration table, or `microtomcat --list-keys`)");
                continue;
            }
            std::string allowed = ConfigSchema::check(*spec, value.value);
            if (!allowed.empty())
                _errors.push_back(value.origin + ": " + key + " = '" + value.value + "' is not allowed: expected " +
                                  allowed);
        }
    }

    void fail(const std::string& key, const std::string& allowed, const std::string& why = "")
    {
        auto it = _properties.find(key);
        std::string origin = it == _properties.end() ? _file : it->second.origin;
        _errors.push_back(origin + ": " + key + (why.empty() ? "" : ": " + why) + ": expected " + allowed);
    }

    std::string str(const std::string& key) const
    {
        auto it = _properties.find(key);
        if (it != _properties.end()) return it->second.value;
        const KeySpec* spec = ConfigSchema::find(key);
        return spec ? spec->defaultValue : std::string();
    }

    long long num(const std::string& key) const
    {
        Poco::Int64 n = 0;
        Poco::NumberParser::tryParse64(str(key), n); // validity already checked by checkKeys
        return n;
    }

    bool flag(const std::string& key) const { return str(key) == "true"; }

    std::string path(const std::string& key) const { return resolve(str(key)); }

    std::string resolve(const std::string& p) const
    {
        if (p.empty()) return p;
        Poco::Path path(p);
        if (path.isAbsolute()) return path.toString();
        return Poco::Path(_baseDir).resolve(path).toString();
    }

    void buildContexts(ServerConfig& c)
    {
        std::set<std::string> ids;
        std::map<std::string, std::string> paths;
        Poco::StringTokenizer list(str("contexts"), ",", Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
        for (const auto& id : list)
        {
            if (!ids.insert(id).second)
            {
                fail("contexts", "each context id once", "'" + id + "' is listed twice");
                continue;
            }
            std::string allowed = ConfigSchema::check(*ConfigSchema::find("node.name"), id);
            if (!allowed.empty())
            {
                fail("contexts", allowed, "context id '" + id + "'");
                continue;
            }
            ContextConfig ctx;
            ctx.id = id;
            std::string prefix = "context." + id + ".";
            ctx.path = str(prefix + "path");
            if (ctx.path.empty())
            {
                fail("contexts", "a mount path in " + prefix + "path, e.g. " + prefix + "path=/" + id,
                     "context '" + id + "' has no path");
                continue;
            }
            if (ctx.path == "/") ctx.path.clear();
            auto [it, inserted] = paths.try_emplace(ctx.path, id);
            if (!inserted)
                fail(prefix + "path", "a path no other context uses",
                     "'" + (ctx.path.empty() ? "/" : ctx.path) + "' is also the path of context '" + it->second + "'");
            if (ctx.path == "/ping" || ctx.path == "/health" || ctx.path == "/admin" || ctx.path == "/cluster")
                fail(prefix + "path", "a path other than /ping, /health, /admin and /cluster (the server's own)");
            ctx.app = str(prefix + "app");
            ctx.docRoot = path(prefix + "docRoot");
            if (!ctx.docRoot.empty())
            {
                Poco::File dir(ctx.docRoot);
                if (!dir.exists() || !dir.isDirectory())
                    fail(prefix + "docRoot", "an existing directory", "'" + ctx.docRoot + "' is not one");
            }
            if (ctx.app.empty() && ctx.docRoot.empty())
                fail(prefix + "app", "an application plugin name or a " + prefix + "docRoot",
                     "context '" + id + "' would serve nothing");
            ctx.store = str(prefix + "store");
            if (ctx.store.empty()) ctx.store = c.defaultStore;
            ctx.sessionTimeout = static_cast<int>(num(prefix + "sessionTimeout"));
            if (ctx.sessionTimeout < 0) ctx.sessionTimeout = c.sessionTimeout;
            const std::string flushMode = str(prefix + "flushMode");
            ctx.flushImmediate = flushMode.empty() ? c.flushImmediate : flushMode == "IMMEDIATE";
            const std::string rewriteRoute = str(prefix + "rewriteRoute");
            ctx.rewriteRoute = rewriteRoute.empty() ? c.rewriteRoute : rewriteRoute == "true";
            std::string appPrefix = prefix + "app.";
            for (const auto& [key, value] : _properties)
                if (key.compare(0, appPrefix.size(), appPrefix) == 0)
                    ctx.appConfig[key.substr(appPrefix.size())] = value.value;
            c.contexts.push_back(std::move(ctx));
        }
        // context.<id>.* keys for ids not in the list are almost always a typo.
        for (const auto& [key, value] : _properties)
        {
            if (key.compare(0, 8, "context.") != 0) continue;
            auto dot = key.find('.', 8);
            std::string id = key.substr(8, dot == std::string::npos ? std::string::npos : dot - 8);
            if (!ids.count(id))
                _errors.push_back(value.origin + ": " + key + " configures context '" + id +
                                  "', which is not in 'contexts' (add it there or remove the key)");
        }
    }

    void buildStores(ServerConfig& c)
    {
        for (const auto& [key, value] : _properties)
        {
            if (key.compare(0, 6, "store.") != 0) continue;
            auto dot = key.find('.', 6);
            c.storeConfigs[key.substr(6, dot - 6)][key.substr(dot + 1)] = value.value;
        }
    }

    PropertyMap _properties;
    std::string _file;
    std::string _defaultPluginDir;
    std::string _baseDir;
    std::vector<std::string> _errors;
};

} // namespace

ServerConfig ConfigLoader::load(const std::string& file, const std::map<std::string, std::string>& overrides,
                                const std::string& defaultPluginDir)
{
    PropertyMap properties = PropertiesFile::read(file);
    for (const auto& [key, value] : overrides) properties[key] = PropertyValue{value, "command line (-D" + key + ")"};
    return fromProperties(std::move(properties), file, defaultPluginDir);
}

ServerConfig ConfigLoader::fromProperties(PropertyMap properties, const std::string& file,
                                          const std::string& defaultPluginDir)
{
    return Builder(std::move(properties), file, defaultPluginDir).build();
}

} // namespace mt
