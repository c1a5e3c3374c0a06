#pragma once
// File-level helpers of the plugin loader: change detection and the private
// copy a library is loaded from.

#include <cstdint>
#include <string>

namespace mt::plugin {

/// What scan() compares to decide that a file changed.
struct FileSignature
{
    std::uint64_t size = 0;
    std::int64_t mtimeNs = 0;
    bool operator==(const FileSignature& other) const { return size == other.size && mtimeNs == other.mtimeNs; }
    bool operator!=(const FileSignature& other) const { return !(*this == other); }
};

/// False if `file` is missing or not a regular file (symlinks followed).
bool readSignature(const std::string& file, FileSignature& signature);

/// Copies `file` to a new, uniquely named file in the temp directory and
/// returns its path, or "" if that failed (the caller then loads in place).
std::string makeLoadCopy(const std::string& file);

/// Absolute path with the directory part resolved (symlinks, "..").
std::string normalizePluginPath(const std::string& file);

} // namespace mt::plugin
