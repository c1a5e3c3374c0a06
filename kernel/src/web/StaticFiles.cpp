#include "web/StaticFiles.h"

#include "web/MimeTypes.h"
#include "web/StaticConditional.h"
#include "web/StaticPath.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace mt {

namespace {

/// Closes the descriptor on every way out of serve().
class FileDescriptor
{
public:
    explicit FileDescriptor(int fd) : _fd(fd) {}
    ~FileDescriptor()
    {
        if (_fd >= 0)
            ::close(_fd);
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return _fd; }

private:
    int _fd;
};

/// Copies in blocks so a large file never sits in memory whole.
void streamFile(int fd, std::ostream& out, long long size)
{
    char buffer[64 * 1024];
    long long left = size;
    while (left > 0 && out)
    {
        ssize_t n = ::read(fd, buffer, static_cast<size_t>(std::min<long long>(left, sizeof buffer)));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; // file shrank under us: the connection code sees the short body
        out.write(buffer, n);
        left -= n;
    }
    out.flush();
}

} // namespace

StaticFiles::StaticFiles(const std::string& root)
{
    char buffer[PATH_MAX];
    struct stat st;
    if (!::realpath(root.c_str(), buffer) || ::stat(buffer, &st) != 0 || !S_ISDIR(st.st_mode))
        throw std::invalid_argument("static document root " + root +
                                    " is not an existing directory; create it or fix the setting");
    _root = buffer;
}

std::string StaticFiles::mimeType(const std::string& path)
{
    return web::mimeTypeFor(path);
}

bool StaticFiles::serve(http::ServerRequest& request, http::ServerResponse& response, const std::string& pathInfo) const
{
    if (web::isTraversal(request.rawPath(), pathInfo))
    {
        response.sendError(400, "Bad Request: path leaves the document root");
        return true;
    }
    std::string file;
    switch (web::resolveInRoot(_root, pathInfo, file))
    {
    case web::Resolution::NotFound:
        return false;
    case web::Resolution::Escape:
        response.sendError(400, "Bad Request: path leaves the document root");
        return true;
    case web::Resolution::File:
        break;
    }

    const std::string& method = request.method();
    bool head = method == "HEAD";
    if (!head && method != "GET")
    {
        response.setHeader("Allow", "GET, HEAD");
        response.sendError(405, "Method Not Allowed: static files answer GET and HEAD");
        return true;
    }

    // The real path has no symlink left; O_NOFOLLOW refuses one swapped in since.
    FileDescriptor fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat st;
    if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
        return false;

    std::int64_t mtimeNs = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
    std::string etag = web::makeETag(static_cast<std::uint64_t>(st.st_size), mtimeNs);
    response.setHeader("ETag", etag);
    response.setHeader("Last-Modified", web::httpDate(st.st_mtim.tv_sec));
    if (web::notModified(request.header("If-None-Match"), request.header("If-Modified-Since"), etag,
                         st.st_mtim.tv_sec))
    {
        response.setStatus(304);
        return true;
    }

    response.setStatus(200);
    response.setContentType(web::mimeTypeFor(file));
    response.setContentLength(st.st_size);
    std::ostream& out = response.send();
    if (!head)
        streamFile(fd.get(), out, st.st_size);
    return true;
}

} // namespace mt
