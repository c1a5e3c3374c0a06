// ThrottledLog: the first line at once, then at most one per interval,
// saying how many were held back.
#include "util/ThrottledLog.h"

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

class Lines : public Poco::Channel
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

private:
    std::mutex _mutex;
    std::vector<std::string> _lines;
};

} // namespace

TEST(ThrottledLog, WritesTheFirstAtOnceThenOnePerIntervalCountingTheOthers)
{
    Poco::Logger& logger = Poco::Logger::get("test.throttled");
    Poco::AutoPtr<Lines> lines(new Lines);
    logger.setChannel(lines);
    mt::ThrottledLog log(logger, std::chrono::milliseconds(200));

    log.warning("refused 0");
    ASSERT_EQ(lines->lines(), std::vector<std::string>{"refused 0"});
    // Until the interval is over every call is held back; the one after it is
    // written with the count. Each call is one or the other, so the count is exact.
    int calls = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (lines->lines().size() == 1 && std::chrono::steady_clock::now() < deadline)
    {
        log.warning("refused " + std::to_string(++calls));
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const auto written = lines->lines();
    ASSERT_EQ(written.size(), 2u);
    // Calls 1 ms apart for 200 ms: many held back, unless the machine stalled.
    const std::string held = calls > 1 ? " (and " + std::to_string(calls - 1) + " more held back since the last such line)" : "";
    EXPECT_EQ(written[1], "refused " + std::to_string(calls) + held);
    logger.setChannel(nullptr);
}
