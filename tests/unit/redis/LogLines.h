#pragma once
// The lines one Poco logger writes, kept for a test to look for one.
// Thread-safe: the store's and the pipeline's threads log into it.
#include <Poco/Channel.h>
#include <Poco/Message.h>

#include <mutex>
#include <string>

namespace mt::redis::test {

class LogLines : public Poco::Channel
{
public:
    void log(const Poco::Message& message) override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _text += message.getText() + "\n";
    }
    bool contains(const std::string& part)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _text.find(part) != std::string::npos;
    }
    std::string text()
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _text;
    }

private:
    std::mutex _mutex;
    std::string _text;
};

} // namespace mt::redis::test
