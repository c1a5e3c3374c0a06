// A test-only application: answers after ?ms=N milliseconds, so tests can
// have a request in flight while they signal or reload the server.
#include "mt/WebApplication.h"

#include <chrono>
#include <thread>

namespace {

class SlowApp : public mt::WebApplication
{
public:
    explicit SlowApp(const mt::PluginContext&) {}
    void deploy(mt::HandlerRegistry& registry) override
    {
        registry.addHandler("/*", std::make_shared<mt::FunctionHandler>([](mt::HttpRequest& request, mt::HttpResponse& response) {
            int ms = std::stoi(request.parameter("ms", "0"));
            std::this_thread::sleep_for(std::chrono::milliseconds(std::min(ms, 30000)));
            response.sendBody("slept " + std::to_string(ms) + "\n", "text/plain");
        }));
    }
};

} // namespace

MT_PLUGIN("app", "slow", "1.0.0", "test application that answers late", "", SlowApp)
