#pragma once
// A JMX ObjectName: "domain:key=value,key=value", the name of an MBean in an
// MBeanRegistry. Parsed, compared and printed the way javax.management.ObjectName
// does it, so names (and Jolokia requests naming them) read the same as on a
// JVM: "Catalina:type=Manager,context=/cart,host=localhost".
//
// A name may be a pattern (for queries): "*" and "?" in the domain, a value
// "*" or containing "*" / "?" (property value pattern), or a trailing ",*"
// (property list pattern: other keys may be present). Quoted values keep
// their quotes as part of the value, as in JMX (name="http").
// Thread-safety: an immutable value type.

#include "mt/Api.h"

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mt {

/// Thrown for a string that is not an ObjectName; the message says why.
class MT_API MalformedObjectName : public std::invalid_argument
{
public:
    using std::invalid_argument::invalid_argument;
};

class MT_API ObjectName
{
public:
    using Property = std::pair<std::string, std::string>;

    /// The empty name (isEmpty()); matches nothing, equals only itself.
    ObjectName();
    /// Parses `text`; throws MalformedObjectName.
    explicit ObjectName(const std::string& text);
    /// Builds a name from parts (values as written, quoted or not); throws MalformedObjectName.
    ObjectName(const std::string& domain, const std::vector<Property>& properties);

    /// Parses without throwing; on failure returns false and sets `error` if given.
    static bool tryParse(const std::string& text, ObjectName& name, std::string* error = nullptr);
    /// `value` as a quoted JMX value: "..." with \" \\ \* \? \n escaped.
    static std::string quote(const std::string& value);
    /// The inverse of quote() (a value that is not quoted is returned as is).
    static std::string unquote(const std::string& value);

    bool isEmpty() const { return _domain.empty() && _properties.empty() && !_propertyListPattern; }
    const std::string& domain() const { return _domain; }
    /// Key properties in the order they were written.
    const std::vector<Property>& properties() const { return _properties; }
    /// The value of `key` as written ("" if absent).
    std::string property(const std::string& key) const;
    bool hasProperty(const std::string& key) const;

    bool isPattern() const { return isDomainPattern() || isPropertyPattern(); }
    bool isDomainPattern() const;
    bool isPropertyListPattern() const { return _propertyListPattern; }
    bool isPropertyValuePattern() const;
    bool isPropertyPattern() const { return isPropertyListPattern() || isPropertyValuePattern(); }

    /// "domain:k1=v1,k2=v2" with keys sorted, plus ",*" for a property list
    /// pattern: the form two equal names share (JMX getCanonicalName()).
    const std::string& canonicalName() const { return _canonical; }
    /// The keys in the order they were written (JMX toString()).
    std::string toString() const;
    /// The key properties sorted, without the domain (JMX getCanonicalKeyPropertyListString()).
    std::string canonicalKeyPropertyList() const;

    /// True if this name, a pattern or not, selects `name` (JMX apply()):
    /// a pattern `name` is never selected.
    bool matches(const ObjectName& name) const;

    bool operator==(const ObjectName& other) const { return _canonical == other._canonical; }
    bool operator!=(const ObjectName& other) const { return _canonical != other._canonical; }
    bool operator<(const ObjectName& other) const { return _canonical < other._canonical; }

private:
    void validateAndFinish();

    std::string _domain;
    std::vector<Property> _properties;
    bool _propertyListPattern = false;
    std::string _canonical;
};

} // namespace mt
