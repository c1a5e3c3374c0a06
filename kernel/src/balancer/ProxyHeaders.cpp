#include "balancer/ProxyHeaders.h"

#include <Poco/String.h>

#include <cctype>
#include <string_view>

namespace mt::balancer {

namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

bool namedIn(std::string_view name, std::string_view list)
{
    std::size_t pos = 0;
    while (pos <= list.size())
    {
        std::size_t end = list.find(',', pos);
        if (end == std::string_view::npos) end = list.size();
        std::string_view token = list.substr(pos, end - pos);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
        if (!token.empty() && equalsIgnoreCase(token, name)) return true;
        pos = end + 1;
    }
    return false;
}

} // namespace

bool ProxyHeaders::hopByHop(const std::string& name, const std::string& connection)
{
    static const char* const fixed[] = {"Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade"};
    for (const char* f : fixed)
        if (equalsIgnoreCase(name, f)) return true;
    if (name.size() >= 6 && equalsIgnoreCase(std::string_view(name).substr(0, 6), "Proxy-")) return true;
    return !connection.empty() && namedIn(name, connection);
}

std::string ProxyHeaders::requestHead(const std::string& method, const std::string& uri,
                                      const Poco::Net::NameValueCollection& headers, const std::string& clientIp,
                                      const std::string& fallbackHost, Framing framing, long long contentLength)
{
    std::string connection; // every Connection line: repeated lines are one list
    for (const auto& [name, value] : headers)
        if (equalsIgnoreCase(name, "Connection")) connection += value + ",";
    std::string head;
    head.reserve(256 + uri.size());
    head.append(method).append(" ", 1).append(uri).append(" HTTP/1.1\r\n", 11);
    std::string host, forwardedFor;
    for (const auto& [name, value] : headers)
    {
        if (hopByHop(name, connection)) continue;
        // Framing is the proxy's own; Expect is answered by this hop (the
        // balancer reads the body itself, which sends the client its 100 Continue).
        if (equalsIgnoreCase(name, "Content-Length") || equalsIgnoreCase(name, "Expect")) continue;
        if (equalsIgnoreCase(name, "X-Forwarded-For"))
        {
            forwardedFor.append(forwardedFor.empty() ? "" : ", ").append(value);
            continue;
        }
        if (equalsIgnoreCase(name, "X-Forwarded-Proto") || equalsIgnoreCase(name, "X-Forwarded-Host")) continue;
        if (equalsIgnoreCase(name, "Host"))
        {
            if (value.empty()) continue; // the fallback below takes its place: never two Host lines
            host = value;
        }
        head.append(name).append(": ", 2).append(value).append("\r\n", 2);
    }
    if (host.empty())
    {
        host = fallbackHost;
        head.append("Host: ", 6).append(host).append("\r\n", 2);
    }
    head.append("X-Forwarded-For: ", 17).append(forwardedFor).append(forwardedFor.empty() ? "" : ", ").append(clientIp).append("\r\n", 2);
    head.append("X-Forwarded-Proto: http\r\n", 25);
    head.append("X-Forwarded-Host: ", 18).append(host).append("\r\n", 2);
    if (framing == Framing::Fixed)
        head.append("Content-Length: ", 16).append(std::to_string(contentLength)).append("\r\n", 2);
    else if (framing == Framing::Chunked)
        head.append("Transfer-Encoding: chunked\r\n", 28);
    head.append("\r\n", 2);
    return head;
}

} // namespace mt::balancer
