// A kind the server does not know.
#include "mt/WebApplication.h"

namespace {
class Widget : public mt::PluginObject
{
public:
    explicit Widget(const mt::PluginContext&) {}
};
} // namespace

MT_PLUGIN("widget", "gadget", "1.0.0", "unknown kind", "", Widget)
