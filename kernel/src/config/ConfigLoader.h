#pragma once
// Reads server.properties, applies -Dkey=value overrides, validates every key
// against ConfigSchema and returns a ServerConfig. All problems found are
// reported together in one ConfigError, each naming file:line (or "command
// line"), the key and what is allowed.

#include "config/ServerConfig.h"

#include <map>
#include <string>

namespace mt {

class ConfigLoader
{
public:
    /// `defaultPluginDir`: used when plugin.dir is empty.
    static ServerConfig load(const std::string& file, const std::map<std::string, std::string>& overrides,
                             const std::string& defaultPluginDir);
    /// Same, from properties already read (for tests).
    static ServerConfig fromProperties(PropertyMap properties, const std::string& file,
                                       const std::string& defaultPluginDir);
};

} // namespace mt
