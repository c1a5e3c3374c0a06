#pragma once
// RESP2, the Redis wire format, without I/O: commands encoded into bytes,
// replies parsed from bytes as they arrive. The pipelined connection feeds
// whatever recv() returned; a reply split across reads waits for the rest.
//
// Replies are Poco::Redis types, as Poco::Redis::Client would return them:
// Type<Int64> (:), Type<std::string> (+), Type<Error> (-), Type<BulkString>
// ($, null for $-1) and Type<Array> (*, null for *-1), arrays nested.
//
// Bad input (an unknown type byte, a length that is not a number or exceeds
// the limits, a missing CRLF) throws RespError saying what and at which byte
// of the stream; the parser is then unusable and its connection must go.
//
// Thread-safety: none; one parser per connection, used by its reader.

#include <Poco/Redis/Array.h>
#include <Poco/Redis/Type.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mt::redis {

using Reply = Poco::Redis::RedisType::Ptr;

class RespError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

/// The elements of an array reply; null for any other reply or a null array (*-1).
const Poco::Redis::Array* asArray(const Reply& reply);
/// The text of a bulk or simple string reply; "" for any other reply or a null bulk string.
std::string bulkText(const Reply& reply);
/// The bulk string elements of an array (HGETALL, ZRANGE); a null or non-string element is skipped.
std::vector<std::string> bulkTexts(const Poco::Redis::Array& array);
/// The value of an integer reply; nothing for any other reply.
std::optional<std::int64_t> integerValue(const Reply& reply);

/// "*N\r\n$len\r\narg\r\n..." for one command.
std::string encodeCommand(const std::vector<std::string>& args);
void appendCommand(std::string& out, const std::vector<std::string>& args);
/// The same, piecewise, without building an argument vector first: a
/// header for `argc` arguments, then each argument.
void appendCommandHeader(std::string& out, std::size_t argc);
void appendArgument(std::string& out, std::string_view arg);
void appendCommand(std::string& out, std::initializer_list<std::string_view> args);

class RespParser
{
public:
    struct Limits
    {
        std::size_t maxBulk = std::size_t(512) << 20; ///< Redis' own proto-max-bulk-len default
        std::size_t maxElements = std::size_t(1) << 24;
        int maxDepth = 16;
    };

    RespParser() = default;
    explicit RespParser(Limits limits) : _limits(limits) {}

    void feed(const char* data, std::size_t size);
    /// The next complete reply, or null until more bytes arrive. Throws RespError.
    Reply next();
    std::size_t buffered() const { return _buffer.size() - _start; }

    /// A simple string, error or integer line may be this long (its CRLF excluded).
    static constexpr std::size_t kMaxLine = 1 << 20;

private:
    /// An array being filled: elements parsed so far are kept, so a reply
    /// split across reads is parsed once, not again from its start.
    struct Frame
    {
        Poco::SharedPtr<Poco::Redis::Type<Poco::Redis::Array>> reply; // filled in place: no copy when done
        std::int64_t left = 0;
    };

    /// One scalar, or an array header (pushed as a frame), at `_start`;
    /// false if the buffer ends first (nothing consumed).
    bool step(Reply& out, bool& pushed);
    /// The line at `pos` without its CRLF; false if no CRLF yet.
    bool line(std::size_t& pos, std::string& out);
    std::int64_t length(const std::string& text, std::size_t at, std::int64_t max);
    [[noreturn]] void fail(std::size_t at, const std::string& what);

    Limits _limits;
    std::string _buffer;
    std::vector<Frame> _frames;  // arrays still open, outermost first
    std::size_t _start = 0;      // first byte not yet consumed
    std::size_t _needed = 0;     // don't retry before this many bytes are buffered
    std::uint64_t _consumed = 0; // bytes before _buffer[0], for error offsets
    bool _broken = false;
};

} // namespace mt::redis
