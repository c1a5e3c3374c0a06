#include "monitor/JolokiaProcessor.h"

#include "monitor/JolokiaPath.h"

#include <Poco/NumberParser.h>
#include <Poco/Timestamp.h>

namespace mt {

namespace {

constexpr const char* kProtocol = "7.2";
constexpr const char* kAgentVersion = "2.0.0-microtomcat";

std::string stringMember(const Poco::JSON::Object::Ptr& request, const std::string& key, bool required)
{
    if (!request->has(key) || request->get(key).isEmpty())
    {
        if (required) throw MBeanError::illegalArgument("request has no '" + key + "'");
        return {};
    }
    return request->get(key).toString();
}

ObjectName parseName(const std::string& text)
{
    try
    {
        return ObjectName(text);
    }
    catch (const MalformedObjectName& e)
    {
        throw MBeanError("javax.management.MalformedObjectNameException", 400, e.what());
    }
}

/// "path" may be a string ("a/b!/c") or an array of parts.
std::string pathOf(const Poco::JSON::Object::Ptr& request)
{
    if (!request->has("path") || request->get("path").isEmpty()) return {};
    auto value = request->get("path");
    if (value.type() == typeid(Poco::JSON::Array::Ptr))
    {
        std::string path;
        auto parts = value.extract<Poco::JSON::Array::Ptr>();
        for (std::size_t i = 0; i < parts->size(); ++i) path += (i ? "/" : "") + JolokiaPath::escape(parts->get(i).toString());
        return path;
    }
    return value.toString();
}

} // namespace

JolokiaProcessor::JolokiaProcessor(MBeanRegistry& registry, std::string agentId)
    : _registry(registry), _agentId(std::move(agentId))
{
}

Poco::JSON::Object::Ptr JolokiaProcessor::errorResponse(const Poco::Dynamic::Var& request, const std::string& errorType,
                                                        int status, const std::string& message)
{
    Poco::JSON::Object::Ptr response = new Poco::JSON::Object;
    if (!request.isEmpty()) response->set("request", request);
    response->set("error_type", errorType);
    response->set("error", errorType + " : " + message);
    response->set("status", status);
    response->set("timestamp", Poco::Int64(Poco::Timestamp().epochTime()));
    return response;
}

Poco::JSON::Array::Ptr JolokiaProcessor::processAll(const Poco::JSON::Array::Ptr& requests, const Options& options) const
{
    Poco::JSON::Array::Ptr responses = new Poco::JSON::Array;
    for (std::size_t i = 0; i < requests->size(); ++i) responses->add(process(requests->get(i), options));
    return responses;
}

Poco::JSON::Object::Ptr JolokiaProcessor::process(const Poco::Dynamic::Var& requestVar, const Options& options) const
{
    try
    {
        if (requestVar.type() != typeid(Poco::JSON::Object::Ptr))
            throw MBeanError::illegalArgument("a request must be a JSON object with a \"type\"");
        auto request = requestVar.extract<Poco::JSON::Object::Ptr>();
        std::string type = stringMember(request, "type", true);
        Poco::Dynamic::Var value;
        if (type == "version")
            value = version();
        else if (type == "read")
            value = read(request, options);
        else if (type == "write" || type == "exec")
        {
            if (!options.mayWrite)
                throw MBeanError("java.lang.SecurityException", 403,
                                 type + " needs the admin token (Authorization: Bearer <admin.token>) from a client admin endpoints answer");
            value = type == "write" ? write(request) : exec(request);
        }
        else if (type == "search")
            value = search(request);
        else if (type == "list")
            value = list(request);
        else
            throw MBeanError::illegalArgument("Invalid request type '" + type + "' (known: version, read, write, exec, search, list)");
        Poco::JSON::Object::Ptr response = new Poco::JSON::Object;
        response->set("request", request);
        response->set("value", value);
        response->set("status", 200);
        response->set("timestamp", Poco::Int64(Poco::Timestamp().epochTime()));
        return response;
    }
    catch (const MBeanError& e)
    {
        return errorResponse(requestVar, e.errorType(), e.status(), e.what());
    }
    catch (const MalformedObjectName& e)
    {
        return errorResponse(requestVar, "javax.management.MalformedObjectNameException", 400, e.what());
    }
    catch (const std::exception& e)
    {
        // A getter or operation failed: Jolokia reports it as the MBean's exception.
        return errorResponse(requestVar, "javax.management.RuntimeMBeanException", 500, e.what());
    }
}

Poco::Dynamic::Var JolokiaProcessor::version() const
{
    Poco::JSON::Object::Ptr value = new Poco::JSON::Object;
    value->set("agent", std::string(kAgentVersion));
    value->set("protocol", std::string(kProtocol));
    Poco::JSON::Object::Ptr config = new Poco::JSON::Object;
    config->set("agentId", _agentId);
    config->set("agentType", "microtomcat");
    config->set("canonicalNaming", "true");
    value->set("config", config);
    Poco::JSON::Object::Ptr info = new Poco::JSON::Object;
    info->set("product", "microtomcat");
    info->set("vendor", "Micro Tomcat");
    info->set("version", "0.1.0");
    value->set("info", info);
    value->set("id", _agentId);
    return value;
}

Poco::Dynamic::Var JolokiaProcessor::extract(const Poco::Dynamic::Var& value, const std::string& path)
{
    Poco::Dynamic::Var current = value;
    for (const auto& part : JolokiaPath::split(path))
    {
        if (part.empty()) continue;
        if (current.type() == typeid(Poco::JSON::Object::Ptr))
        {
            auto object = current.extract<Poco::JSON::Object::Ptr>();
            if (!object->has(part)) throw MBeanError::illegalArgument("path '" + path + "': no key '" + part + "'");
            current = object->get(part);
        }
        else if (current.type() == typeid(Poco::JSON::Array::Ptr))
        {
            auto array = current.extract<Poco::JSON::Array::Ptr>();
            unsigned index = 0;
            if (!Poco::NumberParser::tryParseUnsigned(part, index) || index >= array->size())
                throw MBeanError::illegalArgument("path '" + path + "': '" + part + "' is not an index below " +
                                                  std::to_string(array->size()));
            current = array->get(index);
        }
        else
            throw MBeanError::illegalArgument("path '" + path + "': '" + part + "' goes below a simple value");
    }
    return current;
}

Poco::Dynamic::Var JolokiaProcessor::read(const Poco::JSON::Object::Ptr& request, const Options& options) const
{
    ObjectName name = parseName(stringMember(request, "mbean", true));
    std::string path = pathOf(request);
    // null or absent: all attributes; a string: one; an array: those.
    std::vector<std::string> wanted;
    bool single = false;
    if (request->has("attribute") && !request->get("attribute").isEmpty())
    {
        auto attribute = request->get("attribute");
        if (attribute.type() == typeid(Poco::JSON::Array::Ptr))
        {
            auto array = attribute.extract<Poco::JSON::Array::Ptr>();
            for (std::size_t i = 0; i < array->size(); ++i) wanted.push_back(array->get(i).toString());
        }
        else
        {
            wanted.push_back(attribute.toString());
            single = true;
        }
    }

    // Reads the chosen attributes of one MBean into an object; with `skipMissing`
    // (patterns) an MBean lacking an attribute simply does not show it.
    auto readMBean = [&](const ObjectName& mbeanName, const MBean& mbean, bool skipMissing) {
        Poco::JSON::Object::Ptr values = new Poco::JSON::Object;
        std::vector<std::string> names = wanted;
        if (names.empty())
            for (const auto& a : mbean.attributes()) names.push_back(a.name);
        for (const auto& attribute : names)
        {
            if (!mbean.findAttribute(attribute))
            {
                if (skipMissing) continue;
                throw MBeanError::attributeNotFound(attribute, mbeanName.toString());
            }
            try
            {
                values->set(attribute, path.empty() ? mbean.getAttribute(attribute) : extract(mbean.getAttribute(attribute), path));
            }
            catch (const std::exception& e)
            {
                if (!options.ignoreErrors) throw;
                values->set(attribute, std::string("ERROR: ") + e.what());
            }
        }
        return values;
    };

    if (!name.isPattern())
    {
        auto mbean = _registry.get(name);
        if (single)
        {
            if (!mbean->findAttribute(wanted.front())) throw MBeanError::attributeNotFound(wanted.front(), name.toString());
            auto value = mbean->getAttribute(wanted.front());
            return path.empty() ? value : extract(value, path);
        }
        return readMBean(name, *mbean, false);
    }
    Poco::JSON::Object::Ptr result = new Poco::JSON::Object;
    for (const auto& match : _registry.queryNames(name))
    {
        auto mbean = _registry.find(match);
        if (!mbean) continue; // unregistered meanwhile
        auto values = readMBean(match, *mbean, true);
        if (values->size() > 0) result->set(match.canonicalName(), values);
    }
    if (result->size() == 0)
    {
        if (_registry.queryNames(name).empty())
            throw MBeanError::instanceNotFound("No MBean with pattern " + name.toString() + " found for reading attributes");
        throw MBeanError::attributeNotFound(wanted.empty() ? "*" : wanted.front(), name.toString());
    }
    return result;
}

Poco::Dynamic::Var JolokiaProcessor::write(const Poco::JSON::Object::Ptr& request) const
{
    ObjectName name = parseName(stringMember(request, "mbean", true));
    if (name.isPattern()) throw MBeanError::illegalArgument("write needs one MBean, not the pattern " + name.toString());
    std::string attribute = stringMember(request, "attribute", true);
    if (!pathOf(request).empty()) throw MBeanError::illegalArgument("write with a path is not supported");
    auto mbean = _registry.get(name);
    if (!mbean->findAttribute(attribute)) throw MBeanError::attributeNotFound(attribute, name.toString());
    auto old = mbean->getAttribute(attribute);
    mbean->setAttribute(attribute, request->has("value") ? request->get("value") : Poco::Dynamic::Var());
    return old; // Jolokia answers the value the attribute had
}

Poco::Dynamic::Var JolokiaProcessor::exec(const Poco::JSON::Object::Ptr& request) const
{
    ObjectName name = parseName(stringMember(request, "mbean", true));
    if (name.isPattern()) throw MBeanError::illegalArgument("exec needs one MBean, not the pattern " + name.toString());
    std::string operation = stringMember(request, "operation", true);
    std::vector<Poco::Dynamic::Var> arguments;
    if (request->has("arguments") && !request->get("arguments").isEmpty())
    {
        auto value = request->get("arguments");
        if (value.type() != typeid(Poco::JSON::Array::Ptr))
            throw MBeanError::illegalArgument("'arguments' must be an array");
        auto array = value.extract<Poco::JSON::Array::Ptr>();
        for (std::size_t i = 0; i < array->size(); ++i) arguments.push_back(array->get(i));
    }
    auto mbean = _registry.get(name);
    return mbean->invoke(operation, arguments);
}

Poco::Dynamic::Var JolokiaProcessor::search(const Poco::JSON::Object::Ptr& request) const
{
    ObjectName pattern = parseName(stringMember(request, "mbean", true));
    Poco::JSON::Array::Ptr names = new Poco::JSON::Array;
    for (const auto& name : _registry.queryNames(pattern)) names->add(name.canonicalName());
    return names;
}

Poco::JSON::Object::Ptr JolokiaProcessor::describe(const MBean& mbean) const
{
    Poco::JSON::Object::Ptr info = new Poco::JSON::Object;
    info->set("desc", mbean.description());
    info->set("class", mbean.className());
    Poco::JSON::Object::Ptr attributes = new Poco::JSON::Object;
    for (const auto& a : mbean.attributes())
    {
        Poco::JSON::Object::Ptr one = new Poco::JSON::Object;
        one->set("type", a.type);
        one->set("desc", a.description);
        one->set("rw", a.writable());
        attributes->set(a.name, one);
    }
    if (attributes->size() > 0) info->set("attr", attributes);
    Poco::JSON::Object::Ptr operations = new Poco::JSON::Object;
    for (const auto& op : mbean.operations())
    {
        Poco::JSON::Object::Ptr one = new Poco::JSON::Object;
        Poco::JSON::Array::Ptr args = new Poco::JSON::Array;
        for (const auto& p : op.parameters)
        {
            Poco::JSON::Object::Ptr arg = new Poco::JSON::Object;
            arg->set("name", p.name);
            arg->set("type", p.type);
            arg->set("desc", p.description);
            args->add(arg);
        }
        one->set("args", args);
        one->set("ret", op.returnType);
        one->set("desc", op.description);
        // Overloads share a name: Jolokia lists them as an array.
        if (operations->has(op.name))
        {
            auto existing = operations->get(op.name);
            Poco::JSON::Array::Ptr overloads;
            if (existing.type() == typeid(Poco::JSON::Array::Ptr))
                overloads = existing.extract<Poco::JSON::Array::Ptr>();
            else
            {
                overloads = new Poco::JSON::Array;
                overloads->add(existing);
            }
            overloads->add(one);
            operations->set(op.name, overloads);
        }
        else
            operations->set(op.name, one);
    }
    if (operations->size() > 0) info->set("op", operations);
    return info;
}

Poco::Dynamic::Var JolokiaProcessor::list(const Poco::JSON::Object::Ptr& request) const
{
    auto parts = JolokiaPath::split(pathOf(request));
    while (!parts.empty() && parts.back().empty()) parts.pop_back();
    if (!parts.empty() && parts.front().empty()) parts.erase(parts.begin());
    Poco::JSON::Object::Ptr domains = new Poco::JSON::Object;
    if (parts.size() >= 2)
    {
        // One MBean: build only its entry, then walk the rest of the path.
        ObjectName name = parseName(parts[0] + ":" + parts[1]);
        auto mbean = _registry.get(name);
        Poco::Dynamic::Var value = describe(*mbean);
        std::string rest;
        for (std::size_t i = 2; i < parts.size(); ++i) rest += (i > 2 ? "/" : "") + JolokiaPath::escape(parts[i]);
        return rest.empty() ? value : extract(value, rest);
    }
    for (const auto& name : _registry.queryNames(ObjectName()))
    {
        if (!parts.empty() && name.domain() != parts[0]) continue;
        auto mbean = _registry.find(name);
        if (!mbean) continue;
        Poco::JSON::Object::Ptr domain;
        if (domains->has(name.domain()))
            domain = domains->getObject(name.domain());
        else
        {
            domain = new Poco::JSON::Object;
            domains->set(name.domain(), domain);
        }
        domain->set(name.canonicalKeyPropertyList(), describe(*mbean));
    }
    if (parts.empty()) return domains;
    if (!domains->has(parts[0])) throw MBeanError::instanceNotFound("No MBean of domain " + parts[0]);
    return domains->get(parts[0]);
}

} // namespace mt
