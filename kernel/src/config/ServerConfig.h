#pragma once
// The validated, typed form of server.properties (plus -D overrides).

#include "config/PropertiesFile.h"
#include "http/ServerLimits.h"

#include <map>
#include <string>
#include <vector>

namespace mt {

struct ContextConfig
{
    std::string id;
    std::string path;          ///< "/cart", or "" for the root context
    std::string app;           ///< application plugin name, "" for static only
    std::string docRoot;       ///< absolute, "" for none
    std::string store;         ///< session store plugin name
    int sessionTimeout = 1800; ///< seconds
    bool rewriteRoute = true;   ///< context.<id>.rewriteRoute, else session.rewriteRoute (restart to change)
    bool flushImmediate = false; ///< context.<id>.flushMode, else session.flushMode (restart to change)
    std::map<std::string, std::string> appConfig;

    // rewriteRoute and flushImmediate are left out: a reload does not apply
    // them (they need a restart), so they must not redeploy the context.
    bool operator==(const ContextConfig& o) const
    {
        return id == o.id && path == o.path && app == o.app && docRoot == o.docRoot && store == o.store &&
               sessionTimeout == o.sessionTimeout && appConfig == o.appConfig;
    }
    bool operator!=(const ContextConfig& o) const { return !(*this == o); }
};

struct ServerConfig
{
    std::string file;         ///< the properties file it came from
    PropertyMap properties;   ///< every key set (file and overrides), with origin

    std::string nodeName;
    http::ServerLimits http;
    int drainTimeoutMs = 10000;

    std::string adminToken;
    std::string adminHost;
    unsigned short adminPort = 0;
    bool adminAllowRemote = false;

    std::string logLevel;
    std::string logFormat;
    std::string logFile;
    bool accessLogEnabled = true;
    std::string accessLogFormat;
    std::string accessLogFile;

    std::string pluginDir;

    std::string cookieName;
    bool cookieSecure = false;
    int sessionTimeout = 1800;
    int sweepIntervalMs = 30000;
    std::string defaultStore;
    bool rewriteRoute = true;            ///< session.rewriteRoute
    bool flushImmediate = false;         ///< session.flushMode=IMMEDIATE

    std::string clusterConfigFile; ///< absolute; "" when this node runs alone

    std::vector<ContextConfig> contexts;
    std::map<std::string, std::map<std::string, std::string>> storeConfigs; ///< store name -> settings

    /// The effective value of a key: set, else the schema default.
    std::string value(const std::string& key) const;
};

} // namespace mt
