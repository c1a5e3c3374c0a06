#include "TestSupport.h"

#include <Poco/Logger.h>
#include <Poco/Message.h>

#include <cstdlib>
#include <fstream>

namespace mt::test {

void CapturingChannel::log(const Poco::Message& message)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _messages.push_back(message.getText());
}

std::vector<std::string> CapturingChannel::messages() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _messages;
}

bool CapturingChannel::contains(const std::string& text) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    for (const auto& m : _messages)
        if (m.find(text) != std::string::npos)
            return true;
    return false;
}

TestContext::TestContext(const std::string& loggerName)
    : _config(new Poco::Util::MapConfiguration), _channel(new CapturingChannel), _logger(Poco::Logger::get(loggerName))
{
    _logger.setChannel(_channel);
    _logger.setLevel(Poco::Message::PRIO_INFORMATION);
}

TempDir::TempDir()
{
    std::string pattern = (std::filesystem::temp_directory_path() / "mt-plugin-test-XXXXXX").string();
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    if (!::mkdtemp(name.data()))
        throw std::runtime_error("mkdtemp failed");
    _path = name.data();
}

TempDir::~TempDir()
{
    std::error_code ec;
    std::filesystem::remove_all(_path, ec);
}

int mappedCount(const std::string& text)
{
    std::ifstream maps("/proc/self/maps");
    int count = 0;
    for (std::string line; std::getline(maps, line);)
        if (line.find(text) != std::string::npos)
            ++count;
    return count;
}

} // namespace mt::test
