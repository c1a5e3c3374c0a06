#include "http/ServerResponse.h"

#include "http/HttpDate.h"
#include "http/ProtocolError.h"
#include "http/RequestBody.h"
#include "http/ResponseImpl.h"
#include "http/ServerContext.h"
#include "http/SocketOutput.h"

#include <Poco/NumberParser.h>
#include <Poco/String.h>

#include <charconv>
#include <stdexcept>

namespace mt::http {
namespace {

// Bodies up to this size are copied next to the head: one send() per response.
const std::size_t copyLimit = 16 * 1024;

bool is(const std::string& a, const char* b) { return Poco::icompare(a, b) == 0; }

void appendNumber(std::string& s, long long v)
{
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    s.append(buf, r.ptr);
}

} // namespace

const char* reasonPhrase(int status)
{
    switch (status)
    {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error" : "Server Error";
    }
}

ServerResponse::Impl::Impl(ServerContext& c, SocketOutput& o, RequestBody& rb):
    ctx(c), out(o), requestBody(rb), body(o), stream(&body)
{
    // A write to a vanished client must abort the handler, not be ignored.
    stream.exceptions(std::ios::badbit);
}

void ServerResponse::Impl::reset(bool keepAliveAllowed, bool isHead, bool isHttp10)
{
    status = 200;
    reason.clear();
    headers.clear();
    contentType.clear();
    contentLength = -1;
    hook = nullptr;
    hookRan = false;
    refusedStatus = 0;
    refusedRetryAfter = 0;
    awaiting.reset();
    committed = false;
    closeRequested = false;
    willClose = false;
    ownServer = false;
    ownDate = false;
    fixedBytes = 0;
    keepAlive = keepAliveAllowed;
    head = isHead;
    http10 = isHttp10;
    body.start(ResponseBody::Mode::Discard, 0);
    stream.clear();
}

bool ServerResponse::Impl::bodyAllowed() const
{
    return status >= 200 && status != 204 && status != 304;
}

bool ServerResponse::Impl::runHook()
{
    if (hookRan || !hook) return true;
    hookRan = true;
    try
    {
        hook();
        return true;
    }
    catch (const CommitRefused& e)
    {
        refusedStatus = e.status();
        refusedRetryAfter = e.retryAfter();
        ctx.refusals.warning(std::string("response refused before commit: ") + e.what());
    }
    catch (const std::exception& e)
    {
        ctx.logger.error(std::string("before-commit hook failed: ") + e.what());
    }
    catch (...)
    {
        ctx.logger.error("before-commit hook failed");
    }
    return false;
}

void ServerResponse::Impl::commitHookFailure()
{
    static const std::string internal("Internal Server Error\n");
    // Only a session store refuses a commit (KernelDispatcher).
    static const std::string unavailable(std::string(kSessionStoreUnavailable) + "\n");
    const std::string& text = refusedStatus == 503 ? unavailable : internal;
    status = refusedStatus ? refusedStatus : 500;
    reason.clear();
    headers = cookies();
    if (refusedRetryAfter > 0) headers.emplace_back("Retry-After", std::to_string(refusedRetryAfter));
    contentType = "text/plain; charset=utf-8";
    closeRequested = true;
    writeHead(static_cast<long long>(text.size()), false);
    if (!head)
    {
        out.pending().append(text);
        fixedBytes = static_cast<long long>(text.size());
    }
    body.start(ResponseBody::Mode::Discard, 0);
}

std::vector<std::pair<std::string, std::string>> ServerResponse::Impl::cookies() const
{
    std::vector<std::pair<std::string, std::string>> kept;
    for (const auto& header : headers)
        if (Poco::icompare(header.first, "Set-Cookie") == 0) kept.push_back(header);
    return kept;
}

void ServerResponse::Impl::writeHead(long long length, bool chunked)
{
    bool unreadBody = !requestBody.finished() &&
        (requestBody.continuePending() || requestBody.framing() == RequestBody::Framing::Chunked ||
         requestBody.remainingFixed() > static_cast<long long>(kMaxSwallowBytes));
    willClose = !keepAlive || closeRequested || unreadBody || ctx.stopping.load(std::memory_order_relaxed) ||
        (length < 0 && !chunked && bodyAllowed());

    std::string& s = out.pending();
    s.append("HTTP/1.1 ", 9);
    appendNumber(s, status);
    s += ' ';
    s.append(reason.empty() ? reasonPhrase(status) : reason);
    s.append("\r\n", 2);
    if (!ownDate)
    {
        s.append("Date: ", 6);
        s.append(httpDateNow());
        s.append("\r\n", 2);
    }
    if (!ownServer && !ctx.limits.serverHeader.empty())
    {
        s.append("Server: ", 8);
        s.append(ctx.limits.serverHeader);
        s.append("\r\n", 2);
    }
    if (!contentType.empty())
    {
        s.append("Content-Type: ", 14);
        s.append(contentType);
        s.append("\r\n", 2);
    }
    if (bodyAllowed())
    {
        if (length >= 0)
        {
            s.append("Content-Length: ", 16);
            appendNumber(s, length);
            s.append("\r\n", 2);
        }
        else if (chunked)
            s.append("Transfer-Encoding: chunked\r\n", 28);
    }
    if (willClose)
        s.append("Connection: close\r\n", 19);
    else if (http10)
        s.append("Connection: keep-alive\r\n", 24);
    for (const auto& h : headers)
    {
        s.append(h.first);
        s.append(": ", 2);
        s.append(h.second);
        s.append("\r\n", 2);
    }
    s.append("\r\n", 2);
    committed = true;
}

bool ServerResponse::Impl::finish()
{
    if (!committed)
    {
        if (runHook())
            writeHead(bodyAllowed() ? 0 : -1, false);
        else
            commitHookFailure();
    }
    body.finish();
    if (body.incomplete()) willClose = true;
    return willClose;
}

ServerResponse::ServerResponse() = default;
ServerResponse::~ServerResponse() = default;

void ServerResponse::setStatus(int status, const std::string& reason)
{
    _impl->status = status;
    _impl->reason = reason;
}

int ServerResponse::status() const { return _impl->status; }

void ServerResponse::setHeader(const std::string& name, const std::string& value)
{
    if (is(name, "Content-Type")) return setContentType(value);
    if (is(name, "Content-Length"))
    {
        Poco::Int64 n;
        if (Poco::NumberParser::tryParse64(value, n) && n >= 0) setContentLength(static_cast<long long>(n));
        return;
    }
    if (is(name, "Connection"))
    {
        if (Poco::icompare(value, "close") == 0) setCloseConnection();
        return;
    }
    for (auto& h : _impl->headers)
    {
        if (is(h.first, name.c_str()))
        {
            h.second = value;
            return;
        }
    }
    addHeader(name, value);
}

void ServerResponse::addHeader(const std::string& name, const std::string& value)
{
    if (is(name, "Server")) _impl->ownServer = true;
    if (is(name, "Date")) _impl->ownDate = true;
    _impl->headers.emplace_back(name, value);
}

void ServerResponse::setContentType(const std::string& type) { _impl->contentType = type; }
void ServerResponse::setContentLength(long long length) { _impl->contentLength = length < 0 ? -1 : length; }

std::ostream& ServerResponse::send()
{
    Impl& r = *_impl;
    if (r.committed) return r.stream;
    if (!r.runHook())
    {
        r.commitHookFailure();
        return r.stream;
    }
    ResponseBody::Mode mode;
    if (r.contentLength >= 0)
    {
        mode = ResponseBody::Mode::Fixed;
        r.writeHead(r.contentLength, false);
    }
    else if (r.http10)
    {
        mode = ResponseBody::Mode::Raw; // close-delimited; writeHead decided to close
        r.writeHead(-1, false);
    }
    else
    {
        mode = ResponseBody::Mode::Chunked;
        r.writeHead(-1, true);
    }
    if (r.head || !r.bodyAllowed()) mode = ResponseBody::Mode::Discard;
    r.body.start(mode, r.contentLength);
    return r.stream;
}

void ServerResponse::sendBody(const std::string& body, const std::string& contentType)
{
    Impl& r = *_impl;
    if (r.committed) throw std::logic_error("sendBody: response already committed");
    if (!contentType.empty()) r.contentType = contentType;
    if (!r.runHook())
    {
        r.commitHookFailure();
        return;
    }
    r.contentLength = static_cast<long long>(body.size());
    r.writeHead(r.contentLength, false);
    r.body.start(ResponseBody::Mode::Discard, 0);
    if (r.head || !r.bodyAllowed() || body.empty()) return;
    r.fixedBytes = r.contentLength;
    if (body.size() <= copyLimit)
        r.out.pending().append(body);
    else
        r.out.flushWith(body.data(), body.size());
}

void ServerResponse::sendError(int status, const std::string& message)
{
    Impl& r = *_impl;
    if (r.committed)
    {
        // Too late for a status: the client learns from the connection
        // closing, and from a chunked body that never gets its last chunk.
        r.closeRequested = true;
        r.willClose = true;
        r.body.abort();
        return;
    }
    r.status = status;
    r.reason.clear();
    std::string text = message.empty() ? std::string(reasonPhrase(status)) : message;
    text += '\n';
    sendBody(text, "text/plain; charset=utf-8");
}

bool ServerResponse::committed() const { return _impl->committed; }

std::string ServerResponse::header(const std::string& name) const
{
    if (is(name, "Content-Type")) return _impl->contentType;
    if (is(name, "Content-Length")) return _impl->contentLength >= 0 ? std::to_string(_impl->contentLength) : "";
    for (const auto& h : _impl->headers)
        if (is(h.first, name.c_str())) return h.second;
    return "";
}

void ServerResponse::setBeforeCommit(std::function<void()> hook) { _impl->hook = std::move(hook); }

void ServerResponse::awaitBeforeSending(std::shared_ptr<Completion> completion)
{
    _impl->awaiting = std::move(completion);
}

long long ServerResponse::bytesSent() const { return _impl->fixedBytes + _impl->body.bytes(); }

void ServerResponse::setCloseConnection()
{
    _impl->closeRequested = true;
    if (_impl->committed) _impl->willClose = true;
}

} // namespace mt::http
