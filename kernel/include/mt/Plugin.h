#pragma once
// How a plugin is found, described and created.
//
// A plugin is one shared library exporting two C symbols:
//   mt_plugin_descriptor  const mt::PluginDescriptor
//   mt_plugin_create      mt::PluginObject* (const mt::PluginContext&)
// Use MT_PLUGIN(...) below rather than writing them by hand.
//
// Lifetime contract: every object returned by mt_plugin_create is owned by the
// kernel through a std::shared_ptr whose deleter keeps the library loaded until
// the object is destroyed. A plugin that starts threads must join them in the
// destructor of the object that started them.

#include "mt/Api.h"

#include <Poco/Logger.h>
#include <Poco/Util/AbstractConfiguration.h>

#include <stdexcept>
#include <string>

namespace mt {

class MBeanRegistry;

/// Layout fixed forever: the kernel reads it before it checks apiVersion.
struct PluginDescriptor
{
    int apiVersion;          ///< kPluginApiVersion the plugin was built with
    const char* kind;        ///< "app", "store", "lb", "replication", "monitor"
    const char* name;        ///< unique within its kind, e.g. "counter"
    const char* version;     ///< the plugin's own version, e.g. "1.0.0"
    const char* description; ///< one line for logs and /health
    const char* configKeys;  ///< comma-separated keys the plugin accepts (unknown keys are refused)
};

/// What the kernel hands to a factory. Valid only during mt_plugin_create;
/// copy what you need. Thread-safety: not required (called once, one thread).
class MT_API PluginContext
{
public:
    virtual ~PluginContext();
    /// This node's name (the session route suffix).
    virtual const std::string& nodeName() const = 0;
    /// The plugin instance's own settings: the keys under its section of
    /// server.properties with the section prefix removed, e.g. for
    /// "context.cart.app.maxItems" an app sees "maxItems". Only keys listed in
    /// the descriptor's configKeys ever reach it.
    virtual const Poco::Util::AbstractConfiguration& config() const = 0;
    /// A logger named "mt.<kind>.<name>".
    virtual Poco::Logger& logger() const = 0;
    /// What this instance serves when the kernel makes one per scope: for a
    /// session store, its context's path ("/cart"; "/" for the root context),
    /// so a shared backend can keep contexts apart. "" otherwise.
    virtual const std::string& scope() const;
    /// The kernel's MBean registry, where a plugin may register its own MBeans
    /// (served over Jolokia at /jolokia/); null when the host has none. Keep
    /// the pointer: it lives as long as the kernel. Unregister your MBeans
    /// before your object is destroyed.
    virtual MBeanRegistry* mbeans() const { return nullptr; }
};

/// Base of everything a plugin creates. Its destructor runs inside the
/// plugin's library, while the library is still loaded.
class MT_API PluginObject
{
public:
    virtual ~PluginObject();
};

/// Thrown by a factory for a bad setting: name the key and what is allowed.
class MT_API PluginConfigError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

} // namespace mt

extern "C" {
using MtPluginCreateFn = mt::PluginObject*(const mt::PluginContext&);
}

#define MT_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

/// Declares a plugin: MT_PLUGIN("app", "counter", "1.0.0", "a per-session counter", "", CounterApp)
/// CLASS must derive from the interface of KIND and be constructible from const mt::PluginContext&.
#define MT_PLUGIN(KIND, NAME, VERSION, DESCRIPTION, CONFIG_KEYS, CLASS)                                  \
    MT_PLUGIN_EXPORT const mt::PluginDescriptor mt_plugin_descriptor = {                                 \
        mt::kPluginApiVersion, KIND, NAME, VERSION, DESCRIPTION, CONFIG_KEYS};                            \
    MT_PLUGIN_EXPORT mt::PluginObject* mt_plugin_create(const mt::PluginContext& context)                 \
    {                                                                                                     \
        return new CLASS(context);                                                                        \
    }
