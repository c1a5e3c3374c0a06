#pragma once
// The RFC 7231 Date header value, formatted at most once per second per thread.

#include <string_view>

namespace mt::http {

/// E.g. "Sun, 06 Nov 1994 08:49:37 GMT"; valid until the thread's next call.
std::string_view httpDateNow();

} // namespace mt::http
