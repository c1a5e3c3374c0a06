// A valid app plugin whose objects log their birth and death to the
// context's logger, so lifetime tests can watch them from the outside.
// Built twice, as probe.so (1.0.0) and probe-v2.so (2.0.0).
#include "mt/WebApplication.h"

#include <memory>
#include <string>

namespace {

class ProbeApp : public mt::WebApplication
{
public:
    explicit ProbeApp(const mt::PluginContext& context) : _logger(context.logger())
    {
        _logger.information("probe " PROBE_VERSION " created");
    }
    ~ProbeApp() override { _logger.information("probe " PROBE_VERSION " destroyed"); }

    void deploy(mt::HandlerRegistry& registry) override
    {
        registry.addHandler("/", std::make_shared<mt::FunctionHandler>([](mt::HttpRequest&, mt::HttpResponse& response) {
            response.sendBody("probe " PROBE_VERSION "\n", "text/plain");
        }));
    }

private:
    Poco::Logger& _logger; // loggers live for the process, unlike the context
};

} // namespace

MT_PLUGIN("app", "probe", PROBE_VERSION, "lifetime probe for tests", "alpha, beta,gamma", ProbeApp)
