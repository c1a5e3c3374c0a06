#pragma once
// Parsing of a request head that is complete in memory. Parsing ourselves
// (instead of Poco's HTTPRequest::read over a stream) lets us tell 414 from
// 431 from 400 exactly and avoids a stream and several copies per request.

#include <Poco/Net/NameValueCollection.h>

#include <cstddef>
#include <string>

namespace mt::http {

struct RequestHead
{
    std::string method;
    std::string uri;
    std::string version;
    std::string rawPath;
    std::string path;
    std::string query;
    std::string pathSessionId;
    Poco::Net::NameValueCollection headers;

    void clear();
};

/// Finds the end of a head in [data, data+size) starting the search at `scan`.
/// On success returns true, sets `headSize` (request line and header lines
/// with their line ends) and `totalSize` (including the blank line).
/// Otherwise updates `scan` so the next call does not rescan.
bool findHeadEnd(const char* data, std::size_t size, std::size_t& scan,
                 std::size_t& headSize, std::size_t& totalSize);

/// What can be told of a head that is not complete yet (bytes a client sent
/// to the wrong port: TLS, Redis commands): 400 or 505 as soon as its first
/// line, or the part of it received, cannot begin an HTTP/1.x request; else 0.
/// `data` starts at the request line (blank lines before it skipped).
int rejectEarly(const char* data, std::size_t size);

/// Parses request line and headers into `head`, then splits the target.
/// Returns 0, or the status to answer (400, 414, 431, 505).
int parseRequestHead(const char* data, std::size_t size, int maxFields, RequestHead& head);

/// Percent-decodes a path; false on a malformed escape or an encoded NUL.
bool decodePath(const char* begin, const char* end, std::string& out);

/// Decodes a query/form component ('+' is a space); malformed escapes are kept.
void decodeComponent(const char* begin, const char* end, std::string& out);

} // namespace mt::http
