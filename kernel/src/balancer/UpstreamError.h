#pragma once
// Why an attempt on an app node failed, and whether any byte had been sent:
// the difference between "safe to retry anywhere" and "may have run".

#include <stdexcept>
#include <string>

namespace mt::balancer {

class UpstreamError : public std::runtime_error
{
public:
    enum class Kind
    {
        Connect,   ///< refused, unreachable or connect timeout: nothing sent
        Exhausted, ///< the node's connection limit was reached: nothing sent
        Reset,     ///< reset or closed by the node
        Timeout,   ///< no answer (or a stalled body) within the response timeout
        Protocol   ///< the node answered something that is not HTTP/1.x
    };
    UpstreamError(Kind kind, const std::string& what) : std::runtime_error(what), _kind(kind) {}
    Kind kind() const { return _kind; }

private:
    Kind _kind;
};

} // namespace mt::balancer
