#include "cluster/NodeEventJson.h"

#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

namespace mt {

std::string isoTime(TimeMs ms)
{
    if (ms <= 0) return "";
    return Poco::DateTimeFormatter::format(Poco::Timestamp(static_cast<Poco::Timestamp::TimeVal>(ms) * 1000),
                                           "%Y-%m-%dT%H:%M:%S.%iZ");
}

Poco::JSON::Object::Ptr toJson(const NodeEvent& e)
{
    Poco::JSON::Object::Ptr json = new Poco::JSON::Object;
    json->set("sequence", e.sequence);
    json->set("time", isoTime(e.time));
    json->set("node", e.node);
    json->set("from", std::string(toString(e.from)));
    json->set("to", std::string(toString(e.to)));
    json->set("incarnation", e.incarnation);
    json->set("reason", e.reason);
    return json;
}

} // namespace mt
