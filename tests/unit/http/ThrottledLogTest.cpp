// ThrottledLog: the first line at once, then at most one per interval,
// saying how many were held back.
#include "LogLines.h"
#include "util/ThrottledLog.h"

#include <Poco/AutoPtr.h>
#include <Poco/Logger.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

TEST(ThrottledLog, WritesTheFirstAtOnceThenOnePerIntervalCountingTheOthers)
{
    Poco::Logger& logger = Poco::Logger::get("test.throttled");
    Poco::AutoPtr<mt::test::LogLines> lines(new mt::test::LogLines);
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
