#include "config/PropertiesFile.h"

#include <fstream>
#include <sstream>

namespace mt {

namespace {

std::string trim(const std::string& s)
{
    auto begin = s.find_first_not_of(" \t\r\f");
    if (begin == std::string::npos) return {};
    auto end = s.find_last_not_of(" \t\r\f");
    return s.substr(begin, end - begin + 1);
}

bool endsWithContinuation(const std::string& line)
{
    // An odd number of trailing backslashes continues the line; "\\" is a literal backslash.
    std::size_t count = 0;
    for (auto it = line.rbegin(); it != line.rend() && *it == '\\'; ++it) ++count;
    return count % 2 == 1;
}

std::string unescape(const std::string& s)
{
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i)
    {
        if (s[i] != '\\' || i + 1 == s.size())
        {
            out += s[i];
            continue;
        }
        char next = s[++i];
        switch (next)
        {
        case 't': out += '\t'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        default: out += next; break;
        }
    }
    return out;
}

} // namespace

PropertyMap PropertiesFile::read(const std::string& path)
{
    std::ifstream in(path);
    if (!in) throw ConfigError(path + ": cannot read the configuration file (does it exist? pass another with --config)");
    std::stringstream text;
    text << in.rdbuf();
    return parse(text.str(), path);
}

PropertyMap PropertiesFile::parse(const std::string& text, const std::string& fileName)
{
    PropertyMap result;
    std::istringstream in(text);
    std::string raw;
    int lineNumber = 0;
    while (std::getline(in, raw))
    {
        ++lineNumber;
        int startLine = lineNumber;
        std::string line = trim(raw);
        if (line.empty() || line[0] == '#' || line[0] == '!') continue;
        while (endsWithContinuation(line))
        {
            line.pop_back();
            std::string next;
            if (!std::getline(in, next)) break;
            ++lineNumber;
            line += trim(next);
        }
        auto sep = line.find_first_of("=:");
        std::string where = fileName + ":" + std::to_string(startLine);
        if (sep == std::string::npos)
            throw ConfigError(where + ": expected 'key=value', got '" + line + "'");
        std::string key = trim(line.substr(0, sep));
        if (key.empty()) throw ConfigError(where + ": a line has a value but no key");
        for (char c : key)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
                throw ConfigError(where + ": key '" + key + "' may only contain letters, digits, '.', '_' and '-'");
        auto [it, inserted] = result.try_emplace(key, PropertyValue{unescape(trim(line.substr(sep + 1))), where});
        if (!inserted)
            throw ConfigError(where + ": key '" + key + "' is set twice (first at " + it->second.origin + ")");
    }
    return result;
}

} // namespace mt
