#pragma once
// One HTTP request as a handler sees it. Thread-safety: the request's thread only.

#include "mt/Api.h"

#include <Poco/Net/NameValueCollection.h>
#include <Poco/Net/SocketAddress.h>

#include <istream>
#include <string>

namespace mt {

class HttpSession;

class MT_API HttpRequest
{
public:
    virtual ~HttpRequest();

    virtual const std::string& method() const = 0;
    /// The request target as received, e.g. "/cart/add?item=x".
    virtual const std::string& uri() const = 0;
    /// The context's mount path, e.g. "/cart" ("" for the root context).
    virtual const std::string& contextPath() const = 0;
    /// The decoded path below the context path, e.g. "/add" (always starts with "/").
    virtual const std::string& pathInfo() const = 0;
    /// The raw query string (after '?'), possibly empty.
    virtual const std::string& query() const = 0;
    /// A query (or, for an urlencoded form body, form) parameter; `fallback` if absent.
    virtual std::string parameter(const std::string& name, const std::string& fallback = "") const = 0;
    virtual bool hasParameter(const std::string& name) const = 0;
    /// A request header, case-insensitive; `fallback` if absent.
    virtual std::string header(const std::string& name, const std::string& fallback = "") const = 0;
    virtual const Poco::Net::NameValueCollection& headers() const = 0;
    virtual Poco::Net::SocketAddress clientAddress() const = 0;

    /// The body as a stream (decoded from chunked if need be). Reading past
    /// the server's body limit throws mt::BodyTooLarge (the kernel answers 413).
    virtual std::istream& body() = 0;
    /// The whole body (same limit).
    virtual std::string readBody() = 0;

    /// The current session; creates one if there is none and `create` is set,
    /// else returns null. The pointer is valid until the request ends. Once
    /// the response is committed, creating one throws std::logic_error (its
    /// cookie could not be sent), and so do changes to the session (they
    /// would be lost), unless flushMode=IMMEDIATE writes them at once.
    virtual HttpSession* session(bool create = true) = 0;
    /// Gives the current session a new id (call after a login), keeping its
    /// data. Returns the new id. Throws std::logic_error without a session,
    /// or once the response is committed.
    virtual std::string changeSessionId() = 0;
};

} // namespace mt
