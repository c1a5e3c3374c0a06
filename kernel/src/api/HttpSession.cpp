#include "mt/HttpSession.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <sstream>

namespace mt {

Poco::Dynamic::Var HttpSession::attribute(const std::string& name) const
{
    auto json = attributeJson(name);
    if (!json) return {};
    // Poco 1.11's parser refuses a bare scalar ("41", "\"x\"") at the top
    // level, so parse the value as the one element of an array.
    auto array = Poco::JSON::Parser().parse("[" + *json + "]").extract<Poco::JSON::Array::Ptr>();
    return array->get(0);
}

void HttpSession::setAttribute(const std::string& name, const Poco::Dynamic::Var& value)
{
    std::ostringstream out;
    Poco::JSON::Stringifier::stringify(value, out);
    setAttributeJson(name, out.str());
}

} // namespace mt
