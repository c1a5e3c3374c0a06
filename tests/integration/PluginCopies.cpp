#include "PluginCopies.h"

#include "ServerProcess.h"

#include <chrono>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace mt::test {

std::set<std::string> mappedPluginCopies(int pid, const std::string& stem)
{
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    const std::string marker = "/mt-plugin-" + stem + "-";
    std::set<std::string> copies;
    for (std::string line; std::getline(maps, line);)
    {
        auto at = line.find(marker);
        if (at == std::string::npos) continue;
        auto start = line.rfind(' ', at) + 1;
        auto end = line.find(".so", at);
        if (end != std::string::npos) copies.insert(line.substr(start, end + 3 - start));
    }
    return copies;
}

bool waitUntilOnlyANewCopyIsMapped(int pid, const std::string& stem, const std::set<std::string>& before,
                                   std::chrono::milliseconds timeout)
{
    return waitUntil(
        [&] {
            auto now = mappedPluginCopies(pid, stem);
            return now.size() == 1 && !before.count(*now.begin());
        },
        timeout);
}

void reinstallFile(const std::string& file)
{
    const std::string staged = file + ".new";
    fs::copy_file(file, staged, fs::copy_options::overwrite_existing);
    // Later than anything a scan has seen, even on a file system with a coarse clock.
    fs::last_write_time(staged, fs::last_write_time(file) + std::chrono::seconds(2));
    fs::rename(staged, file);
}

} // namespace mt::test
