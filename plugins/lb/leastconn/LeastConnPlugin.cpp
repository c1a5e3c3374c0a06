// Plugin glue: lb/leastconn.
#include "LeastConnections.h"

namespace {

class LeastConnPlugin : public mt::lb::LeastConnections
{
public:
    explicit LeastConnPlugin(const mt::PluginContext&) {}
};

} // namespace

MT_PLUGIN("lb", "leastconn", "1.0.0", "least outstanding requests (exact, weighted)", "", LeastConnPlugin)
