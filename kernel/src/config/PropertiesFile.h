#pragma once
// A Java-style .properties reader that remembers where each key came from, so
// that a bad value can be reported as "server.properties:12: http.port: ...".
// Supports '#'/'!' comments, '=' or ':' separators, and '\' line continuation.

#include <map>
#include <stdexcept>
#include <string>

namespace mt {

/// A configuration problem; what() names the file (and line or key) and what is allowed.
class ConfigError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

struct PropertyValue
{
    std::string value;
    std::string origin; ///< "file:line" or "command line"
};

using PropertyMap = std::map<std::string, PropertyValue>;

class PropertiesFile
{
public:
    /// Throws ConfigError naming the file and line for an unreadable file or a malformed line.
    static PropertyMap read(const std::string& path);
    static PropertyMap parse(const std::string& text, const std::string& fileName);
};

} // namespace mt
