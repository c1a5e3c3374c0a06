#include "web/HandlerMapping.h"

#include <map>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace mt {

namespace {

// std::less<> lets match() look up string_views of the request path
// without building a std::string per candidate.
using Table = std::map<std::string, RequestHandler*, std::less<>>;

[[noreturn]] void malformed(const std::string& pattern, const std::string& why)
{
    throw std::invalid_argument("malformed URL pattern \"" + pattern + "\": " + why +
                                " (use \"/exact\", \"/prefix/*\", \"*.ext\" or \"/\")");
}

} // namespace

struct HandlerMapping::Impl
{
    Table exact;
    Table prefix;    ///< "/a" for "/a/*", "" for "/*"
    Table extension; ///< "jsp" for "*.jsp"
    RequestHandler* fallback = nullptr;
    std::vector<std::shared_ptr<RequestHandler>> owned;
};

HandlerMapping::HandlerMapping() : _impl(std::make_unique<Impl>())
{
}

HandlerMapping::~HandlerMapping() = default;

void HandlerMapping::add(const std::string& pattern, std::shared_ptr<RequestHandler> handler)
{
    if (!handler)
        throw std::invalid_argument("URL pattern \"" + pattern + "\" was given no handler");
    Table* table = nullptr;
    std::string key;
    if (pattern.empty())
        malformed(pattern, "empty");
    else if (pattern == "/")
    {
        if (_impl->fallback)
            throw std::invalid_argument("duplicate URL pattern \"/\": a context has one default handler");
        _impl->fallback = handler.get();
        _impl->owned.push_back(std::move(handler));
        return;
    }
    else if (pattern.compare(0, 2, "*.") == 0)
    {
        key = pattern.substr(2);
        if (key.empty())
            malformed(pattern, "no extension after \"*.\"");
        if (key.find_first_of("/*") != std::string::npos)
            malformed(pattern, "an extension may contain neither '/' nor '*'");
        table = &_impl->extension;
    }
    else if (pattern[0] != '/')
        malformed(pattern, "must start with '/' or \"*.\"");
    else if (pattern.size() >= 2 && pattern.compare(pattern.size() - 2, 2, "/*") == 0)
    {
        key = pattern.substr(0, pattern.size() - 2);
        if (key.find('*') != std::string::npos)
            malformed(pattern, "'*' may only appear as the final \"/*\"");
        table = &_impl->prefix;
    }
    else
    {
        if (pattern.find('*') != std::string::npos)
            malformed(pattern, "'*' may only appear as the final \"/*\" or the leading \"*.\"");
        key = pattern;
        table = &_impl->exact;
    }
    if (!table->emplace(key, handler.get()).second)
        throw std::invalid_argument("duplicate URL pattern \"" + pattern + "\": it is already mapped in this context");
    _impl->owned.push_back(std::move(handler));
}

RequestHandler* HandlerMapping::match(const std::string& pathInfo) const
{
    std::string_view path = pathInfo.empty() ? std::string_view("/") : std::string_view(pathInfo);

    if (!_impl->exact.empty())
    {
        auto it = _impl->exact.find(path);
        if (it != _impl->exact.end())
            return it->second;
    }

    // Longest prefix: "/a/b/c" tries "/a/b/c", "/a/b", "/a", "" in turn.
    if (!_impl->prefix.empty())
    {
        std::string_view candidate = path;
        if (candidate.size() > 1 && candidate.back() == '/')
            candidate.remove_suffix(1);
        for (;;)
        {
            auto it = _impl->prefix.find(candidate);
            if (it != _impl->prefix.end())
                return it->second;
            std::size_t slash = candidate.rfind('/');
            if (slash == std::string_view::npos)
                break;
            candidate = candidate.substr(0, slash);
        }
    }

    if (!_impl->extension.empty())
    {
        std::size_t slash = path.rfind('/');
        std::string_view last = path.substr(slash == std::string_view::npos ? 0 : slash + 1);
        std::size_t dot = last.rfind('.');
        if (dot != std::string_view::npos)
        {
            auto it = _impl->extension.find(last.substr(dot + 1));
            if (it != _impl->extension.end())
                return it->second;
        }
    }
    return _impl->fallback;
}

bool HandlerMapping::empty() const
{
    return _impl->owned.empty();
}

} // namespace mt
