#pragma once
// An upstream response's status line and headers, parsed (pure).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mt::balancer {

struct ResponseHead
{
    int status = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers; ///< in order, as received
    long long contentLength = -1; ///< -1: none
    bool chunked = false;
    bool close = false;           ///< "Connection: close" or HTTP/1.0 without keep-alive

    /// Parses "HTTP/1.x NNN reason\r\n(name: value\r\n)*\r\n" (`text` without
    /// the final empty line is fine). False if it is not a valid head.
    bool parse(std::string_view text);
    /// How the body ends, given the request method (RFC 9112 6.3).
    bool hasBody(bool headRequest) const
    {
        return !headRequest && status >= 200 && status != 204 && status != 304;
    }
};

} // namespace mt::balancer
