#pragma once
// The route suffix of a session id, Tomcat's jvmRoute: "<id>.<node>" -> node.

#include <string>

namespace mt::balancer {

struct SessionRoute
{
    std::string id;    ///< without the route
    std::string route; ///< "" if the id has none

    static SessionRoute parse(const std::string& sessionId)
    {
        auto dot = sessionId.rfind('.');
        if (dot == std::string::npos || dot == 0 || dot + 1 == sessionId.size()) return {sessionId, {}};
        return {sessionId.substr(0, dot), sessionId.substr(dot + 1)};
    }
};

} // namespace mt::balancer
