#pragma once
// The `microtomcat` executable: options, signals, and the Kernel's lifecycle.
//   SIGTERM / SIGINT  graceful stop (drain, then exit)
//   SIGHUP            reload server.properties

#include <Poco/Util/ServerApplication.h>

#include <map>
#include <string>

namespace mt {

class MicroTomcatApp : public Poco::Util::ServerApplication
{
protected:
    void defineOptions(Poco::Util::OptionSet& options) override;
    void handleOption(const std::string& name, const std::string& value) override;
    int main(const std::vector<std::string>& args) override;

private:
    std::string defaultConfigFile() const;
    std::string defaultPluginDir() const;

    std::string _configFile;
    std::map<std::string, std::string> _overrides;
    bool _exitEarly = false;
    bool _checkOnly = false;
    int _exitCode = 0;
};

} // namespace mt
