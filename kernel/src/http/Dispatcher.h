#pragma once

namespace mt::http {

class ServerRequest;
class ServerResponse;

/// Routes one parsed request. Called concurrently from worker threads.
/// An exception that escapes becomes a 500 if nothing was sent yet; the
/// connection is then closed.
class Dispatcher
{
public:
    virtual ~Dispatcher() = default;
    virtual void dispatch(ServerRequest& request, ServerResponse& response) = 0;
};

} // namespace mt::http
