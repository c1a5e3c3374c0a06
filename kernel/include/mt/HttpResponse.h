#pragma once
// The response to one request. Thread-safety: the request's thread only.
// Headers may be changed until the body is started (send()/sendBody()).

#include "mt/Api.h"

#include <ostream>
#include <string>

namespace mt {

class MT_API HttpResponse
{
public:
    virtual ~HttpResponse();

    virtual void setStatus(int status, const std::string& reason = "") = 0;
    virtual int status() const = 0;
    virtual void setHeader(const std::string& name, const std::string& value) = 0;
    virtual void addHeader(const std::string& name, const std::string& value) = 0;
    virtual void setContentType(const std::string& type) = 0;
    /// -1 (the default) sends chunked.
    virtual void setContentLength(long long length) = 0;

    /// Commits the headers and returns the body stream.
    virtual std::ostream& send() = 0;
    /// Sends `body` as the whole response body with its Content-Length.
    virtual void sendBody(const std::string& body, const std::string& contentType = "") = 0;
    /// A short text/plain error body with this status.
    virtual void sendError(int status, const std::string& message) = 0;
    /// True once headers are on the wire.
    virtual bool committed() const = 0;
};

} // namespace mt
