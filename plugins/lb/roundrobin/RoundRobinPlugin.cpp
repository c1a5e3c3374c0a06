// Plugin glue: lb/roundrobin.
#include "SmoothWeightedRoundRobin.h"

namespace {

class RoundRobinPlugin : public mt::lb::SmoothWeightedRoundRobin
{
public:
    explicit RoundRobinPlugin(const mt::PluginContext&) {}
};

} // namespace

MT_PLUGIN("lb", "roundrobin", "1.0.0", "smooth weighted round robin (nginx)", "", RoundRobinPlugin)
