#pragma once
// The PluginContext the kernel hands to a plugin factory.

#include "mt/Plugin.h"

#include <Poco/AutoPtr.h>
#include <Poco/Util/MapConfiguration.h>

#include <atomic>
#include <map>
#include <string>

namespace mt {

class PluginContextImpl : public PluginContext
{
public:
    PluginContextImpl(std::string nodeName, const std::string& loggerName, const std::map<std::string, std::string>& settings)
        : _nodeName(std::move(nodeName)), _logger(Poco::Logger::get(loggerName)), _config(new Poco::Util::MapConfiguration)
    {
        for (const auto& [key, value] : settings) _config->setString(key, value);
    }

    const std::string& nodeName() const override { return _nodeName; }
    const Poco::Util::AbstractConfiguration& config() const override { return *_config; }
    Poco::Logger& logger() const override { return _logger; }
    const std::string& scope() const override { return _scope; }
    void setScope(std::string scope) { _scope = std::move(scope); }
    /// The registry every plugin context hands out: the running kernel's
    /// (one kernel per process; set at its start, cleared at its end), so
    /// every place that makes a context need not be told about it.
    MBeanRegistry* mbeans() const override { return defaultMBeans(); }
    static MBeanRegistry* defaultMBeans() { return defaultMBeansSlot().load(); }
    static void setDefaultMBeans(MBeanRegistry* registry) { defaultMBeansSlot().store(registry); }

private:
    static std::atomic<MBeanRegistry*>& defaultMBeansSlot()
    {
        static std::atomic<MBeanRegistry*> slot{nullptr};
        return slot;
    }

    std::string _nodeName;
    Poco::Logger& _logger;
    Poco::AutoPtr<Poco::Util::MapConfiguration> _config;
    std::string _scope;
};

} // namespace mt
