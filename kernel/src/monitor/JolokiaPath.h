#pragma once
// The Jolokia protocol's path syntax: the parts of a GET URL
// (/jolokia/read/<mbean>/<attribute>/<inner path>) and the inner paths into
// a value ("nodes/0/status"), both "/"-separated with "!" escaping the next
// character ("!/" is a "/" inside a part, "!!" a "!"). Percent-encoding is
// undone by the HTTP server before this (jolokia.js sends "!%2F").
// Thread-safety: stateless.

#include <Poco/JSON/Object.h>

#include <string>
#include <vector>

namespace mt {

class JolokiaPath
{
public:
    /// "a/b!/c/d!!" -> {"a", "b/c", "d!"}. Empty parts are kept except a trailing one.
    static std::vector<std::string> split(const std::string& path);
    /// The inverse of split() for one part: escapes "!" and "/".
    static std::string escape(const std::string& part);
    /// A request object ({"type":"read","mbean":...}) from the parts of a GET
    /// URL after /jolokia/ ({} or {"version"} give version). Throws
    /// MBeanError 400 for an unknown type or missing parts.
    static Poco::JSON::Object::Ptr parseGet(const std::vector<std::string>& parts);
    /// A GET value: "[null]" is null, "\"\"" the empty string, anything else itself.
    static Poco::Dynamic::Var getValue(const std::string& text);
};

} // namespace mt
