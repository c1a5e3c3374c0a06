#pragma once
// The lines one Poco logger writes, kept for a test to look for one.
// Thread-safe: the threads of what is tested log into it.
#include <Poco/Channel.h>
#include <Poco/Message.h>

#include <mutex>
#include <string>
#include <vector>

namespace mt::test {

class LogLines : public Poco::Channel
{
public:
    void log(const Poco::Message& message) override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _lines.push_back(message.getText());
    }
    std::vector<std::string> lines()
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _lines;
    }
    bool contains(const std::string& part)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        for (const std::string& line : _lines)
            if (line.find(part) != std::string::npos) return true;
        return false;
    }
    /// Every line, each ended by a line feed (for failure messages).
    std::string text()
    {
        std::lock_guard<std::mutex> lock(_mutex);
        std::string text;
        for (const std::string& line : _lines) text += line + "\n";
        return text;
    }

private:
    std::mutex _mutex;
    std::vector<std::string> _lines;
};

} // namespace mt::test
