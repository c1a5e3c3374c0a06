#include "monitor/ClusterStatusXml.h"

#include <Poco/JSON/Array.h>

#include <sstream>

namespace mt::monitor {

namespace {

void write(std::ostream& out, const std::string& name, const Poco::Dynamic::Var& value, int depth);

void indent(std::ostream& out, int depth)
{
    for (int i = 0; i < depth; ++i) out << "  ";
}

void writeObject(std::ostream& out, const Poco::JSON::Object& object, int depth)
{
    // Poco's Object keeps keys sorted unless preserveInsertionOrder; both are fine for XML.
    for (const auto& [key, value] : object) write(out, key, value, depth);
}

void write(std::ostream& out, const std::string& name, const Poco::Dynamic::Var& value, int depth)
{
    indent(out, depth);
    if (value.isEmpty())
    {
        out << '<' << name << "/>\n";
        return;
    }
    if (value.type() == typeid(Poco::JSON::Object::Ptr))
    {
        out << '<' << name << ">\n";
        writeObject(out, *value.extract<Poco::JSON::Object::Ptr>(), depth + 1);
        indent(out, depth);
        out << "</" << name << ">\n";
        return;
    }
    if (value.type() == typeid(Poco::JSON::Array::Ptr))
    {
        auto array = value.extract<Poco::JSON::Array::Ptr>();
        out << '<' << name << ">\n";
        std::string item = ClusterStatusXml::itemName(name);
        for (std::size_t i = 0; i < array->size(); ++i) write(out, item, array->get(i), depth + 1);
        indent(out, depth);
        out << "</" << name << ">\n";
        return;
    }
    out << '<' << name << '>' << ClusterStatusXml::escape(value.convert<std::string>()) << "</" << name << ">\n";
}

} // namespace

std::string ClusterStatusXml::itemName(const std::string& arrayName)
{
    if (arrayName == "nodes") return "node";
    if (arrayName == "events") return "event";
    if (arrayName == "sessions") return "session";
    if (arrayName == "roles") return "role";
    if (arrayName == "buckets") return "bucket";
    if (arrayName == "contexts") return "context";
    return "item";
}

std::string ClusterStatusXml::escape(const std::string& text)
{
    std::string out;
    out.reserve(text.size());
    for (char c : text)
    {
        switch (c)
        {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        default:
            // Control characters other than tab/newline are not allowed in XML 1.0.
            if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r')
                out += ' ';
            else
                out += c;
        }
    }
    return out;
}

std::string ClusterStatusXml::toXml(const Poco::JSON::Object::Ptr& document, const std::string& rootName)
{
    std::ostringstream out;
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<" << rootName << ">\n";
    writeObject(out, *document, 1);
    out << "</" << rootName << ">\n";
    return out.str();
}

} // namespace mt::monitor
