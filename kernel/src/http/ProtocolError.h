#pragma once
// Internal exceptions of the connection code. They derive from
// std::runtime_error so that a handler's catch-all still sees a message, but
// the connection recognises them and answers with the right status.

#include <stdexcept>
#include <string>

namespace mt::http {

/// The request broke the protocol (or stalled): answer `status` and close.
class ProtocolError : public std::runtime_error
{
public:
    ProtocolError(int status, const std::string& message): std::runtime_error(message), _status(status) {}
    int status() const { return _status; }

private:
    int _status;
};

/// Thrown by a before-commit hook that cannot let the response go (the
/// session store is down): the response becomes `status` with Retry-After.
class CommitRefused : public std::runtime_error
{
public:
    CommitRefused(int status, const std::string& message, int retryAfterSeconds)
        : std::runtime_error(message), _status(status), _retryAfter(retryAfterSeconds)
    {
    }
    int status() const { return _status; }
    int retryAfter() const { return _retryAfter; }

private:
    int _status;
    int _retryAfter;
};

/// The peer went away or a write stalled: nothing more can be sent.
class ConnectionLost : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

} // namespace mt::http
