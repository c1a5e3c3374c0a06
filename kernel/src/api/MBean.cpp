#include "mt/MBean.h"
#include "mt/MBeanRegistry.h"

#include <Poco/NumberParser.h>
#include <Poco/String.h>

#include <algorithm>
#include <set>

namespace mt {

namespace {

const std::set<std::string> kIntegerTypes = {"int", "long", "short", "byte", "java.lang.Integer", "java.lang.Long",
                                             "java.lang.Short", "java.lang.Byte"};
const std::set<std::string> kFloatTypes = {"double", "float", "java.lang.Double", "java.lang.Float"};
const std::set<std::string> kBooleanTypes = {"boolean", "java.lang.Boolean"};

MBeanError notConvertible(const Poco::Dynamic::Var& value, const std::string& type)
{
    std::string text = value.isEmpty() ? "null" : value.toString();
    return MBeanError::illegalArgument("cannot convert '" + text + "' to " + type);
}

} // namespace

MBeanError::MBeanError(std::string errorType, int status, const std::string& message)
    : std::runtime_error(message), _errorType(std::move(errorType)), _status(status)
{
}

MBeanError MBeanError::instanceNotFound(const std::string& name)
{
    return MBeanError("javax.management.InstanceNotFoundException", 404, name);
}

MBeanError MBeanError::attributeNotFound(const std::string& attribute, const std::string& name)
{
    return MBeanError("javax.management.AttributeNotFoundException", 404,
                      "No such attribute: " + attribute + (name.empty() ? "" : " (MBean " + name + ")"));
}

MBeanError MBeanError::illegalArgument(const std::string& message)
{
    return MBeanError("java.lang.IllegalArgumentException", 400, message);
}

std::string MBeanOperationInfo::signature() const
{
    std::string out = name + "(";
    for (std::size_t i = 0; i < parameters.size(); ++i) out += (i ? "," : "") + parameters[i].type;
    return out + ")";
}

MBean::MBean(std::string description, std::string className)
    : _description(std::move(description)), _className(std::move(className))
{
}

MBean::~MBean() = default;

MBean& MBean::attribute(const std::string& name, const std::string& type, const std::string& description,
                        MBeanAttributeInfo::Getter getter, MBeanAttributeInfo::Setter setter)
{
    if (findAttribute(name)) throw std::invalid_argument("MBean attribute '" + name + "' declared twice");
    if (!getter) throw std::invalid_argument("MBean attribute '" + name + "' has no getter");
    _attributes.push_back({name, type, description, std::move(getter), std::move(setter)});
    return *this;
}

MBean& MBean::operation(const std::string& name, const std::string& description, const std::string& returnType,
                        std::vector<MBeanParameterInfo> parameters, MBeanOperationInfo::Invoker invoker)
{
    if (!invoker) throw std::invalid_argument("MBean operation '" + name + "' has no invoker");
    MBeanOperationInfo info{name, description, std::move(parameters), returnType, std::move(invoker)};
    for (const auto& existing : _operations)
        if (existing.signature() == info.signature())
            throw std::invalid_argument("MBean operation '" + info.signature() + "' declared twice");
    _operations.push_back(std::move(info));
    return *this;
}

const MBeanAttributeInfo* MBean::findAttribute(const std::string& name) const
{
    for (const auto& a : _attributes)
        if (a.name == name) return &a;
    return nullptr;
}

Poco::Dynamic::Var MBean::getAttribute(const std::string& name) const
{
    const auto* info = findAttribute(name);
    if (!info) throw MBeanError::attributeNotFound(name, "");
    return info->getter();
}

void MBean::setAttribute(const std::string& name, const Poco::Dynamic::Var& value) const
{
    const auto* info = findAttribute(name);
    if (!info) throw MBeanError::attributeNotFound(name, "");
    if (!info->writable()) throw MBeanError::illegalArgument("attribute " + name + " is read-only");
    info->setter(convert(value, info->type));
}

Poco::Dynamic::Var MBean::invoke(const std::string& operation, const std::vector<Poco::Dynamic::Var>& arguments) const
{
    // "name(type,...)" picks one overload; a bare name picks by argument count.
    auto paren = operation.find('(');
    std::string name = Poco::trim(operation.substr(0, paren));
    std::string signature;
    if (paren != std::string::npos)
    {
        for (char c : operation.substr(paren))
            if (c != ' ') signature += c;
        signature = name + signature;
    }
    std::vector<const MBeanOperationInfo*> byName, candidates;
    for (const auto& op : _operations)
        if (op.name == name) byName.push_back(&op);
    if (byName.empty()) throw MBeanError::illegalArgument("No operation " + name + " found on MBean");
    for (const auto* op : byName)
        if (signature.empty() ? op->parameters.size() == arguments.size() : op->signature() == signature)
            candidates.push_back(op);
    if (candidates.empty())
    {
        std::string known;
        for (const auto* op : byName) known += (known.empty() ? "" : ", ") + op->signature();
        throw MBeanError::illegalArgument("No operation " + operation + " with " + std::to_string(arguments.size()) +
                                          " argument(s) (known: " + known + ")");
    }
    if (candidates.size() > 1)
        throw MBeanError::illegalArgument("Operation " + name + " is overloaded: name one signature, e.g. " +
                                          candidates.front()->signature());
    const auto& op = *candidates.front();
    if (op.parameters.size() != arguments.size())
        throw MBeanError::illegalArgument("Operation " + op.signature() + " takes " + std::to_string(op.parameters.size()) +
                                          " argument(s), got " + std::to_string(arguments.size()));
    std::vector<Poco::Dynamic::Var> converted;
    for (std::size_t i = 0; i < arguments.size(); ++i) converted.push_back(convert(arguments[i], op.parameters[i].type));
    return op.invoker(converted);
}

Poco::Dynamic::Var MBean::convert(const Poco::Dynamic::Var& value, const std::string& type)
{
    try
    {
        if (kIntegerTypes.count(type))
        {
            if (value.isEmpty()) throw notConvertible(value, type);
            if (value.isString())
            {
                Poco::Int64 n = 0;
                if (!Poco::NumberParser::tryParse64(Poco::trim(value.toString()), n)) throw notConvertible(value, type);
                return n;
            }
            if (value.isBoolean()) throw notConvertible(value, type);
            return value.convert<Poco::Int64>();
        }
        if (kFloatTypes.count(type))
        {
            if (value.isEmpty()) throw notConvertible(value, type);
            if (value.isString())
            {
                double d = 0;
                if (!Poco::NumberParser::tryParseFloat(Poco::trim(value.toString()), d)) throw notConvertible(value, type);
                return d;
            }
            return value.convert<double>();
        }
        if (kBooleanTypes.count(type))
        {
            if (value.isBoolean()) return value;
            std::string text = Poco::toLower(Poco::trim(value.toString()));
            if (text == "true") return true;
            if (text == "false") return false;
            throw notConvertible(value, type);
        }
        if (type == "java.lang.String") return value.isEmpty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(value.toString());
        return value;
    }
    catch (const MBeanError&)
    {
        throw;
    }
    catch (const std::exception&)
    {
        throw notConvertible(value, type);
    }
}

MBeanRegistry::~MBeanRegistry() = default;

std::shared_ptr<const MBean> MBeanRegistry::get(const ObjectName& name) const
{
    auto mbean = find(name);
    if (!mbean) throw MBeanError::instanceNotFound(name.toString());
    return mbean;
}

} // namespace mt
