#pragma once
// A PluginContext for tests and a log channel that remembers messages.

#include "mt/Plugin.h"

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Util/MapConfiguration.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace mt::test {

class CapturingChannel : public Poco::Channel
{
public:
    void log(const Poco::Message& message) override;
    std::vector<std::string> messages() const;
    bool contains(const std::string& text) const;

private:
    mutable std::mutex _mutex;
    std::vector<std::string> _messages;
};

class TestContext : public PluginContext
{
public:
    explicit TestContext(const std::string& loggerName = "mt.test.probe");
    const std::string& nodeName() const override { return _node; }
    const Poco::Util::AbstractConfiguration& config() const override { return *_config; }
    Poco::Logger& logger() const override { return _logger; }

    void set(const std::string& key, const std::string& value) { _config->setString(key, value); }
    CapturingChannel& log() { return *_channel; }

private:
    std::string _node = "node1";
    Poco::AutoPtr<Poco::Util::MapConfiguration> _config;
    Poco::AutoPtr<CapturingChannel> _channel;
    Poco::Logger& _logger;
};

/// A fresh directory removed at the end of the test.
class TempDir
{
public:
    TempDir();
    ~TempDir();
    const std::filesystem::path& path() const { return _path; }
    std::string str() const { return _path.string(); }

private:
    std::filesystem::path _path;
};

/// Number of lines in /proc/self/maps mentioning `text`.
int mappedCount(const std::string& text);

} // namespace mt::test
