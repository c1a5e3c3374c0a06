#pragma once
// Content types by file extension, for static files.

#include <string>

namespace mt::web {

/// "text/html; charset=utf-8" for "a/b.HTML"; "application/octet-stream" if unknown.
const std::string& mimeTypeFor(const std::string& path);

} // namespace mt::web
