// The benchmark's small-body handler: no session, no allocation beyond the
// response itself.
#include "mt/WebApplication.h"

#include <memory>
#include <string>

namespace {

class HelloHandler : public mt::RequestHandler
{
public:
    void service(mt::HttpRequest&, mt::HttpResponse& response) override
    {
        static const std::string body = "hello\n";
        static const std::string type = "text/plain";
        response.sendBody(body, type);
    }
};

class HelloApp : public mt::WebApplication
{
public:
    explicit HelloApp(const mt::PluginContext&) {}

    void deploy(mt::HandlerRegistry& registry) override
    {
        registry.addHandler("/", std::make_shared<HelloHandler>());
    }
};

} // namespace

MT_PLUGIN("app", "hello", "1.0.0", "answers \"hello\" without a session", "", HelloApp)
