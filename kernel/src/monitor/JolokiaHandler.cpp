#include "monitor/JolokiaHandler.h"

#include "http/ServerRequest.h"
#include "http/ServerResponse.h"
#include "monitor/JolokiaPath.h"

#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <sstream>

namespace mt {

JolokiaHandler::JolokiaHandler(MBeanRegistry& registry, std::string agentId, std::string prefix)
    : _processor(registry, std::move(agentId)), _prefix(std::move(prefix))
{
}

void JolokiaHandler::handle(http::ServerRequest& request, http::ServerResponse& response, bool mayWrite) const
{
    JolokiaProcessor::Options options;
    options.mayWrite = mayWrite;
    options.ignoreErrors = request.parameter("ignoreErrors") == "true";
    Poco::Dynamic::Var answer;
    const std::string& method = request.method();
    if (method == "GET" || method == "HEAD")
    {
        // path() is already percent-decoded: "!%2F" from jolokia.js is "!/" here.
        std::string rest = request.path().substr(std::min(_prefix.size(), request.path().size()));
        while (!rest.empty() && rest.front() == '/') rest.erase(0, 1);
        Poco::JSON::Object::Ptr parsed;
        try
        {
            parsed = JolokiaPath::parseGet(JolokiaPath::split(rest));
        }
        catch (const MBeanError& e)
        {
            answer = JolokiaProcessor::errorResponse(Poco::Dynamic::Var(), e.errorType(), e.status(), e.what());
        }
        if (parsed) answer = _processor.process(parsed, options);
    }
    else if (method == "POST")
    {
        std::string body = request.readBody();
        try
        {
            Poco::JSON::Parser parser;
            auto json = parser.parse(body);
            if (json.type() == typeid(Poco::JSON::Array::Ptr))
                answer = _processor.processAll(json.extract<Poco::JSON::Array::Ptr>(), options);
            else
                answer = _processor.process(json, options);
        }
        catch (const Poco::Exception& e)
        {
            answer = JolokiaProcessor::errorResponse(Poco::Dynamic::Var(), "java.lang.IllegalArgumentException", 400,
                                                     "request body is not JSON: " + e.displayText());
        }
    }
    else
    {
        response.setHeader("Allow", "GET, POST");
        return response.sendError(405, "use GET or POST");
    }
    std::ostringstream out;
    Poco::JSON::Stringifier::stringify(answer, out);
    response.setHeader("Cache-Control", "no-store");
    response.sendBody(out.str(), "application/json; charset=utf-8");
}

} // namespace mt
