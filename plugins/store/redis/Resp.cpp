#include "Resp.h"

#include <Poco/Redis/Array.h>
#include <Poco/Redis/Error.h>

#include <charconv>

namespace mt::redis {

using Poco::Redis::Array;
using Poco::Redis::BulkString;
using Poco::Redis::Error;
using Poco::Redis::Type;

void appendCommand(std::string& out, const std::vector<std::string>& args)
{
    out += '*';
    out += std::to_string(args.size());
    out += "\r\n";
    for (const auto& arg : args)
    {
        out += '$';
        out += std::to_string(arg.size());
        out += "\r\n";
        out += arg;
        out += "\r\n";
    }
}

void appendCommandHeader(std::string& out, std::size_t argc)
{
    out += '*';
    out += std::to_string(argc);
    out += "\r\n";
}

void appendArgument(std::string& out, std::string_view arg)
{
    out += '$';
    out += std::to_string(arg.size());
    out += "\r\n";
    out.append(arg.data(), arg.size());
    out += "\r\n";
}

void appendCommand(std::string& out, std::initializer_list<std::string_view> args)
{
    appendCommandHeader(out, args.size());
    for (auto arg : args) appendArgument(out, arg);
}

const Poco::Redis::Array* asArray(const Reply& reply)
{
    auto* array = dynamic_cast<const Poco::Redis::Type<Poco::Redis::Array>*>(reply.get());
    return array && !array->value().isNull() ? &array->value() : nullptr;
}

std::string bulkText(const Reply& reply)
{
    auto* bulk = dynamic_cast<const Poco::Redis::Type<Poco::Redis::BulkString>*>(reply.get());
    if (bulk && !bulk->value().isNull()) return bulk->value().value();
    auto* simple = dynamic_cast<const Poco::Redis::Type<std::string>*>(reply.get());
    return simple ? simple->value() : std::string();
}

std::vector<std::string> bulkTexts(const Poco::Redis::Array& array)
{
    std::vector<std::string> out;
    out.reserve(array.size());
    for (const auto& element : array)
    {
        auto* bulk = dynamic_cast<const Poco::Redis::Type<Poco::Redis::BulkString>*>(element.get());
        if (bulk && !bulk->value().isNull()) out.push_back(bulk->value().value());
    }
    return out;
}

std::optional<std::int64_t> integerValue(const Reply& reply)
{
    auto* number = dynamic_cast<const Poco::Redis::Type<Poco::Int64>*>(reply.get());
    if (!number) return std::nullopt;
    return number->value();
}

std::string encodeCommand(const std::vector<std::string>& args)
{
    std::string out;
    appendCommand(out, args);
    return out;
}

void RespParser::feed(const char* data, std::size_t size)
{
    if (_start > 0 && _start >= _buffer.size() / 2)
    {
        // Drop what was returned so the buffer does not grow with the stream.
        _buffer.erase(0, _start);
        _consumed += _start;
        if (_needed >= _start) _needed -= _start; else _needed = 0;
        _start = 0;
    }
    _buffer.append(data, size);
}

void RespParser::fail(std::size_t at, const std::string& what)
{
    _broken = true;
    throw RespError("malformed RESP reply at byte " + std::to_string(_consumed + at) + ": " + what);
}

Reply RespParser::next()
{
    if (_broken) throw RespError("RESP parser used after an error");
    for (;;)
    {
        if (_start >= _buffer.size() || _buffer.size() < _needed) return nullptr;
        _needed = 0;
        Reply value;
        bool pushed = false;
        if (!step(value, pushed)) return nullptr;
        if (pushed) continue;
        // A finished value closes every array it completes.
        while (!_frames.empty())
        {
            Frame& top = _frames.back();
            top.reply->value().addRedisType(value);
            if (--top.left > 0) break;
            value = top.reply;
            _frames.pop_back();
        }
        if (_frames.empty()) return value;
    }
}

bool RespParser::line(std::size_t& pos, std::string& out)
{
    const std::size_t end = _buffer.find("\r\n", pos);
    if (end == std::string::npos)
    {
        if (_buffer.size() - pos > kMaxLine) fail(pos, "a line longer than " + std::to_string(kMaxLine) + " bytes");
        _needed = _buffer.size() + 1;
        return false;
    }
    if (end - pos > kMaxLine) fail(pos, "a line longer than " + std::to_string(kMaxLine) + " bytes");
    out.assign(_buffer, pos, end - pos);
    pos = end + 2;
    return true;
}

std::int64_t RespParser::length(const std::string& text, std::size_t at, std::int64_t max)
{
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty())
        fail(at, "length '" + text.substr(0, 32) + "' is not a number");
    if (value < -1 || value > max) fail(at, "length " + text.substr(0, 32) + " is out of range (limit " + std::to_string(max) + ")");
    return value;
}

bool RespParser::step(Reply& out, bool& pushed)
{
    const std::size_t at = _start;
    const char marker = _buffer[at];
    std::size_t cursor = at + 1;
    std::string head;
    switch (marker)
    {
    case '+':
    case '-':
    case ':':
    {
        if (!line(cursor, head)) return false;
        // A MULTI block answers +OK and +QUEUED per command, and its commands
        // mostly :0 or :1: share those (replies are immutable; Poco's
        // reference count is atomic).
        static const Reply ok = new Type<std::string>("OK");
        static const Reply queued = new Type<std::string>("QUEUED");
        if (marker == '+' && head == "QUEUED")
            out = queued;
        else if (marker == '+' && head == "OK")
            out = ok;
        else if (marker == '+')
            out = new Type<std::string>(head);
        else if (marker == '-')
        {
            Error error;
            error.setMessage(head);
            out = new Type<Error>(error);
        }
        else
        {
            std::int64_t value = 0;
            auto [end, ec] = std::from_chars(head.data(), head.data() + head.size(), value);
            if (ec != std::errc() || end != head.data() + head.size() || head.empty())
                fail(at, "integer '" + head.substr(0, 32) + "' is not a number");
            static const Reply zero = new Type<Poco::Int64>(0);
            static const Reply one = new Type<Poco::Int64>(1);
            out = value == 0 ? zero : value == 1 ? one : Reply(new Type<Poco::Int64>(value));
        }
        break;
    }
    case '$':
    {
        if (!line(cursor, head)) return false;
        const std::int64_t n = length(head, at, std::int64_t(_limits.maxBulk));
        if (n < 0)
        {
            out = new Type<BulkString>(BulkString());
            break;
        }
        if (_buffer.size() < cursor + std::size_t(n) + 2)
        {
            _needed = cursor + std::size_t(n) + 2;
            return false;
        }
        if (_buffer.compare(cursor + std::size_t(n), 2, "\r\n") != 0) fail(cursor + std::size_t(n), "bulk string not followed by CRLF");
        out = new Type<BulkString>(BulkString(_buffer.substr(cursor, std::size_t(n))));
        cursor += std::size_t(n) + 2;
        break;
    }
    case '*':
    {
        if (!line(cursor, head)) return false;
        const std::int64_t n = length(head, at, std::int64_t(_limits.maxElements));
        if (n > 0)
        {
            if (int(_frames.size()) >= _limits.maxDepth)
                fail(at, "arrays nested deeper than " + std::to_string(_limits.maxDepth));
            _frames.push_back(Frame{new Type<Array>(Array()), n});
            pushed = true;
        }
        else
            // As Poco's own reader: *0 and *-1 both give a null Array (Poco
            // has no empty non-null one); callers treat both as "nothing".
            out = new Type<Array>(Array());
        break;
    }
    default:
        fail(at, std::string("unknown type byte 0x") + "0123456789abcdef"[(unsigned char)marker >> 4] +
                     "0123456789abcdef"[marker & 15]);
    }
    _start = cursor;
    return true;
}

} // namespace mt::redis
