#pragma once
// The kernel's implementation of mt::HttpResponse.
//
// PUBLIC INTERFACE FIXED (the dispatcher codes against it); the http module
// owns the implementation and may add private members and constructors.

#include "mt/HttpResponse.h"

#include <functional>
#include <memory>
#include <string>

namespace mt {
class Completion;
}

namespace mt::http {

/// The body of a 503 for a session store that failed a request. What the
/// store said (its address, its error) goes to the log and /health, not to
/// the client.
inline constexpr const char* kSessionStoreUnavailable = "session store unavailable; retry later";

class ServerResponse : public mt::HttpResponse
{
public:
    void setStatus(int status, const std::string& reason = "") override;
    int status() const override;
    void setHeader(const std::string& name, const std::string& value) override;
    void addHeader(const std::string& name, const std::string& value) override;
    void setContentType(const std::string& type) override;
    void setContentLength(long long length) override;
    std::ostream& send() override;
    void sendBody(const std::string& body, const std::string& contentType = "") override;
    void sendError(int status, const std::string& message) override;
    bool committed() const override;

    /// A response header already set, or "".
    std::string header(const std::string& name) const;
    /// Called exactly once, just before the headers are committed (the session
    /// is written there, so a client that reads the response and sends its
    /// next request sees the write). May add headers. If the handler returns
    /// without sending, the connection code sends the response (status as
    /// set, empty body) and the hook runs before that too.
    void setBeforeCommit(std::function<void()> hook);
    /// The response may leave only once `completion` completes (called from
    /// the hook: the session write is on its way). Until then the worker is
    /// free; the connection waits. If it completes with an error, a 503 with
    /// Retry-After goes instead (or, when part of the response had to leave
    /// already, the connection closes).
    void awaitBeforeSending(std::shared_ptr<Completion> completion);
    /// Bytes of body sent so far (for the access log).
    long long bytesSent() const;
    /// Close the connection after this response.
    void setCloseConnection();

    ServerResponse(const ServerResponse&) = delete;
    ServerResponse& operator=(const ServerResponse&) = delete;
    ~ServerResponse() override;

private:
    friend class Connection;
    ServerResponse();
    struct Impl;
    std::unique_ptr<Impl> _impl;
};

} // namespace mt::http
