// Loads fine; its factory throws.
#include "mt/WebApplication.h"

#include <stdexcept>

namespace {
class Thrower : public mt::WebApplication
{
public:
    explicit Thrower(const mt::PluginContext& context)
    {
        if (context.config().getString("mode", "") == "config")
            throw mt::PluginConfigError("setting mode=config is not allowed; use mode=ok");
        throw std::runtime_error("thrower refuses to start: database unreachable");
    }
    void deploy(mt::HandlerRegistry&) override {}
};
} // namespace

MT_PLUGIN("app", "thrower", "1.0.0", "factory throws", "mode", Thrower)
