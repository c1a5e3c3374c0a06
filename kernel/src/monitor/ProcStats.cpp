#include "monitor/ProcStats.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <vector>

#include <unistd.h>

namespace mt::monitor {

namespace {

std::string readFile(const char* path)
{
    std::ifstream in(path);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

double wallSeconds()
{
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// Boot time (Unix seconds) from the btime line of /proc/stat.
double bootTime()
{
    std::istringstream in(readFile("/proc/stat"));
    std::string line;
    while (std::getline(in, line))
        if (line.compare(0, 6, "btime ") == 0) return std::stod(line.substr(6));
    return 0;
}

} // namespace

ProcStats::ProcStats() = default;

bool ProcStats::parseStat(const std::string& text, long& utimeTicks, long& stimeTicks,
                          unsigned long long& startTicks, int& threads)
{
    // The command name is in parentheses and may contain anything: the
    // fields proper start after the last ')'.
    auto close = text.rfind(')');
    if (close == std::string::npos) return false;
    std::istringstream in(text.substr(close + 1));
    std::vector<std::string> fields; // fields[0] is field 3 (state)
    std::string field;
    while (in >> field) fields.push_back(field);
    if (fields.size() < 20) return false;
    try
    {
        utimeTicks = std::stol(fields[11]);   // field 14
        stimeTicks = std::stol(fields[12]);   // field 15
        threads = std::stoi(fields[17]);      // field 20
        startTicks = std::stoull(fields[19]); // field 22
    }
    catch (const std::exception&)
    {
        return false;
    }
    return true;
}

ProcSample ProcStats::sample()
{
    ProcSample s;
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double pageSize = static_cast<double>(sysconf(_SC_PAGESIZE));
    long utime = 0, stime = 0;
    unsigned long long start = 0;
    if (parseStat(readFile("/proc/self/stat"), utime, stime, start, s.threads))
    {
        s.cpuSeconds = static_cast<double>(utime + stime) / ticks;
        double boot = bootTime();
        if (boot > 0) s.startTimeSeconds = boot + static_cast<double>(start) / ticks;
    }
    std::istringstream statm(readFile("/proc/self/statm"));
    long long size = 0, resident = 0;
    if (statm >> size >> resident)
    {
        s.virtualBytes = static_cast<std::int64_t>(static_cast<double>(size) * pageSize);
        s.residentBytes = static_cast<std::int64_t>(static_cast<double>(resident) * pageSize);
    }
    const double now = wallSeconds();
    if (s.startTimeSeconds > 0) s.uptimeSeconds = now - s.startTimeSeconds;

    std::lock_guard<std::mutex> lock(_mutex);
    if (_lastCpu >= 0 && now - _lastWall >= 0.05)
        s.cpuPercent = 100.0 * (s.cpuSeconds - _lastCpu) / (now - _lastWall);
    else if (s.uptimeSeconds > 0)
        s.cpuPercent = 100.0 * s.cpuSeconds / s.uptimeSeconds;
    if (_lastCpu < 0 || now - _lastWall >= 0.05)
    {
        _lastCpu = s.cpuSeconds;
        _lastWall = now;
    }
    return s;
}

} // namespace mt::monitor
