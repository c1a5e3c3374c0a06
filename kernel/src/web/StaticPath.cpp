#include "web/StaticPath.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <sys/stat.h>

namespace mt::web {

namespace {

int hexValue(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/// One percent-decoding pass; malformed escapes are kept literally (the
/// server has already refused those, this only looks for dangerous bytes).
std::string decodeOnce(const std::string& segment)
{
    std::string out;
    out.reserve(segment.size());
    for (std::size_t i = 0; i < segment.size(); ++i)
    {
        if (segment[i] == '%' && i + 2 < segment.size() && hexValue(segment[i + 1]) >= 0 &&
            hexValue(segment[i + 2]) >= 0)
        {
            out += static_cast<char>(hexValue(segment[i + 1]) * 16 + hexValue(segment[i + 2]));
            i += 2;
        }
        else
            out += segment[i];
    }
    return out;
}

bool badSegment(const std::string& segment)
{
    return segment == ".." || segment.find('\\') != std::string::npos || segment.find('\0') != std::string::npos;
}

bool insideRoot(const std::string& root, const std::string& real)
{
    return real == root || (real.size() > root.size() && real.compare(0, root.size(), root) == 0 &&
                            (root == "/" || real[root.size()] == '/'));
}

/// realpath(), classifying the outcome.
Resolution realInside(const std::string& root, const std::string& path, std::string& real, struct stat& st)
{
    char buffer[PATH_MAX];
    if (!::realpath(path.c_str(), buffer))
        return Resolution::NotFound;
    real = buffer;
    if (!insideRoot(root, real))
        return Resolution::Escape;
    if (::stat(real.c_str(), &st) != 0)
        return Resolution::NotFound;
    return Resolution::File;
}

} // namespace

bool isTraversal(const std::string& rawPath, const std::string& decodedPath)
{
    for (const std::string* path : {&rawPath, &decodedPath})
    {
        bool raw = path == &rawPath;
        std::size_t start = 0;
        while (start <= path->size())
        {
            std::size_t end = path->find('/', start);
            if (end == std::string::npos)
                end = path->size();
            std::string segment = path->substr(start, end - start);
            if (raw)
            {
                // Drop a ";param" (e.g. ";jsessionid=") before judging the name.
                std::string decoded = decodeOnce(segment.substr(0, segment.find(';')));
                if (badSegment(decoded) || decoded.find('/') != std::string::npos)
                    return true;
            }
            else if (badSegment(segment))
                return true;
            start = end + 1;
        }
    }
    return false;
}

Resolution resolveInRoot(const std::string& root, const std::string& decodedPath, std::string& resolved)
{
    std::string path = root;
    if (decodedPath.empty() || decodedPath[0] != '/')
        path += '/';
    path += decodedPath;

    struct stat st;
    Resolution r = realInside(root, path, resolved, st);
    if (r != Resolution::File)
        return r;
    if (S_ISDIR(st.st_mode))
    {
        // index.html may itself be a symlink: check it like any other file.
        r = realInside(root, resolved + "/index.html", resolved, st);
        if (r != Resolution::File)
            return r;
    }
    return S_ISREG(st.st_mode) ? Resolution::File : Resolution::NotFound;
}

} // namespace mt::web
