#pragma once
// Session ids: 18 bytes (144 bits) from the kernel CSPRNG (getrandom(2)),
// URL-safe base64 without padding (24 chars), then ".<route>" like Tomcat's
// jvmRoute so a balancer can stick a client to the node that made its session.
//
// Thread-safety: generate() and isWellFormed() may be called from any thread.

#include <cstddef>
#include <string>

namespace mt {

class SessionIdGenerator
{
public:
    static constexpr std::size_t kRandomBytes = 18;
    static constexpr std::size_t kRandomChars = 24; ///< base64 of kRandomBytes, no padding
    static constexpr std::size_t kMaxIdLength = 200;

    /// Throws std::invalid_argument if `route` is empty or has characters
    /// outside [A-Za-z0-9._-] (such ids would be refused by isWellFormed()).
    explicit SessionIdGenerator(std::string route);

    /// A fresh id. Throws std::system_error if the CSPRNG fails (never falls
    /// back to a weaker source).
    std::string generate() const;
    const std::string& route() const { return _route; }

    /// The shape generate() produces on any node: 24 base64url chars, '.',
    /// a route of [A-Za-z0-9._-], at most kMaxIdLength in all. Anything else
    /// from a client is treated as no session and never looked up.
    static bool isWellFormed(const std::string& id);
    static bool isValidRoute(const std::string& route);
    /// A well-formed `id` with its route replaced by `route` (same random
    /// part), or "" if `id` already ends in `route` or is not well-formed.
    static std::string withRoute(const std::string& id, const std::string& route);
    /// Fills `out` with `size` bytes from getrandom(2).
    static void randomBytes(unsigned char* out, std::size_t size);

private:
    std::string _route;
};

} // namespace mt
