#include "session/SessionIdGenerator.h"

#include <sys/random.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace mt {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool isBase64Url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool isRouteChar(char c)
{
    return isBase64Url(c) || c == '.';
}

} // namespace

SessionIdGenerator::SessionIdGenerator(std::string route) : _route(std::move(route))
{
    if (!isValidRoute(_route))
        throw std::invalid_argument("session route (node name) '" + _route +
                                    "' must be 1.." + std::to_string(kMaxIdLength - kRandomChars - 1) +
                                    " characters of [A-Za-z0-9._-]");
}

bool SessionIdGenerator::isValidRoute(const std::string& route)
{
    if (route.empty() || route.size() > kMaxIdLength - kRandomChars - 1) return false;
    for (char c : route)
        if (!isRouteChar(c)) return false;
    return true;
}

void SessionIdGenerator::randomBytes(unsigned char* out, std::size_t size)
{
    std::size_t done = 0;
    while (done < size)
    {
        const ssize_t n = ::getrandom(out + done, size - done, 0);
        if (n < 0)
        {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "getrandom");
        }
        done += std::size_t(n);
    }
}

std::string SessionIdGenerator::generate() const
{
    static_assert(kRandomBytes % 3 == 0, "whole base64 groups: no padding");
    unsigned char bytes[kRandomBytes];
    randomBytes(bytes, kRandomBytes);

    std::string id;
    id.reserve(kRandomChars + 1 + _route.size());
    for (std::size_t i = 0; i < kRandomBytes; i += 3)
    {
        const unsigned v = (unsigned(bytes[i]) << 16) | (unsigned(bytes[i + 1]) << 8) | bytes[i + 2];
        id += kAlphabet[(v >> 18) & 63];
        id += kAlphabet[(v >> 12) & 63];
        id += kAlphabet[(v >> 6) & 63];
        id += kAlphabet[v & 63];
    }
    id += '.';
    id += _route;
    return id;
}

bool SessionIdGenerator::isWellFormed(const std::string& id)
{
    if (id.size() < kRandomChars + 2 || id.size() > kMaxIdLength || id[kRandomChars] != '.') return false;
    for (std::size_t i = 0; i < kRandomChars; ++i)
        if (!isBase64Url(id[i])) return false;
    for (std::size_t i = kRandomChars + 1; i < id.size(); ++i)
        if (!isRouteChar(id[i])) return false;
    return true;
}

} // namespace mt

namespace mt {

std::string SessionIdGenerator::withRoute(const std::string& id, const std::string& route)
{
    if (!isWellFormed(id) || !isValidRoute(route)) return {};
    if (id.compare(kRandomChars + 1, std::string::npos, route) == 0) return {};
    return id.substr(0, kRandomChars + 1) + route;
}

} // namespace mt
