#include "mt/SessionSerializer.h"


#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <charconv>
#include <limits>

namespace mt {

namespace {

/// JSON string literal that round-trips every byte (JsonText's helper blanks
/// control characters, which attribute JSON may legitimately contain inside strings).
void appendExactString(std::string& out, const std::string& text)
{
    static const char* hex = "0123456789abcdef";
    out += '"';
    for (unsigned char c : text)
    {
        if (c == '"' || c == '\\')
        {
            out += '\\';
            out += static_cast<char>(c);
        }
        else if (c < 0x20)
        {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
        else
            out += static_cast<char>(c);
    }
    out += '"';
}

std::int64_t requiredInt(const Poco::JSON::Object& object, const std::string& name)
{
    if (!object.has(name)) throw SessionFormatError("missing \"" + name + "\"");
    Poco::Dynamic::Var value = object.get(name);
    if (!value.isInteger()) throw SessionFormatError("\"" + name + "\" is not an integer");
    return value.convert<Poco::Int64>();
}

std::int64_t requiredField(const std::map<std::string, std::string>& fields, const std::string& name)
{
    auto it = fields.find(name);
    if (it == fields.end()) throw SessionFormatError("missing field \"" + name + "\"");
    std::int64_t value = 0;
    if (!SessionSerializer::parseInt(it->second, value))
        throw SessionFormatError("field \"" + name + "\" is not an integer: '" + it->second.substr(0, 40) + "'");
    return value;
}

void checkSchema(std::int64_t schema)
{
    if (schema > SessionSerializer::kSchemaVersion)
        throw SessionFormatError("written by schema " + std::to_string(schema) + ", this build reads up to " +
                                 std::to_string(SessionSerializer::kSchemaVersion));
    if (schema < 1) throw SessionFormatError("bad schema " + std::to_string(schema));
}

bool startsWith(const std::string& text, const char* prefix)
{
    return text.rfind(prefix, 0) == 0;
}

// The values a counter or a flag stores: checked without building a parser.
bool isSimpleJson(const std::string& json)
{
    if (json == "true" || json == "false" || json == "null") return true;
    std::size_t i = json.size() > 0 && json[0] == '-' ? 1 : 0;
    if (i >= json.size() || json.size() - i > 18) return false;
    if (json[i] == '0') return json.size() == i + 1;
    for (; i < json.size(); ++i)
        if (json[i] < '0' || json[i] > '9') return false;
    return true;
}

void checkAttribute(const std::string& name, const std::string& json)
{
    const std::string problem = SessionSerializer::jsonValueProblem(json);
    if (!problem.empty()) throw SessionFormatError("attribute \"" + name.substr(0, 60) + "\": " + problem);
}

} // namespace

std::string SessionSerializer::jsonValueProblem(const std::string& text)
{
    if (isSimpleJson(text)) return {};
    // Poco 1.11's parser refuses a scalar at top level ("Attempt to set value
    // on an empty stack"), so the value is parsed as the only element of an
    // array; "1,2" parses too, hence the size check.
    try
    {
        Poco::JSON::Parser parser;
        auto parsed = parser.parse("[" + text + "]");
        if (parsed.extract<Poco::JSON::Array::Ptr>()->size() != 1) return "not one JSON value: '" + text.substr(0, 40) + "'";
        return {};
    }
    catch (const Poco::Exception& e)
    {
        return "not valid JSON: " + e.displayText();
    }
    catch (const std::exception& e)
    {
        return std::string("not valid JSON: ") + e.what();
    }
}

bool SessionSerializer::parseInt(const std::string& text, std::int64_t& value)
{
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    return ec == std::errc() && ptr == end && !text.empty();
}

std::string SessionSerializer::toJson(const SessionData& data, const std::string& context)
{
    std::string out = "{\"schema\":" + std::to_string(kSchemaVersion) + ",\"id\":";
    appendExactString(out, data.id);
    out += ",\"context\":";
    appendExactString(out, context);
    out += ",\"creationTime\":" + std::to_string(data.creationTime);
    out += ",\"lastAccessedTime\":" + std::to_string(data.lastAccessedTime);
    out += ",\"maxInactiveInterval\":" + std::to_string(data.maxInactiveInterval);
    out += ",\"version\":" + std::to_string(data.version);
    out += ",\"versionVector\":{";
    bool first = true;
    for (const auto& [node, counter] : data.versionVector.entries())
    {
        if (!first) out += ',';
        first = false;
        appendExactString(out, node);
        out += ':' + std::to_string(counter);
    }
    out += "},\"attributes\":{";
    first = true;
    for (const auto& [name, json] : data.attributes)
    {
        if (!first) out += ',';
        first = false;
        appendExactString(out, name);
        out += ':';
        appendExactString(out, json);
    }
    out += "}}";
    return out;
}

SessionData SessionSerializer::fromJson(const std::string& json, std::string* context)
{
    Poco::JSON::Object::Ptr object;
    try
    {
        Poco::JSON::Parser parser;
        object = parser.parse(json).extract<Poco::JSON::Object::Ptr>();
    }
    catch (const Poco::Exception& e)
    {
        throw SessionFormatError("not a JSON object: " + e.displayText());
    }
    catch (const std::exception& e)
    {
        throw SessionFormatError(std::string("not a JSON object: ") + e.what());
    }
    if (!object) throw SessionFormatError("not a JSON object");
    try
    {
        checkSchema(requiredInt(*object, "schema"));
        SessionData data;
        if (!object->has("id") || !object->get("id").isString()) throw SessionFormatError("missing \"id\"");
        data.id = object->getValue<std::string>("id");
        if (context) *context = object->has("context") ? object->getValue<std::string>("context") : "";
        data.creationTime = requiredInt(*object, "creationTime");
        data.lastAccessedTime = requiredInt(*object, "lastAccessedTime");
        std::int64_t maxInactive = requiredInt(*object, "maxInactiveInterval");
        if (maxInactive > std::numeric_limits<int>::max() || maxInactive < std::numeric_limits<int>::min())
            throw SessionFormatError("\"maxInactiveInterval\" out of range");
        data.maxInactiveInterval = static_cast<int>(maxInactive);
        std::int64_t version = requiredInt(*object, "version");
        if (version < 0) throw SessionFormatError("negative \"version\"");
        data.version = static_cast<std::uint64_t>(version);
        if (auto vv = object->getObject("versionVector"))
            for (const auto& [node, counter] : *vv)
            {
                if (!counter.isInteger() || counter.convert<Poco::Int64>() < 0)
                    throw SessionFormatError("version vector entry \"" + node + "\" is not a counter");
                data.versionVector.set(node, counter.convert<Poco::UInt64>());
            }
        if (auto attributes = object->getObject("attributes"))
            for (const auto& [name, value] : *attributes)
            {
                if (!value.isString()) throw SessionFormatError("attribute \"" + name + "\" is not JSON text");
                std::string text = value.convert<std::string>();
                checkAttribute(name, text);
                data.attributes.emplace(name, std::move(text));
            }
        return data;
    }
    catch (const Poco::Exception& e)
    {
        throw SessionFormatError("bad field: " + e.displayText());
    }
}

std::vector<std::pair<std::string, std::string>> SessionSerializer::toFields(const SessionData& data)
{
    std::vector<std::pair<std::string, std::string>> fields;
    fields.reserve(5 + data.versionVector.entries().size() + data.attributes.size());
    fields.emplace_back("schema", std::to_string(kSchemaVersion));
    fields.emplace_back("created", std::to_string(data.creationTime));
    fields.emplace_back("accessed", std::to_string(data.lastAccessedTime));
    fields.emplace_back("maxInactive", std::to_string(data.maxInactiveInterval));
    fields.emplace_back("version", std::to_string(data.version));
    for (const auto& [node, counter] : data.versionVector.entries())
        fields.emplace_back(kVersionVectorPrefix + node, std::to_string(counter));
    for (const auto& [name, json] : data.attributes) fields.emplace_back(kAttributePrefix + name, json);
    return fields;
}

SessionData SessionSerializer::fromFields(const std::string& id, const std::map<std::string, std::string>& fields)
{
    checkSchema(requiredField(fields, "schema"));
    SessionData data;
    data.id = id;
    data.creationTime = requiredField(fields, "created");
    data.lastAccessedTime = requiredField(fields, "accessed");
    std::int64_t maxInactive = requiredField(fields, "maxInactive");
    if (maxInactive > std::numeric_limits<int>::max() || maxInactive < std::numeric_limits<int>::min())
        throw SessionFormatError("field \"maxInactive\" out of range");
    data.maxInactiveInterval = static_cast<int>(maxInactive);
    std::int64_t version = requiredField(fields, "version");
    if (version < 0) throw SessionFormatError("negative field \"version\"");
    data.version = static_cast<std::uint64_t>(version);
    for (const auto& [name, value] : fields)
    {
        if (startsWith(name, kAttributePrefix))
        {
            checkAttribute(name.substr(2), value);
            data.attributes.emplace_hint(data.attributes.end(), name.substr(2), value);
        }
        else if (startsWith(name, kVersionVectorPrefix))
        {
            std::int64_t counter = 0;
            if (!parseInt(value, counter) || counter < 0)
                throw SessionFormatError("field \"" + name + "\" is not a counter: '" + value.substr(0, 40) + "'");
            data.versionVector.set(name.substr(3), static_cast<std::uint64_t>(counter));
        }
        else if (name != "schema" && name != "created" && name != "accessed" && name != "maxInactive" &&
                 name != "version")
            throw SessionFormatError("unknown field \"" + name.substr(0, 60) + "\"");
    }
    return data;
}

} // namespace mt
