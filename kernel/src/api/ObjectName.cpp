#include "mt/ObjectName.h"

#include <algorithm>

namespace mt {

namespace {

/// Glob match: "*" any run, "?" one character; a backslash makes the next
/// character literal (quoted values escape "*" and "?" that way).
bool globMatch(const std::string& pattern, const std::string& text)
{
    std::size_t p = 0, t = 0, starP = std::string::npos, starT = 0;
    while (t < text.size())
    {
        if (p < pattern.size() && pattern[p] == '\\' && p + 1 < pattern.size() && pattern[p + 1] == text[t])
        {
            p += 2;
            ++t;
        }
        else if (p < pattern.size() && (pattern[p] == '?' || (pattern[p] == text[t] && pattern[p] != '*' && pattern[p] != '\\')))
        {
            ++p;
            ++t;
        }
        else if (p < pattern.size() && pattern[p] == '*')
        {
            starP = p++;
            starT = t;
        }
        else if (starP != std::string::npos)
        {
            p = starP + 1;
            t = ++starT;
        }
        else
            return false;
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

/// True if `value` holds an unescaped "*" or "?".
bool hasWildcard(const std::string& value)
{
    bool quoted = !value.empty() && value.front() == '"';
    for (std::size_t i = 0; i < value.size(); ++i)
    {
        if (quoted && value[i] == '\\')
        {
            ++i;
            continue;
        }
        if (value[i] == '*' || value[i] == '?') return true;
    }
    return false;
}

void checkKey(const std::string& key, const std::string& text)
{
    if (key.empty()) throw MalformedObjectName("'" + text + "': a key is empty");
    if (key.find_first_of(":,=*?\n\"") != std::string::npos)
        throw MalformedObjectName("'" + text + "': key '" + key + "' has a character not allowed in keys (: , = * ? \" newline)");
}

void checkValue(const std::string& value, const std::string& text)
{
    if (value.empty()) throw MalformedObjectName("'" + text + "': a value is empty");
    if (value.front() == '"')
    {
        if (value.size() < 2 || value.back() != '"')
            throw MalformedObjectName("'" + text + "': quoted value " + value + " is not closed");
        for (std::size_t i = 1; i + 1 < value.size(); ++i)
        {
            if (value[i] == '"') throw MalformedObjectName("'" + text + "': unescaped '\"' inside quoted value " + value);
            if (value[i] == '\n') throw MalformedObjectName("'" + text + "': newline inside quoted value");
            if (value[i] == '\\')
            {
                if (i + 2 >= value.size() || std::string("\\\"*?n").find(value[i + 1]) == std::string::npos)
                    throw MalformedObjectName("'" + text + "': bad escape in quoted value " + value +
                                              " (allowed: \\\\ \\\" \\* \\? \\n)");
                ++i;
            }
        }
        return;
    }
    if (value.find_first_of(",=:\"\n") != std::string::npos)
        throw MalformedObjectName("'" + text + "': value '" + value + "' has a character that needs quoting (, = : \" newline)");
}

} // namespace

ObjectName::ObjectName() = default;

ObjectName::ObjectName(const std::string& text)
{
    auto colon = text.find(':');
    if (colon == std::string::npos) throw MalformedObjectName("'" + text + "': no ':' after the domain (domain:key=value,...)");
    _domain = text.substr(0, colon);
    std::string rest = text.substr(colon + 1);
    if (rest.empty()) throw MalformedObjectName("'" + text + "': no key properties after the domain");
    std::size_t pos = 0;
    while (pos <= rest.size())
    {
        if (rest.compare(pos, std::string::npos, "*") == 0)
        {
            _propertyListPattern = true;
            break;
        }
        auto eq = rest.find('=', pos);
        auto comma = rest.find(',', pos);
        if (eq == std::string::npos || (comma != std::string::npos && comma < eq))
            throw MalformedObjectName("'" + text + "': '" + rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos) +
                                      "' is not key=value");
        std::string key = rest.substr(pos, eq - pos);
        std::size_t end;
        if (eq + 1 < rest.size() && rest[eq + 1] == '"')
        {
            // A quoted value may hold commas: find its closing quote.
            end = eq + 2;
            while (end < rest.size() && rest[end] != '"') end += rest[end] == '\\' ? 2 : 1;
            if (end >= rest.size()) throw MalformedObjectName("'" + text + "': quoted value of '" + key + "' is not closed");
            ++end;
            if (end < rest.size() && rest[end] != ',')
                throw MalformedObjectName("'" + text + "': text after the quoted value of '" + key + "'");
        }
        else
        {
            end = rest.find(',', eq);
            if (end == std::string::npos) end = rest.size();
        }
        std::string value = rest.substr(eq + 1, end - eq - 1);
        checkKey(key, text);
        checkValue(value, text);
        if (hasProperty(key)) throw MalformedObjectName("'" + text + "': key '" + key + "' appears twice");
        _properties.emplace_back(key, value);
        if (end >= rest.size()) break;
        pos = end + 1;
        if (pos >= rest.size()) throw MalformedObjectName("'" + text + "': trailing ','");
    }
    validateAndFinish();
}

ObjectName::ObjectName(const std::string& domain, const std::vector<Property>& properties)
    : _domain(domain)
{
    std::string text = domain + ":...";
    for (const auto& [key, value] : properties)
    {
        checkKey(key, text);
        checkValue(value, text);
        if (hasProperty(key)) throw MalformedObjectName("'" + text + "': key '" + key + "' appears twice");
        _properties.emplace_back(key, value);
    }
    if (_properties.empty()) throw MalformedObjectName("ObjectName of domain '" + domain + "': no key properties");
    validateAndFinish();
}

void ObjectName::validateAndFinish()
{
    if (_domain.find_first_of(":\n") != std::string::npos)
        throw MalformedObjectName("domain '" + _domain + "' has ':' or a newline");
    std::vector<Property> sorted = _properties;
    std::sort(sorted.begin(), sorted.end());
    _canonical = _domain + ":";
    for (std::size_t i = 0; i < sorted.size(); ++i)
        _canonical += (i ? "," : "") + sorted[i].first + "=" + sorted[i].second;
    if (_propertyListPattern) _canonical += sorted.empty() ? "*" : ",*";
}

bool ObjectName::tryParse(const std::string& text, ObjectName& name, std::string* error)
{
    try
    {
        name = ObjectName(text);
        return true;
    }
    catch (const MalformedObjectName& e)
    {
        if (error) *error = e.what();
        return false;
    }
}

std::string ObjectName::quote(const std::string& value)
{
    std::string out = "\"";
    for (char c : value)
    {
        if (c == '"' || c == '\\' || c == '*' || c == '?')
            out += '\\', out += c;
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out + "\"";
}

std::string ObjectName::unquote(const std::string& value)
{
    if (value.size() < 2 || value.front() != '"' || value.back() != '"') return value;
    std::string out;
    for (std::size_t i = 1; i + 1 < value.size(); ++i)
    {
        if (value[i] == '\\' && i + 2 < value.size())
        {
            ++i;
            out += value[i] == 'n' ? '\n' : value[i];
        }
        else
            out += value[i];
    }
    return out;
}

std::string ObjectName::property(const std::string& key) const
{
    for (const auto& [k, v] : _properties)
        if (k == key) return v;
    return {};
}

bool ObjectName::hasProperty(const std::string& key) const
{
    return std::any_of(_properties.begin(), _properties.end(), [&](const Property& p) { return p.first == key; });
}

bool ObjectName::isDomainPattern() const
{
    return _domain.find_first_of("*?") != std::string::npos;
}

bool ObjectName::isPropertyValuePattern() const
{
    return std::any_of(_properties.begin(), _properties.end(), [](const Property& p) { return hasWildcard(p.second); });
}

std::string ObjectName::toString() const
{
    if (isEmpty()) return {};
    std::string out = _domain + ":";
    for (std::size_t i = 0; i < _properties.size(); ++i)
        out += (i ? "," : "") + _properties[i].first + "=" + _properties[i].second;
    if (_propertyListPattern) out += _properties.empty() ? "*" : ",*";
    return out;
}

std::string ObjectName::canonicalKeyPropertyList() const
{
    auto colon = _canonical.find(':');
    return colon == std::string::npos ? std::string() : _canonical.substr(colon + 1);
}

bool ObjectName::matches(const ObjectName& name) const
{
    if (isEmpty() || name.isEmpty() || name.isPattern()) return false;
    if (!(isDomainPattern() ? globMatch(_domain, name._domain) : _domain == name._domain)) return false;
    if (!_propertyListPattern && _properties.size() != name._properties.size()) return false;
    for (const auto& [key, value] : _properties)
    {
        if (!name.hasProperty(key)) return false;
        std::string actual = name.property(key);
        if (hasWildcard(value))
        {
            // A quoted pattern matches quoted values: compare inside the quotes.
            bool quoted = value.front() == '"';
            if (quoted != (!actual.empty() && actual.front() == '"')) return false;
            std::string p = quoted ? value.substr(1, value.size() - 2) : value;
            std::string a = quoted ? actual.substr(1, actual.size() - 2) : actual;
            if (!globMatch(p, a)) return false;
        }
        else if (value != actual)
            return false;
    }
    return true;
}

} // namespace mt
