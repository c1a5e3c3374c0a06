// Loads fine; its factory returns null.
#include "mt/Plugin.h"

MT_PLUGIN_EXPORT const mt::PluginDescriptor mt_plugin_descriptor = {
    mt::kPluginApiVersion, "app", "nullfactory", "1.0.0", "factory returns null", ""};
MT_PLUGIN_EXPORT mt::PluginObject* mt_plugin_create(const mt::PluginContext&)
{
    return nullptr;
}
