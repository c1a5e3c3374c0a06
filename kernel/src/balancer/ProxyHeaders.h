#pragma once
// Header rules of a reverse proxy (RFC 9110 7.6.1): hop-by-hop fields —
// Connection and every field it names, Keep-Alive, TE, Trailer,
// Transfer-Encoding, Upgrade, Proxy-* — stay on their own hop; the proxy adds
// X-Forwarded-For / -Proto / -Host. Pure string work, unit-tested.

#include <Poco/Net/NameValueCollection.h>

#include <string>

namespace mt::balancer {

class ProxyHeaders
{
public:
    enum class Framing { None, Fixed, Chunked };

    /// True if `name` must not be forwarded. `connection` is the message's
    /// Connection header value (its tokens name more hop-by-hop fields).
    static bool hopByHop(const std::string& name, const std::string& connection);

    /// The request head to send upstream: request line, the client's
    /// end-to-end headers (Host kept), X-Forwarded-*, and the body framing
    /// (Content-Length or chunked). `fallbackHost` is used when the client sent no Host.
    static std::string requestHead(const std::string& method, const std::string& uri,
                                   const Poco::Net::NameValueCollection& headers, const std::string& clientIp,
                                   const std::string& fallbackHost, Framing framing, long long contentLength);
};

} // namespace mt::balancer
