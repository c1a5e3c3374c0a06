#pragma once
// The XML form of GET /cluster/status: the same document as the JSON, an
// element per key, an array as a wrapper element holding one child per
// item named by the singular of the key (nodes/node, events/event, ...).
// Generic on purpose: a field added to the JSON appears in the XML too.

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>

#include <string>

namespace mt::monitor {

class ClusterStatusXml
{
public:
    static std::string toXml(const Poco::JSON::Object::Ptr& document, const std::string& rootName);
    /// "nodes" -> "node", "sessions" -> "session", otherwise "item".
    static std::string itemName(const std::string& arrayName);
    static std::string escape(const std::string& text);
};

} // namespace mt::monitor
