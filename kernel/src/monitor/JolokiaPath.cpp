#include "monitor/JolokiaPath.h"

#include "mt/MBean.h"

#include <Poco/JSON/Array.h>
#include <Poco/String.h>

namespace mt {

std::vector<std::string> JolokiaPath::split(const std::string& path)
{
    std::vector<std::string> parts;
    std::string current;
    bool any = false;
    for (std::size_t i = 0; i < path.size(); ++i)
    {
        char c = path[i];
        if (c == '!' && i + 1 < path.size())
        {
            current += path[++i];
            any = true;
        }
        else if (c == '/')
        {
            parts.push_back(current);
            current.clear();
            any = false;
        }
        else
        {
            current += c;
            any = true;
        }
    }
    if (any || !current.empty()) parts.push_back(current);
    return parts;
}

std::string JolokiaPath::escape(const std::string& part)
{
    std::string out;
    for (char c : part)
    {
        if (c == '!' || c == '/') out += '!';
        out += c;
    }
    return out;
}

Poco::Dynamic::Var JolokiaPath::getValue(const std::string& text)
{
    if (text == "[null]") return Poco::Dynamic::Var();
    if (text == "\"\"") return std::string();
    return text;
}

Poco::JSON::Object::Ptr JolokiaPath::parseGet(const std::vector<std::string>& parts)
{
    Poco::JSON::Object::Ptr request = new Poco::JSON::Object;
    std::string type = parts.empty() || parts[0].empty() ? "version" : Poco::toLower(parts[0]);
    request->set("type", type);
    auto need = [&](std::size_t count, const std::string& what) {
        if (parts.size() < count || parts[count - 1].empty())
            throw MBeanError::illegalArgument("GET " + type + ": " + what + " missing (/jolokia/" + type + "/...)");
    };
    auto rest = [&](std::size_t from) {
        std::string path;
        for (std::size_t i = from; i < parts.size(); ++i) path += (i > from ? "/" : "") + escape(parts[i]);
        return path;
    };
    if (type == "version") return request;
    if (type == "read")
    {
        need(2, "the MBean name");
        request->set("mbean", parts[1]);
        if (parts.size() > 2 && !parts[2].empty() && parts[2] != "*")
        {
            if (parts[2].find(',') != std::string::npos)
            {
                Poco::JSON::Array::Ptr attributes = new Poco::JSON::Array;
                std::string list = parts[2];
                std::size_t pos = 0;
                while (pos <= list.size())
                {
                    auto comma = list.find(',', pos);
                    if (comma == std::string::npos) comma = list.size();
                    std::string one = Poco::trim(list.substr(pos, comma - pos));
                    if (!one.empty()) attributes->add(one);
                    pos = comma + 1;
                }
                request->set("attribute", attributes);
            }
            else
                request->set("attribute", parts[2]);
        }
        if (parts.size() > 3) request->set("path", rest(3));
        return request;
    }
    if (type == "write")
    {
        need(3, "the MBean name and attribute");
        if (parts.size() < 4) throw MBeanError::illegalArgument("GET write: the value is missing (/jolokia/write/<mbean>/<attribute>/<value>)");
        request->set("mbean", parts[1]);
        request->set("attribute", parts[2]);
        request->set("value", getValue(parts[3]));
        if (parts.size() > 4) request->set("path", rest(4));
        return request;
    }
    if (type == "exec")
    {
        need(3, "the MBean name and operation");
        request->set("mbean", parts[1]);
        request->set("operation", parts[2]);
        Poco::JSON::Array::Ptr arguments = new Poco::JSON::Array;
        for (std::size_t i = 3; i < parts.size(); ++i) arguments->add(getValue(parts[i]));
        request->set("arguments", arguments);
        return request;
    }
    if (type == "search")
    {
        need(2, "the MBean pattern");
        request->set("mbean", parts[1]);
        return request;
    }
    if (type == "list")
    {
        if (parts.size() > 1) request->set("path", rest(1));
        return request;
    }
    throw MBeanError::illegalArgument("Invalid request type '" + type + "' (known: version, read, write, exec, search, list)");
}

} // namespace mt
