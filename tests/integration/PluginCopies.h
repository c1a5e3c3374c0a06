#pragma once
// What a running node has loaded of a plugin file, seen from outside: the
// plugin manager maps a private copy per version ("/tmp/mt-plugin-<stem>-
// XXXXXX.so", unlinked at once), so the node's memory map tells which
// versions of a plugin are still alive in it.

#include <set>
#include <string>

namespace mt::test {

/// The distinct private copies of plugin file `<stem>.so` (e.g.
/// "store-memory") that process `pid` has mapped now.
std::set<std::string> mappedPluginCopies(int pid, const std::string& stem);

/// Replaces `file` with a copy of itself as an install does (a new file
/// renamed over it, with a later modification time): same code, new version.
void reinstallFile(const std::string& file);

} // namespace mt::test
