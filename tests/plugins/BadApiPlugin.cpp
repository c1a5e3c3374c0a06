// Claims an API version from the future: the loader must refuse it before reading further.
#include "mt/WebApplication.h"

MT_PLUGIN_EXPORT const mt::PluginDescriptor mt_plugin_descriptor = {mt::kPluginApiVersion + 1, "app", "badapi", "1.0.0", "future API", ""};
MT_PLUGIN_EXPORT mt::PluginObject* mt_plugin_create(const mt::PluginContext&)
{
    return nullptr;
}
