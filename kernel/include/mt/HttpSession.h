#pragma once
// The session of one request (Java's HttpSession). A request-scoped view: it
// records what the request changes and the kernel writes only that (a delta)
// to the context's store, before the response is committed.
//
// Thread-safety: use from the request's thread only.

#include "mt/Api.h"
#include "mt/SessionData.h"

#include <Poco/Dynamic/Var.h>

#include <optional>
#include <string>
#include <vector>

namespace mt {

class MT_API HttpSession
{
public:
    virtual ~HttpSession();

    /// The id, including the route suffix ".<nodeName>".
    virtual const std::string& id() const = 0;
    /// True while the request that created the session runs.
    virtual bool isNew() const = 0;
    virtual TimeMs creationTime() const = 0;
    virtual TimeMs lastAccessedTime() const = 0;
    virtual int maxInactiveInterval() const = 0;
    /// Seconds; <= 0 never expires.
    virtual void setMaxInactiveInterval(int seconds) = 0;

    /// The attribute as JSON text, or nothing.
    virtual std::optional<std::string> attributeJson(const std::string& name) const = 0;
    /// Sets an attribute from JSON text (validated: throws std::invalid_argument
    /// if it does not parse). Setting an equal value changes nothing.
    virtual void setAttributeJson(const std::string& name, const std::string& json) = 0;
    virtual void removeAttribute(const std::string& name) = 0;
    virtual std::vector<std::string> attributeNames() const = 0;

    /// Parsed attribute; an empty Var if absent.
    Poco::Dynamic::Var attribute(const std::string& name) const;
    /// Stores any JSON-representable value (numbers, strings, bools, JSON objects and arrays).
    void setAttribute(const std::string& name, const Poco::Dynamic::Var& value);

    virtual std::uint64_t version() const = 0;
    virtual const VersionVector& versionVector() const = 0;

    /// Ends the session now: destroyed listeners fire, later calls on this
    /// object throw std::logic_error (as Java's IllegalStateException).
    virtual void invalidate() = 0;
    virtual bool isValid() const = 0;
};

} // namespace mt
