#pragma once
// This process's own figures from /proc (Linux): CPU time, resident memory,
// start time. Read on demand: a status or metrics request costs two small
// file reads, cheaper than a sampling thread that runs when nobody looks.
// Thread-safety: sample() may be called from any thread (the CPU percentage
// keeps the previous sample under a mutex).

#include <cstdint>
#include <mutex>
#include <string>

namespace mt::monitor {

struct ProcSample
{
    double cpuSeconds = 0;          ///< user + system time of the process
    std::int64_t residentBytes = 0; ///< resident set size
    std::int64_t virtualBytes = 0;
    double startTimeSeconds = 0;    ///< Unix time the process started (0 if unknown)
    double uptimeSeconds = 0;
    double cpuPercent = 0;          ///< since the previous sample (or since start on the first one); 100 = one core
    int threads = 0;
};

class ProcStats
{
public:
    ProcStats();
    ProcSample sample();

    /// Parses the text of /proc/<pid>/stat (fields after the parenthesised
    /// command name, which may itself contain spaces and parentheses).
    /// Returns false if it is not in the expected shape.
    static bool parseStat(const std::string& text, long& utimeTicks, long& stimeTicks,
                          unsigned long long& startTicks, int& threads);

private:
    std::mutex _mutex;
    double _lastCpu = -1;
    double _lastWall = 0;
};

} // namespace mt::monitor
