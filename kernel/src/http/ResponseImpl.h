#pragma once
// ServerResponse's state and commit logic; shared by ServerResponse.cpp and
// Connection.cpp. One instance per connection, reset for every request.

#include "http/ResponseBody.h"
#include "http/ServerResponse.h"

#include "util/Completion.h"

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace mt::http {

struct ServerContext;
class RequestBody;
class SocketOutput;

struct ServerResponse::Impl
{
    Impl(ServerContext& c, SocketOutput& o, RequestBody& rb);

    /// Per request: what the connection allows before the handler runs.
    void reset(bool keepAlive, bool head, bool http10);
    /// Runs the before-commit hook once; false if it threw.
    bool runHook();
    /// Answers 500 instead of whatever the handler wanted (the hook threw),
    /// or the hook's CommitRefused status with Retry-After.
    void commitHookFailure();
    /// Appends the status line and headers; `length` -1 means chunked or close-delimited.
    void writeHead(long long length, bool chunked);
    /// Ends the response (sending it if the handler did not); returns true if
    /// the connection must close afterwards.
    bool finish();
    bool bodyAllowed() const;
    /// The Set-Cookie headers set so far, the application's own included. A
    /// refusal keeps them: the store may already have acted on the session's
    /// (a session created, or renamed by changeSessionId), and without that
    /// cookie the client loses its session.
    std::vector<std::pair<std::string, std::string>> cookies() const;

    ServerContext& ctx;
    SocketOutput& out;
    RequestBody& requestBody;
    ResponseBody body;
    std::ostream stream;

    int status = 200;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string contentType;
    long long contentLength = -1;
    std::function<void()> hook;
    bool hookRan = false;
    int refusedStatus = 0;     ///< the hook threw CommitRefused: its status
    int refusedRetryAfter = 0;
    std::shared_ptr<Completion> awaiting; ///< the response may leave only once this completes
    bool committed = false;
    bool closeRequested = false;
    bool willClose = false;
    bool ownServer = false;
    bool ownDate = false;
    long long fixedBytes = 0;

    bool keepAlive = true;
    bool head = false;
    bool http10 = false;
};

const char* reasonPhrase(int status);

} // namespace mt::http
