#include "web/StaticConditional.h"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Timestamp.h>

#include <cstdio>

namespace mt::web {

namespace {

std::string opaque(const std::string& tag)
{
    std::string t = tag;
    t.erase(0, t.find_first_not_of(" \t"));
    t.erase(t.find_last_not_of(" \t") + 1);
    if (t.compare(0, 2, "W/") == 0)
        t.erase(0, 2);
    return t;
}

} // namespace

std::string makeETag(std::uint64_t size, std::int64_t mtimeNs)
{
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "W/\"%llx-%llx\"", static_cast<unsigned long long>(size),
                  static_cast<unsigned long long>(mtimeNs));
    return buffer;
}

std::string httpDate(std::int64_t epochSeconds)
{
    return Poco::DateTimeFormatter::format(Poco::Timestamp::fromEpochTime(static_cast<std::time_t>(epochSeconds)),
                                           Poco::DateTimeFormat::HTTP_FORMAT);
}

bool notModified(const std::string& ifNoneMatch, const std::string& ifModifiedSince, const std::string& etag,
                 std::int64_t mtimeSeconds)
{
    if (!ifNoneMatch.empty())
    {
        // Weak comparison: GET/HEAD revalidation may use weak tags.
        std::string mine = opaque(etag);
        std::size_t start = 0;
        while (start <= ifNoneMatch.size())
        {
            std::size_t comma = ifNoneMatch.find(',', start);
            if (comma == std::string::npos)
                comma = ifNoneMatch.size();
            std::string theirs = opaque(ifNoneMatch.substr(start, comma - start));
            if (theirs == "*" || theirs == mine)
                return true;
            start = comma + 1;
        }
        return false;
    }
    if (!ifModifiedSince.empty())
    {
        Poco::DateTime since;
        int tz = 0;
        if (!Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::HTTP_FORMAT, ifModifiedSince, since, tz) &&
            !Poco::DateTimeParser::tryParse(ifModifiedSince, since, tz))
            return false;
        since.makeUTC(tz);
        return mtimeSeconds <= since.timestamp().epochTime();
    }
    return false;
}

} // namespace mt::web
