#pragma once
// GET and POST /jolokia/: the HTTP side of the Jolokia protocol. GET takes
// the request from the URL (/jolokia/read/<mbean>/<attribute>/<path>), POST
// from a JSON body (one request object, or an array of them: a bulk request
// answered with an array). Jolokia answers HTTP 200 with the per-request
// "status" in the body, so clients see protocol errors as responses, not as
// transport failures; only a wrong HTTP method gets a non-200 status.
// Thread-safety: handle() runs concurrently on the worker threads.

#include "monitor/JolokiaProcessor.h"

#include <string>

namespace mt {

namespace http {
class ServerRequest;
class ServerResponse;
} // namespace http

class JolokiaHandler
{
public:
    /// `prefix`: where it is mounted ("/jolokia").
    JolokiaHandler(MBeanRegistry& registry, std::string agentId, std::string prefix = "/jolokia");

    /// `mayWrite`: the caller is allowed write and exec (it showed the admin token).
    void handle(http::ServerRequest& request, http::ServerResponse& response, bool mayWrite) const;

    const JolokiaProcessor& processor() const { return _processor; }

private:
    JolokiaProcessor _processor;
    std::string _prefix;
};

} // namespace mt
