#pragma once
// Validators and conditional requests (RFC 9110 13) for static files.

#include <cstdint>
#include <string>

namespace mt::web {

/// Weak ETag from size and modification time: W/"<size hex>-<mtime ns hex>".
/// Weak, because equal size and mtime do not prove equal bytes.
std::string makeETag(std::uint64_t size, std::int64_t mtimeNs);

/// "Sun, 06 Nov 1994 08:49:37 GMT".
std::string httpDate(std::int64_t epochSeconds);

/// True when the client's copy is current and a 304 is the answer.
/// If-None-Match wins over If-Modified-Since when both are sent (RFC 9110
/// 13.2.2); an unparsable date is ignored.
bool notModified(const std::string& ifNoneMatch, const std::string& ifModifiedSince, const std::string& etag,
                 std::int64_t mtimeSeconds);

} // namespace mt::web
