#pragma once
// The kernel's implementation of mt::HttpRequest. Built by the connection
// code from the parsed request head; the dispatcher then sets the context
// and the session source.
//
// PUBLIC INTERFACE FIXED (the dispatcher codes against it); the http module
// owns the implementation and may add private members and constructors.

#include "http/SessionSource.h"
#include "mt/HttpRequest.h"

#include <Poco/Net/HTTPRequest.h>

#include <memory>
#include <string>

namespace mt::http {

class ServerRequest : public mt::HttpRequest
{
public:
    // mt::HttpRequest
    const std::string& method() const override;
    const std::string& uri() const override;
    const std::string& contextPath() const override;
    const std::string& pathInfo() const override;
    const std::string& query() const override;
    std::string parameter(const std::string& name, const std::string& fallback = "") const override;
    bool hasParameter(const std::string& name) const override;
    std::string header(const std::string& name, const std::string& fallback = "") const override;
    const Poco::Net::NameValueCollection& headers() const override;
    Poco::Net::SocketAddress clientAddress() const override;
    std::istream& body() override;
    std::string readBody() override;
    HttpSession* session(bool create = true) override;
    std::string changeSessionId() override;

    /// Percent-decoded path without query and without a ";jsessionid=..." path
    /// parameter, e.g. "/cart/add". Decoding errors were already answered 400.
    const std::string& path() const;
    /// The raw (still encoded) path, for traversal checks.
    const std::string& rawPath() const;
    /// The id from a ";jsessionid=" path parameter, or "".
    const std::string& pathSessionId() const;
    /// "HTTP/1.1" or "HTTP/1.0".
    const std::string& version() const;
    Poco::Net::SocketAddress serverAddress() const;

    void setContext(const std::string& contextPath, const std::string& pathInfo);
    /// Not owned; may be null (then session() returns null and changeSessionId throws).
    void setSessionSource(SessionSource* source);

    ServerRequest(const ServerRequest&) = delete;
    ServerRequest& operator=(const ServerRequest&) = delete;
    ~ServerRequest() override;

private:
    friend class Connection;
    ServerRequest();
    struct Impl;
    std::unique_ptr<Impl> _impl;
};

} // namespace mt::http
