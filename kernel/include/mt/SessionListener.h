#pragma once
// Session events (Java's HttpSessionListener + HttpSessionAttributeListener).
// Each event fires exactly once per occurrence, on the node that caused it
// (expiry: on the node whose sweeper removed the session). Listeners are
// called from request and sweeper threads, concurrently: be thread-safe and
// quick. An exception from a listener is logged and does not stop the others.

#include "mt/Api.h"
#include "mt/SessionData.h"

#include <string>

namespace mt {

class MT_API SessionListener
{
public:
    enum class DestroyReason { Invalidated, Expired };

    virtual ~SessionListener();
    virtual void sessionCreated(const SessionData&) {}
    virtual void sessionDestroyed(const SessionData&, DestroyReason) {}
    virtual void attributeAdded(const std::string& /*sessionId*/, const std::string& /*name*/, const std::string& /*json*/) {}
    virtual void attributeReplaced(const std::string& /*sessionId*/, const std::string& /*name*/,
                                   const std::string& /*oldJson*/, const std::string& /*newJson*/) {}
    virtual void attributeRemoved(const std::string& /*sessionId*/, const std::string& /*name*/, const std::string& /*oldJson*/) {}
};

} // namespace mt
