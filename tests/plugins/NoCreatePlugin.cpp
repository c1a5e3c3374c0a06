// A descriptor but no factory.
#include "mt/Plugin.h"

MT_PLUGIN_EXPORT const mt::PluginDescriptor mt_plugin_descriptor = {
    mt::kPluginApiVersion, "app", "nocreate", "1.0.0", "forgot mt_plugin_create", ""};
