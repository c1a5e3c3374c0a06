#pragma once
// The PluginContext the kernel hands to a plugin factory.

#include "mt/Plugin.h"

#include <Poco/AutoPtr.h>
#include <Poco/Util/MapConfiguration.h>

#include <map>
#include <string>

namespace mt {

class PluginContextImpl : public PluginContext
{
public:
    /// `mbeans`: the kernel's registry, handed on to the plugin (may be null).
    PluginContextImpl(std::string nodeName, const std::string& loggerName, const std::map<std::string, std::string>& settings,
                      MBeanRegistry* mbeans)
        : _nodeName(std::move(nodeName)),
          _logger(Poco::Logger::get(loggerName)),
          _config(new Poco::Util::MapConfiguration),
          _mbeans(mbeans)
    {
        for (const auto& [key, value] : settings) _config->setString(key, value);
    }

    const std::string& nodeName() const override { return _nodeName; }
    const Poco::Util::AbstractConfiguration& config() const override { return *_config; }
    Poco::Logger& logger() const override { return _logger; }
    const std::string& scope() const override { return _scope; }
    void setScope(std::string scope) { _scope = std::move(scope); }
    MBeanRegistry* mbeans() const override { return _mbeans; }

private:

    std::string _nodeName;
    Poco::Logger& _logger;
    Poco::AutoPtr<Poco::Util::MapConfiguration> _config;
    std::string _scope;
    MBeanRegistry* _mbeans;
};

} // namespace mt
