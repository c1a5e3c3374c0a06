#pragma once
// A warning that every request may hit at once (a session store refusing
// writes, thousands of times a second): written at most once per interval,
// with the number held back since the last one, so that the log says what
// happens without drowning in it. The first is written at once.
//
// Thread-safety: warning() from any thread.

#include <Poco/Logger.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>

namespace mt {

class ThrottledLog
{
public:
    using Clock = std::chrono::steady_clock;

    explicit ThrottledLog(Poco::Logger& logger, Clock::duration interval = std::chrono::seconds(10))
        : _logger(logger), _interval(interval)
    {
    }

    void warning(const std::string& text)
    {
        std::uint64_t held = 0;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            const Clock::time_point now = Clock::now();
            if (_written && now - _last < _interval)
            {
                ++_held;
                return;
            }
            _written = true;
            _last = now;
            held = std::exchange(_held, 0);
        }
        _logger.warning(held == 0 ? text : text + " (and " + std::to_string(held) + " more held back since the last such line)");
    }

private:
    Poco::Logger& _logger;
    const Clock::duration _interval;
    std::mutex _mutex;
    Clock::time_point _last;
    bool _written = false;
    std::uint64_t _held = 0;
};

} // namespace mt
