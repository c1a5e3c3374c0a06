#include "plugin/PluginFile.h"

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace mt::plugin {

bool readSignature(const std::string& file, FileSignature& signature)
{
    struct stat st;
    if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    signature.size = static_cast<std::uint64_t>(st.st_size);
    // Nanoseconds: a rebuild within the same second must still count as a change.
    signature.mtimeNs = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
    return true;
}

namespace {

bool copyAll(int from, int to)
{
    std::vector<char> buffer(64 * 1024);
    for (;;)
    {
        ssize_t n = ::read(from, buffer.data(), buffer.size());
        if (n == 0)
            return true;
        if (n < 0)
        {
            if (errno == EINTR)
                continue;
            return false;
        }
        for (ssize_t done = 0; done < n;)
        {
            ssize_t w = ::write(to, buffer.data() + done, static_cast<size_t>(n - done));
            if (w < 0)
            {
                if (errno == EINTR)
                    continue;
                return false;
            }
            done += w;
        }
    }
}

} // namespace

std::string makeLoadCopy(const std::string& file)
{
    std::error_code ec;
    fs::path dir = fs::temp_directory_path(ec);
    if (ec)
        dir = "/tmp";
    std::string stem = fs::path(file).stem().string();
    std::string pattern = (dir / ("mt-plugin-" + stem + "-XXXXXX.so")).string();
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    int to = ::mkstemps(name.data(), 3);
    if (to < 0)
        return "";
    std::string copy(name.data());
    int from = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    bool ok = from >= 0 && copyAll(from, to);
    if (from >= 0)
        ::close(from);
    if (::close(to) != 0)
        ok = false;
    if (!ok)
    {
        ::unlink(copy.c_str());
        return "";
    }
    return copy;
}

std::string normalizePluginPath(const std::string& file)
{
    fs::path path = fs::absolute(fs::path(file)).lexically_normal();
    std::error_code ec;
    fs::path dir = fs::weakly_canonical(path.parent_path(), ec);
    if (ec)
        return path.string();
    return (dir / path.filename()).string();
}

} // namespace mt::plugin
