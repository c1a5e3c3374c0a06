#include "http/RequestHead.h"

#include <cstring>

namespace mt::http {
namespace {

// RFC 7230 tchar.
bool isTokenChar(unsigned char c)
{
    static const bool* table = [] {
        static bool t[256] = {};
        for (int c = '0'; c <= '9'; ++c) t[c] = true;
        for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
        for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
        for (const char* p = "!#$%&'*+-.^_`|~"; *p; ++p) t[static_cast<unsigned char>(*p)] = true;
        return t;
    }();
    return table[c];
}

int hexValue(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// One line without its line end; advances `p` past it.
bool nextLine(const char*& p, const char* end, const char*& lineBegin, const char*& lineEnd)
{
    if (p >= end) return false;
    const char* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    lineBegin = p;
    lineEnd = lf ? lf : end;
    p = lf ? lf + 1 : end;
    if (lineEnd > lineBegin && lineEnd[-1] == '\r') --lineEnd;
    return true;
}

bool isOws(char c) { return c == ' ' || c == '\t'; }

/// Splits the request target into path, query and the jsessionid path parameter.
int splitTarget(RequestHead& head)
{
    const std::string& uri = head.uri;
    const char* b = uri.data();
    const char* e = b + uri.size();
    if (uri == "*")
    {
        head.rawPath = head.path = "*";
        return 0;
    }
    if (*b != '/')
    {
        // absolute-form (proxies): keep only the path.
        const char* scheme = static_cast<const char*>(std::memchr(b, ':', uri.size()));
        if (!scheme || e - scheme < 3 || scheme[1] != '/' || scheme[2] != '/') return 400;
        const char* slash = static_cast<const char*>(std::memchr(scheme + 3, '/', static_cast<std::size_t>(e - scheme - 3)));
        if (!slash) return 400;
        b = slash;
    }
    const char* q = static_cast<const char*>(std::memchr(b, '?', static_cast<std::size_t>(e - b)));
    const char* pathEnd = q ? q : e;
    if (q) head.query.assign(q + 1, e);
    head.rawPath.assign(b, pathEnd);

    static const char marker[] = ";jsessionid=";
    std::size_t at = head.rawPath.find(marker);
    if (at != std::string::npos)
    {
        std::size_t idBegin = at + sizeof(marker) - 1;
        std::size_t idEnd = head.rawPath.find_first_of(";/", idBegin);
        if (idEnd == std::string::npos) idEnd = head.rawPath.size();
        head.pathSessionId.assign(head.rawPath, idBegin, idEnd - idBegin);
        head.rawPath.erase(at, idEnd - at);
    }
    if (!decodePath(head.rawPath.data(), head.rawPath.data() + head.rawPath.size(), head.path)) return 400;
    return 0;
}

/// request-line = method SP request-target SP HTTP-version, without its line
/// end: 0 with the two spaces found, or the status to answer (400, 505).
int checkRequestLine(const char* lb, const char* le, const char*& sp1, const char*& sp2)
{
    sp1 = static_cast<const char*>(std::memchr(lb, ' ', static_cast<std::size_t>(le - lb)));
    if (!sp1 || sp1 == lb) return 400;
    for (const char* c = lb; c < sp1; ++c)
        if (!isTokenChar(static_cast<unsigned char>(*c))) return 400;
    sp2 = sp1 + 1;
    while (sp2 < le && *sp2 != ' ') ++sp2;
    if (sp2 >= le || sp2 == sp1 + 1) return 400;
    for (const char* c = sp1 + 1; c < sp2; ++c)
        if (static_cast<unsigned char>(*c) <= 0x20 || *c == 0x7f) return 400;
    std::size_t versionLen = static_cast<std::size_t>(le - sp2 - 1);
    const char* v = sp2 + 1;
    if (versionLen != 8 || std::memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
        v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
        return 400;
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) return 505;
    return 0;
}

} // namespace

void RequestHead::clear()
{
    method.clear();
    uri.clear();
    version.clear();
    rawPath.clear();
    path.clear();
    query.clear();
    pathSessionId.clear();
    headers.clear();
}

bool findHeadEnd(const char* data, std::size_t size, std::size_t& scan,
                 std::size_t& headSize, std::size_t& totalSize)
{
    std::size_t i = scan;
    while (i < size)
    {
        const char* lf = static_cast<const char*>(std::memchr(data + i, '\n', size - i));
        if (!lf) break;
        std::size_t q = static_cast<std::size_t>(lf - data);
        if (q + 1 >= size) { scan = q; return false; }
        if (data[q + 1] == '\n')
        {
            headSize = q + 1;
            totalSize = q + 2;
            return true;
        }
        if (data[q + 1] == '\r')
        {
            if (q + 2 >= size) { scan = q; return false; }
            if (data[q + 2] == '\n')
            {
                headSize = q + 1;
                totalSize = q + 3;
                return true;
            }
        }
        i = q + 1;
    }
    scan = size;
    return false;
}

int rejectEarly(const char* data, std::size_t size)
{
    const char* end = data + size;
    const char* lf = static_cast<const char*>(std::memchr(data, '\n', size));
    if (lf)
    {
        const char* lineEnd = lf > data && lf[-1] == '\r' ? lf - 1 : lf;
        const char* sp1;
        const char* sp2;
        return checkRequestLine(data, lineEnd, sp1, sp2);
    }
    // Not a whole line yet: its method so far must be a token.
    for (const char* c = data; c < end && *c != ' '; ++c)
        if (!isTokenChar(static_cast<unsigned char>(*c))) return 400;
    return size > 0 && *data == ' ' ? 400 : 0;
}

int parseRequestHead(const char* data, std::size_t size, int maxFields, RequestHead& head)
{
    const char* p = data;
    const char* end = data + size;
    const char* lb;
    const char* le;
    if (!nextLine(p, end, lb, le)) return 400;

    const char* sp1;
    const char* sp2;
    if (int status = checkRequestLine(lb, le, sp1, sp2)) return status;
    head.method.assign(lb, sp1);
    head.uri.assign(sp1 + 1, sp2);
    head.version.assign(sp2 + 1, 8);

    int fields = 0;
    while (nextLine(p, end, lb, le))
    {
        if (lb == le) break;
        if (isOws(*lb)) return 400; // obsolete line folding
        if (++fields > maxFields) return 431;
        const char* colon = static_cast<const char*>(std::memchr(lb, ':', static_cast<std::size_t>(le - lb)));
        if (!colon || colon == lb) return 400;
        for (const char* c = lb; c < colon; ++c)
            if (!isTokenChar(static_cast<unsigned char>(*c))) return 400;
        const char* vb = colon + 1;
        const char* ve = le;
        while (vb < ve && isOws(*vb)) ++vb;
        while (ve > vb && isOws(ve[-1])) --ve;
        for (const char* c = vb; c < ve; ++c)
            if ((static_cast<unsigned char>(*c) < 0x20 && *c != '\t') || *c == 0x7f) return 400;
        head.headers.add(std::string(lb, colon), std::string(vb, ve));
    }
    return splitTarget(head);
}

bool decodePath(const char* begin, const char* end, std::string& out)
{
    out.clear();
    const char* pct = static_cast<const char*>(std::memchr(begin, '%', static_cast<std::size_t>(end - begin)));
    if (!pct)
    {
        out.assign(begin, end);
        return true;
    }
    out.reserve(static_cast<std::size_t>(end - begin));
    out.assign(begin, pct);
    for (const char* p = pct; p < end; ++p)
    {
        if (*p != '%')
        {
            out += *p;
            continue;
        }
        if (end - p < 3) return false;
        int hi = hexValue(p[1]);
        int lo = hexValue(p[2]);
        if (hi < 0 || lo < 0) return false;
        char c = static_cast<char>(hi * 16 + lo);
        if (c == '\0') return false;
        out += c;
        p += 2;
    }
    return true;
}

void decodeComponent(const char* begin, const char* end, std::string& out)
{
    out.clear();
    out.reserve(static_cast<std::size_t>(end - begin));
    for (const char* p = begin; p < end; ++p)
    {
        if (*p == '+')
            out += ' ';
        else if (*p == '%' && end - p >= 3 && hexValue(p[1]) >= 0 && hexValue(p[2]) >= 0)
        {
            out += static_cast<char>(hexValue(p[1]) * 16 + hexValue(p[2]));
            p += 2;
        }
        else
            out += *p;
    }
}

} // namespace mt::http
