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

/// The peer went away or a write stalled: nothing more can be sent.
class ConnectionLost : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

} // namespace mt::http
