#include "http/ServerRequest.h"

#include "http/RequestImpl.h"

#include <Poco/String.h>

#include <cstring>
#include <stdexcept>

namespace mt::http {
namespace {

void parsePairs(const std::string& text, std::vector<std::pair<std::string, std::string>>& out)
{
    const char* p = text.data();
    const char* end = p + text.size();
    while (p < end)
    {
        const char* amp = static_cast<const char*>(std::memchr(p, '&', static_cast<std::size_t>(end - p)));
        const char* pe = amp ? amp : end;
        if (pe > p)
        {
            const char* eq = static_cast<const char*>(std::memchr(p, '=', static_cast<std::size_t>(pe - p)));
            std::pair<std::string, std::string> kv;
            decodeComponent(p, eq ? eq : pe, kv.first);
            if (eq) decodeComponent(eq + 1, pe, kv.second);
            out.push_back(std::move(kv));
        }
        p = pe + 1;
    }
}

} // namespace

ServerRequest::ServerRequest() = default;
ServerRequest::~ServerRequest() = default;

const std::string& ServerRequest::method() const { return _impl->head.method; }
const std::string& ServerRequest::uri() const { return _impl->head.uri; }
const std::string& ServerRequest::contextPath() const { return _impl->contextPath; }
const std::string& ServerRequest::pathInfo() const
{
    return _impl->contextSet ? _impl->pathInfo : _impl->head.path;
}
const std::string& ServerRequest::query() const { return _impl->head.query; }
const std::string& ServerRequest::path() const { return _impl->head.path; }
const std::string& ServerRequest::rawPath() const { return _impl->head.rawPath; }
const std::string& ServerRequest::pathSessionId() const { return _impl->head.pathSessionId; }
const std::string& ServerRequest::version() const { return _impl->head.version; }

std::string ServerRequest::parameter(const std::string& name, const std::string& fallback) const
{
    if (!_impl->paramsParsed)
    {
        // Lazily, because reading a form body may block or throw BodyTooLarge;
        // a handler that never asks for parameters never pays for either.
        _impl->paramsParsed = true;
        parsePairs(_impl->head.query, _impl->params);
        const std::string type = _impl->head.headers.get("Content-Type", "");
        if (Poco::icompare(type, 0, 33, std::string("application/x-www-form-urlencoded")) == 0 &&
            (_impl->bodyRead || !_impl->body.started()))
        {
            const_cast<ServerRequest*>(this)->readBody();
            parsePairs(_impl->bodyText, _impl->params);
        }
    }
    for (const auto& kv : _impl->params)
        if (kv.first == name) return kv.second;
    return fallback;
}

bool ServerRequest::hasParameter(const std::string& name) const
{
    static const std::string absent("\x01\x02" "absent");
    return parameter(name, absent) != absent;
}

std::string ServerRequest::header(const std::string& name, const std::string& fallback) const
{
    return _impl->head.headers.get(name, fallback);
}

const Poco::Net::NameValueCollection& ServerRequest::headers() const { return _impl->head.headers; }
Poco::Net::SocketAddress ServerRequest::clientAddress() const { return *_impl->client; }
Poco::Net::SocketAddress ServerRequest::serverAddress() const { return *_impl->server; }
std::istream& ServerRequest::body() { return _impl->bodyStream; }

std::string ServerRequest::readBody()
{
    if (!_impl->bodyRead)
    {
        // Whatever body() already consumed is gone; readBody returns the rest.
        std::streamsize buffered = _impl->body.in_avail();
        if (buffered > 0)
        {
            _impl->bodyText.resize(static_cast<std::size_t>(buffered));
            _impl->body.sgetn(_impl->bodyText.data(), buffered);
        }
        const char* data;
        std::size_t size;
        while (_impl->body.next(data, size)) _impl->bodyText.append(data, size);
        _impl->bodyRead = true;
    }
    return _impl->bodyText;
}

HttpSession* ServerRequest::session(bool create)
{
    return _impl->sessions ? _impl->sessions->session(create) : nullptr;
}

std::string ServerRequest::changeSessionId()
{
    if (!_impl->sessions) throw std::logic_error("changeSessionId: no session source for this request");
    return _impl->sessions->changeSessionId();
}

void ServerRequest::setContext(const std::string& contextPath, const std::string& pathInfo)
{
    _impl->contextPath = contextPath;
    _impl->pathInfo = pathInfo;
    _impl->contextSet = true;
}

void ServerRequest::setSessionSource(SessionSource* source) { _impl->sessions = source; }

} // namespace mt::http
