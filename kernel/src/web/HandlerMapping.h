#pragma once
// Servlet URL-pattern matching for one context (Servlet spec 12.2):
// exact "/a/b", prefix "/a/*", extension "*.jsp", default "/".
// Precedence: exact, then longest prefix, then extension, then default.
//
// PUBLIC INTERFACE FIXED; the web module owns the implementation.
// Thread-safety: add() before publishing; match() concurrently afterwards.

#include "mt/RequestHandler.h"

#include <memory>
#include <string>

namespace mt {

class HandlerMapping
{
public:
    HandlerMapping();
    ~HandlerMapping();
    /// Throws std::invalid_argument naming the pattern for a malformed or duplicate pattern.
    void add(const std::string& pattern, std::shared_ptr<RequestHandler> handler);
    /// `pathInfo` is the decoded path below the context ("/" at least). Null if nothing matches.
    RequestHandler* match(const std::string& pathInfo) const;
    bool empty() const;

private:
    struct Impl;
    std::unique_ptr<Impl> _impl;
};

} // namespace mt
