#pragma once
// A servlet-like handler. Thread-safety: service() is called concurrently from
// many worker threads; a handler keeps no per-request state in members.
// An exception escaping service() becomes a 500 (logged), the server keeps running.

#include "mt/Api.h"
#include "mt/HttpRequest.h"
#include "mt/HttpResponse.h"

#include <functional>

namespace mt {

class MT_API RequestHandler
{
public:
    virtual ~RequestHandler();
    virtual void service(HttpRequest& request, HttpResponse& response) = 0;
};

/// Adapts a lambda.
class MT_API FunctionHandler : public RequestHandler
{
public:
    using Function = std::function<void(HttpRequest&, HttpResponse&)>;
    explicit FunctionHandler(Function function) : _function(std::move(function)) {}
    void service(HttpRequest& request, HttpResponse& response) override { _function(request, response); }

private:
    Function _function;
};

} // namespace mt
