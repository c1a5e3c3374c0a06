// A per-session counter: the benchmark's "touch the session" handler, so the
// hot path avoids JSON libraries and stream formatting.
#include "mt/HttpSession.h"
#include "mt/JsonText.h"
#include "mt/WebApplication.h"

#include <charconv>
#include <memory>
#include <string>

namespace {

class CounterHandler : public mt::RequestHandler
{
public:
    explicit CounterHandler(std::string nodeJson) : _nodeJson(std::move(nodeJson)) {}

    void service(mt::HttpRequest& request, mt::HttpResponse& response) override
    {
        mt::HttpSession* session = request.session(true);
        if (!session)
        {
            response.sendError(503, "sessions are not available in this context");
            return;
        }
        long long count = 0;
        if (auto stored = session->attributeJson("count"))
        {
            const char* begin = stored->data();
            std::from_chars(begin, begin + stored->size(), count); // garbage counts as 0
        }
        ++count;
        char digits[24];
        auto end = std::to_chars(digits, digits + sizeof digits, count).ptr;
        std::string number(digits, end);
        session->setAttributeJson("count", number);

        std::string body;
        body.reserve(96 + session->id().size() + _nodeJson.size());
        body += "{\"count\":";
        body += number;
        body += ",\"session\":";
        mt::appendJsonString(body, session->id());
        body += ",\"node\":";
        body += _nodeJson;
        body += session->isNew() ? ",\"new\":true}" : ",\"new\":false}";
        static const std::string json = "application/json"; // built once: 16 chars would not fit SSO
        response.sendBody(body, json);
    }

private:
    const std::string _nodeJson;
};

class CounterApp : public mt::WebApplication
{
public:
    explicit CounterApp(const mt::PluginContext& context)
    {
        mt::appendJsonString(_nodeJson, context.nodeName());
    }

    void deploy(mt::HandlerRegistry& registry) override
    {
        auto handler = std::make_shared<CounterHandler>(_nodeJson);
        registry.addHandler("/", handler);
        registry.addHandler("/*", handler);
    }

private:
    std::string _nodeJson;
};

} // namespace

MT_PLUGIN("app", "counter", "1.0.0", "a per-session counter (JSON)", "", CounterApp)
