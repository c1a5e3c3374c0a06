#pragma once
// Every key server.properties accepts: its type, default, whether a reload
// applies it live, and one line of documentation (the README's table is
// printed from here by `microtomcat --list-keys`, so the two cannot drift).

#include <string>
#include <vector>

namespace mt {

struct KeySpec
{
    enum class Type { String, Int, Bool, Enum, Host, Port, Path, ContextPath, List, Name, LogLevel };
    KeySpec(std::string key, Type type, std::string defaultValue, bool live, std::string doc)
        : key(std::move(key)), type(type), defaultValue(std::move(defaultValue)), live(live), doc(std::move(doc))
    {
    }
    std::string key;          ///< e.g. "http.port"; "context.*.path" for per-context keys
    Type type = Type::String;
    std::string defaultValue;
    bool live = false;        ///< applied by reload without a restart
    std::string doc;
    long long min = 0;        ///< Int only
    long long max = 0;
    std::vector<std::string> choices; ///< Enum only
};

class ConfigSchema
{
public:
    static const std::vector<KeySpec>& keys();
    /// The spec for a concrete key ("context.cart.path" finds "context.*.path"), or null.
    static const KeySpec* find(const std::string& key);
    /// Checks a value against its spec; returns "" or what is allowed.
    static std::string check(const KeySpec& spec, const std::string& value);
    /// The README's configuration table (Markdown).
    static std::string markdownTable();
};

} // namespace mt
