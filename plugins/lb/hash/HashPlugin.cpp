// Plugin glue: lb/hash. Setting hashKey (ip|session) comes from
// balancer.hashKey, or lb.hash.hashKey when set.
#include "RendezvousHash.h"

namespace {

mt::lb::RendezvousHash::Key keyOf(const mt::PluginContext& context)
{
    std::string key = context.config().getString("hashKey", "ip");
    if (key == "ip") return mt::lb::RendezvousHash::Key::ClientIp;
    if (key == "session") return mt::lb::RendezvousHash::Key::Session;
    throw mt::PluginConfigError("lb.hash.hashKey: expected ip or session, got '" + key + "'");
}

class HashPlugin : public mt::lb::RendezvousHash
{
public:
    explicit HashPlugin(const mt::PluginContext& context) : RendezvousHash(keyOf(context)) {}
};

} // namespace

MT_PLUGIN("lb", "hash", "1.0.0", "consistent hash (rendezvous) by client IP or session id", "hashKey", HashPlugin)
