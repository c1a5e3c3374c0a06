#pragma once
// What a request asks for its session. Implemented by the session module
// (session/SessionScope), installed on the request by the dispatcher.

#include "mt/HttpSession.h"

#include <string>

namespace mt::http {

class SessionSource
{
public:
    virtual ~SessionSource() = default;
    virtual HttpSession* session(bool create) = 0;
    virtual std::string changeSessionId() = 0;
};

} // namespace mt::http
