#include "http/HttpDate.h"

#include <cstdio>
#include <ctime>

namespace mt::http {

std::string_view httpDateNow()
{
    // thread_local: no lock, and each worker re-formats once per second at most.
    thread_local std::time_t cachedSecond = -1;
    thread_local char text[40];
    thread_local int length = 0;

    std::time_t now = std::time(nullptr);
    if (now != cachedSecond)
    {
        static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        std::tm tm{};
        gmtime_r(&now, &tm);
        // Formatted by hand: strftime would follow the process locale.
        length = std::snprintf(text, sizeof(text), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                               days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
                               tm.tm_hour, tm.tm_min, tm.tm_sec);
        cachedSecond = now;
    }
    return std::string_view(text, static_cast<std::size_t>(length));
}

} // namespace mt::http
