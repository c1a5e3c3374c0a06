#pragma once
// Serves files from a document root: MIME types by extension, GET and HEAD,
// ETag and Last-Modified with 304 (If-None-Match / If-Modified-Since),
// index.html for directories, and no way out of the root: any ".." segment
// (encoded or not), NUL, backslash or a symlink leading outside is refused.
//
// PUBLIC INTERFACE FIXED; the web module owns the implementation.
// Thread-safety: serve() may run concurrently.

#include "http/ServerRequest.h"
#include "http/ServerResponse.h"

#include <string>

namespace mt {

class StaticFiles
{
public:
    /// `root` must be an existing directory (throws std::invalid_argument naming it otherwise).
    explicit StaticFiles(const std::string& root);
    /// Answers the request for `pathInfo` (decoded, below the context).
    /// Returns false, sending nothing, when there is no such file (the caller
    /// decides: 404). Traversal attempts are answered 400 (returns true).
    /// Methods other than GET/HEAD are answered 405 with Allow.
    bool serve(http::ServerRequest& request, http::ServerResponse& response, const std::string& pathInfo) const;
    const std::string& root() const { return _root; }

    /// "text/html; charset=utf-8" for "x.html" etc.; application/octet-stream if unknown.
    static std::string mimeType(const std::string& path);

private:
    std::string _root; ///< canonical, no trailing slash
};

} // namespace mt
