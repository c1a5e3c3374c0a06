#include "balancer/ResponseHead.h"

#include <Poco/String.h>

#include <charconv>

namespace mt::balancer {

namespace {

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

bool is(std::string_view a, const char* b)
{
    return Poco::icompare(std::string(a), b) == 0;
}

} // namespace

bool ResponseHead::parse(std::string_view text)
{
    headers.clear();
    contentLength = -1;
    chunked = false;
    close = false;
    auto eol = text.find("\r\n");
    std::string_view line = text.substr(0, eol);
    if (line.size() < 12 || line.compare(0, 7, "HTTP/1.") != 0 || line[8] != ' ') return false;
    bool http10 = line[7] == '0';
    auto r = std::from_chars(line.data() + 9, line.data() + 12, status);
    if (r.ec != std::errc() || r.ptr != line.data() + 12 || status < 100 || status > 999) return false;
    reason = std::string(trim(line.substr(12)));
    bool keepAlive = false;
    std::size_t pos = eol == std::string_view::npos ? text.size() : eol + 2;
    while (pos < text.size())
    {
        auto end = text.find("\r\n", pos);
        if (end == std::string_view::npos) end = text.size();
        line = text.substr(pos, end - pos);
        pos = end + 2;
        if (line.empty()) break;
        auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return false;
        std::string_view name = line.substr(0, colon), value = trim(line.substr(colon + 1));
        if (is(name, "Content-Length"))
        {
            long long n = -1;
            auto cr = std::from_chars(value.data(), value.data() + value.size(), n);
            if (cr.ec != std::errc() || n < 0 || (contentLength >= 0 && contentLength != n)) return false;
            contentLength = n;
        }
        else if (is(name, "Transfer-Encoding"))
            chunked = Poco::toLower(std::string(value)).find("chunked") != std::string::npos;
        else if (is(name, "Connection"))
        {
            std::string v = Poco::toLower(std::string(value));
            if (v.find("close") != std::string::npos) close = true;
            if (v.find("keep-alive") != std::string::npos) keepAlive = true;
        }
        headers.emplace_back(std::string(name), std::string(value));
    }
    if (http10 && !keepAlive) close = true;
    if (chunked) contentLength = -1; // RFC 9112 6.3: chunked wins over Content-Length
    return true;
}

} // namespace mt::balancer
