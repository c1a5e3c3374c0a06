#pragma once
// What a running node has loaded of a plugin file, seen from outside: the
// plugin manager maps a private copy per version ("/tmp/mt-plugin-<stem>-
// XXXXXX.so", unlinked at once), so the node's memory map tells which
// versions of a plugin are still alive in it.

#include <chrono>
#include <set>
#include <string>

namespace mt::test {

/// The distinct private copies of plugin file `<stem>.so` (e.g.
/// "store-memory") that process `pid` has mapped now.
std::set<std::string> mappedPluginCopies(int pid, const std::string& stem);

/// Polls until `pid` maps exactly one copy of `<stem>.so` and it is none of
/// `before`: the new version is in use and the old one unloaded. False if
/// that does not happen within `timeout`.
bool waitUntilOnlyANewCopyIsMapped(int pid, const std::string& stem, const std::set<std::string>& before,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// Replaces `file` with a copy of itself as an install does (a new file
/// renamed over it, with a later modification time): same code, new version.
void reinstallFile(const std::string& file);

} // namespace mt::test
