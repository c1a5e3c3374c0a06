#pragma once
// A managed object: typed, described attributes (read through a getter,
// written through an optional setter) and operations (typed arguments, an
// invoker), the way a JMX DynamicMBean describes itself. Register one in the
// kernel's MBeanRegistry (PluginContext::mbeans()) to make it readable over
// the Jolokia protocol (GET/POST /jolokia/).
//
// Types are JMX type names ("int", "long", "double", "boolean",
// "java.lang.String", "[Ljava.lang.String;", "java.util.Map", ...) because
// Jolokia clients show and convert by them; values are Poco::Dynamic::Var
// holding what Poco::JSON serializes (numbers, strings, bools, JSON objects
// and arrays). Arguments and written values arrive converted to the declared
// type (a string "5" for a "long" becomes 5).
//
// Thread-safety: build it (attribute(), operation()) before registering it;
// after that it is read-only and its getters, setters and invokers may be
// called from any thread at once, so they must be thread-safe themselves.
// Lifetime: a plugin must unregister its MBeans before it is destroyed,
// since the functions live in its library; unregistering waits for calls in
// progress (see MBeanRegistry).

#include "mt/Api.h"

#include <Poco/Dynamic/Var.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace mt {

/// An error with the Java exception type and the HTTP-like status a Jolokia
/// response reports for it, e.g. ("javax.management.AttributeNotFoundException", 404).
class MT_API MBeanError : public std::runtime_error
{
public:
    MBeanError(std::string errorType, int status, const std::string& message);
    const std::string& errorType() const { return _errorType; }
    int status() const { return _status; }

    static MBeanError instanceNotFound(const std::string& name);
    static MBeanError attributeNotFound(const std::string& attribute, const std::string& name);
    static MBeanError illegalArgument(const std::string& message);

private:
    std::string _errorType;
    int _status;
};

struct MT_API MBeanParameterInfo
{
    std::string name;
    std::string type;
    std::string description;
};

struct MT_API MBeanAttributeInfo
{
    using Getter = std::function<Poco::Dynamic::Var()>;
    using Setter = std::function<void(const Poco::Dynamic::Var&)>;

    std::string name;
    std::string type;
    std::string description;
    Getter getter;
    Setter setter; ///< empty: read-only

    bool writable() const { return static_cast<bool>(setter); }
};

struct MT_API MBeanOperationInfo
{
    using Invoker = std::function<Poco::Dynamic::Var(const std::vector<Poco::Dynamic::Var>&)>;

    std::string name;
    std::string description;
    std::vector<MBeanParameterInfo> parameters;
    std::string returnType; ///< "void" for none
    Invoker invoker;

    /// "name(type1,type2)": how Jolokia tells overloads apart.
    std::string signature() const;
};

class MT_API MBean
{
public:
    explicit MBean(std::string description, std::string className = "mt.DynamicMBean");
    virtual ~MBean();

    /// Adds an attribute (a setter makes it writable). Returns *this to chain.
    MBean& attribute(const std::string& name, const std::string& type, const std::string& description,
                     MBeanAttributeInfo::Getter getter, MBeanAttributeInfo::Setter setter = {});
    /// Adds an operation; overloads (same name, other parameter count or types) are allowed.
    MBean& operation(const std::string& name, const std::string& description, const std::string& returnType,
                     std::vector<MBeanParameterInfo> parameters, MBeanOperationInfo::Invoker invoker);

    const std::string& description() const { return _description; }
    const std::string& className() const { return _className; }
    const std::vector<MBeanAttributeInfo>& attributes() const { return _attributes; }
    const std::vector<MBeanOperationInfo>& operations() const { return _operations; }
    const MBeanAttributeInfo* findAttribute(const std::string& name) const;

    /// Throws MBeanError (404 for an unknown attribute).
    Poco::Dynamic::Var getAttribute(const std::string& name) const;
    /// Converts `value` to the attribute's type, then sets it. Throws MBeanError
    /// (404 unknown, 400 read-only or not convertible).
    void setAttribute(const std::string& name, const Poco::Dynamic::Var& value) const;
    /// `operation` is a name, or "name(type,...)" to pick an overload. Converts
    /// the arguments to the parameter types. Throws MBeanError (404 unknown
    /// operation, 400 wrong argument count or type, ambiguous overload).
    Poco::Dynamic::Var invoke(const std::string& operation, const std::vector<Poco::Dynamic::Var>& arguments) const;

    /// `value` converted to JMX type `type` (numbers, boolean, String; other
    /// types pass unchanged). Throws MBeanError 400 if it does not convert.
    static Poco::Dynamic::Var convert(const Poco::Dynamic::Var& value, const std::string& type);

private:
    std::string _description;
    std::string _className;
    std::vector<MBeanAttributeInfo> _attributes;
    std::vector<MBeanOperationInfo> _operations;
};

} // namespace mt
