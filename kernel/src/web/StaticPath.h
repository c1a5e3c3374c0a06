#pragma once
// The path checks of StaticFiles, kept free of HTTP types so they can be
// tested on their own.

#include <string>

namespace mt::web {

/// True when the request tries to leave the document root or smuggle a
/// separator: a ".." segment in the decoded path, or in the raw path once
/// each segment is percent-decoded (%2e%2e, .%2e), an encoded '/' or '\'
/// (%2f, %5c), a backslash, or a NUL (raw %00 or decoded). The raw path is
/// decoded once only, like the server does: "%252e%252e" is the harmless
/// file name "%2e%2e", not "..".
bool isTraversal(const std::string& rawPath, const std::string& decodedPath);

enum class Resolution
{
    File,      ///< `resolved` is a regular file inside the root
    NotFound,  ///< nothing (or nothing servable) there
    Escape,    ///< the real path leaves the root (symlink)
};

/// Resolves `decodedPath` below `root` (canonical, no trailing slash)
/// following symlinks; a directory resolves to its index.html. The real path
/// must stay inside the root.
Resolution resolveInRoot(const std::string& root, const std::string& decodedPath, std::string& resolved);

} // namespace mt::web
