#pragma once
// The Jolokia protocol over an MBeanRegistry, without HTTP: one request
// object in ({"type":"read","mbean":"Catalina:type=Manager,*",...}), one
// response object out, with "status", "value" or "error_type"/"error", the
// "request" echoed and a "timestamp", as a Jolokia agent answers
// (https://jolokia.org/reference/html/manual/jolokia_protocol.html).
// Types: version, read (one, several or all attributes; ObjectName patterns;
// "path" into the value), write, exec, search, list (with "path").
// Thread-safety: process() may run on any number of threads at once.

#include "mt/MBeanRegistry.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <string>

namespace mt {

class JolokiaProcessor
{
public:
    struct Options
    {
        bool mayWrite = false;     ///< write and exec allowed (the caller showed the admin token)
        bool ignoreErrors = false; ///< a failing attribute of a multi-read becomes its error text
    };

    JolokiaProcessor(MBeanRegistry& registry, std::string agentId);

    /// Never throws: every failure becomes an error response.
    Poco::JSON::Object::Ptr process(const Poco::Dynamic::Var& request, const Options& options) const;
    /// A bulk request (JSON array): one response per element, in order.
    Poco::JSON::Array::Ptr processAll(const Poco::JSON::Array::Ptr& requests, const Options& options) const;

    /// An error response of `errorType`, `status` and `message`.
    static Poco::JSON::Object::Ptr errorResponse(const Poco::Dynamic::Var& request, const std::string& errorType,
                                                 int status, const std::string& message);
    /// `value` below `path` ("key/0/key", "!" escapes); throws MBeanError 400 if absent.
    static Poco::Dynamic::Var extract(const Poco::Dynamic::Var& value, const std::string& path);

private:
    Poco::Dynamic::Var version() const;
    Poco::Dynamic::Var read(const Poco::JSON::Object::Ptr& request, const Options& options) const;
    Poco::Dynamic::Var write(const Poco::JSON::Object::Ptr& request) const;
    Poco::Dynamic::Var exec(const Poco::JSON::Object::Ptr& request) const;
    Poco::Dynamic::Var search(const Poco::JSON::Object::Ptr& request) const;
    Poco::Dynamic::Var list(const Poco::JSON::Object::Ptr& request) const;
    Poco::JSON::Object::Ptr describe(const MBean& mbean) const;

    MBeanRegistry& _registry;
    std::string _agentId;
};

} // namespace mt
