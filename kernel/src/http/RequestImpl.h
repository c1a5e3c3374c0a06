#pragma once
// ServerRequest's state; shared by ServerRequest.cpp and Connection.cpp.
// One instance per connection, reset for every request so that its strings
// and containers keep their capacity.

#include "http/RequestBody.h"
#include "http/RequestHead.h"
#include "http/ServerRequest.h"

#include <istream>
#include <string>
#include <utility>
#include <vector>

namespace mt::http {

struct ServerRequest::Impl
{
    explicit Impl(RequestBody& b): body(b), bodyStream(&b)
    {
        // So that mt::BodyTooLarge and ProtocolError reach the handler and
        // the connection instead of just setting badbit.
        bodyStream.exceptions(std::ios::badbit);
    }

    void reset()
    {
        head.clear();
        contextPath.clear();
        pathInfo.clear();
        contextSet = false;
        sessions = nullptr;
        paramsParsed = false;
        params.clear();
        bodyText.clear();
        bodyRead = false;
        bodyStream.clear();
    }

    RequestHead head;
    std::string contextPath;
    std::string pathInfo;
    bool contextSet = false;
    const Poco::Net::SocketAddress* client = nullptr;
    const Poco::Net::SocketAddress* server = nullptr;
    RequestBody& body;
    std::istream bodyStream;
    SessionSource* sessions = nullptr;
    bool paramsParsed = false;
    std::vector<std::pair<std::string, std::string>> params;
    std::string bodyText;
    bool bodyRead = false;
};

} // namespace mt::http
