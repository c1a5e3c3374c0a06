#include "mt/HttpSession.h"

#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <sstream>

namespace mt {

Poco::Dynamic::Var HttpSession::attribute(const std::string& name) const
{
    auto json = attributeJson(name);
    if (!json) return {};
    Poco::JSON::Parser parser;
    return parser.parse(*json);
}

void HttpSession::setAttribute(const std::string& name, const Poco::Dynamic::Var& value)
{
    std::ostringstream out;
    Poco::JSON::Stringifier::stringify(value, out);
    setAttributeJson(name, out.str());
}

} // namespace mt
