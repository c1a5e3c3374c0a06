// The sans-I/O RESP2 codec (Resp.h): every reply type parses to the Poco::Redis
// type Poco's own client would return, a stream gives the same replies however
// recv() happens to cut it, malformed input is a RespError naming the byte and
// the fault (never a crash, a hang or another exception), and commands are
// encoded byte-exact, binary-safe.
#include "Resp.h"
#include "RedisSocket.h"

#include <Poco/Redis/Array.h>
#include <Poco/Redis/Error.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace mt::redis;
using Poco::Redis::Array;
using Poco::Redis::BulkString;
using Poco::Redis::Error;
using Poco::Redis::RedisType;
using Poco::Redis::Type;

namespace {

/// The seed of a randomized test: MT_SEED from the environment (to replay a
/// failure), else `fallback`. Tests print it with SCOPED_TRACE.
std::uint32_t testSeed(std::uint32_t fallback)
{
    const char* text = std::getenv("MT_SEED");
    return text && *text ? std::uint32_t(std::strtoul(text, nullptr, 10)) : fallback;
}

std::string seedTrace(std::uint32_t seed)
{
    return "seed " + std::to_string(seed) + " (replay with MT_SEED=" + std::to_string(seed) + ")";
}

/// One complete reply from `bytes`, which must hold exactly that reply.
Reply parseOne(const std::string& bytes)
{
    RespParser parser;
    parser.feed(bytes.data(), bytes.size());
    Reply reply = parser.next();
    EXPECT_TRUE(reply) << "incomplete: " << bytes;
    EXPECT_EQ(parser.buffered(), 0u) << "bytes left after the reply";
    return reply;
}

template <class T>
const T& valueOf(const Reply& reply)
{
    auto* typed = dynamic_cast<const Type<T>*>(reply.get());
    if (!typed) throw std::logic_error("reply is not of the expected Poco::Redis type: " + reply->toString());
    return typed->value();
}

/// What a stream parsed to: every reply (as Poco's RESP rendering, which is
/// exact for each type), then the error that stopped it, or the bytes still
/// waiting for more.
struct Outcome
{
    std::vector<std::string> replies;
    std::string error;
    std::size_t waiting = 0;

    bool operator==(const Outcome& other) const
    {
        return replies == other.replies && error == other.error && waiting == other.waiting;
    }
};

std::ostream& operator<<(std::ostream& out, const Outcome& outcome)
{
    out << outcome.replies.size() << " replies, error '" << outcome.error << "', " << outcome.waiting << " bytes waiting";
    return out;
}

/// Feeds `bytes` in the pieces `nextSize` cuts (as recv() would), taking
/// every reply as soon as it is complete, as the pipeline's reader does.
Outcome parseInPieces(const std::string& bytes, const std::function<std::size_t()>& nextSize,
                      RespParser::Limits limits = {})
{
    RespParser parser(limits);
    Outcome outcome;
    std::size_t at = 0;
    try
    {
        while (at < bytes.size())
        {
            const std::size_t size = std::min(std::max<std::size_t>(nextSize(), 1), bytes.size() - at);
            parser.feed(bytes.data() + at, size);
            at += size;
            while (Reply reply = parser.next()) outcome.replies.push_back(reply->toString());
        }
        outcome.waiting = parser.buffered();
    }
    catch (const RespError& e)
    {
        outcome.error = e.what();
        // Once broken, always broken: the connection must be dropped.
        EXPECT_THROW(parser.next(), RespError) << "the parser must refuse use after: " << e.what();
    }
    return outcome;
}

Outcome parseWhole(const std::string& bytes, RespParser::Limits limits = {})
{
    return parseInPieces(bytes, [&] { return bytes.size(); }, limits);
}

Outcome parseByteByByte(const std::string& bytes, RespParser::Limits limits = {})
{
    return parseInPieces(bytes, [] { return std::size_t(1); }, limits);
}

/// The RespError message for `bytes` (fed whole), or "" if none was thrown.
std::string errorOf(const std::string& bytes, RespParser::Limits limits = {})
{
    return parseWhole(bytes, limits).error;
}

/// A random valid reply: its encoding, and how Poco renders what it parses to
/// (the same bytes, except that *0 reads as a null array, as Poco's reader does).
struct Sample
{
    std::string wire;
    std::string rendered;
};

class ReplyGenerator
{
public:
    explicit ReplyGenerator(std::uint32_t seed) : _random(seed) {}

    Sample reply(int depth = 0)
    {
        switch (pick(depth < 3 ? 7 : 5))
        {
        case 0: return same("+" + text(false) + "\r\n");
        case 1: return same("-ERR " + text(false) + "\r\n");
        case 2: return same(":" + std::to_string(integer()) + "\r\n");
        case 3: return same("$-1\r\n");
        case 4:
        {
            const std::string payload = pick(20) == 0 ? std::string(70000 + pick(100), 'b') : text(true);
            return same("$" + std::to_string(payload.size()) + "\r\n" + payload + "\r\n");
        }
        case 5:
        {
            const int n = int(pick(4)) - 1; // the small cases: null, empty, one, two
            if (n == -1) return same("*-1\r\n");
            if (n == 0) return {"*0\r\n", "*-1\r\n"};
            Sample out{"*" + std::to_string(n) + "\r\n", "*" + std::to_string(n) + "\r\n"};
            for (int i = 0; i < n; ++i) append(out, reply(depth + 1));
            return out;
        }
        default:
        {
            const int n = 1 + int(pick(6));
            Sample out{"*" + std::to_string(n) + "\r\n", "*" + std::to_string(n) + "\r\n"};
            for (int i = 0; i < n; ++i) append(out, reply(depth + 1));
            return out;
        }
        }
    }

    /// Several replies back to back, as a pipelined connection receives them.
    std::vector<Sample> stream(int count)
    {
        std::vector<Sample> out;
        for (int i = 0; i < count; ++i) out.push_back(reply());
        return out;
    }

    std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(_random); }
    std::mt19937& random() { return _random; }

private:
    static Sample same(const std::string& wire) { return {wire, wire}; }
    static void append(Sample& to, const Sample& part)
    {
        to.wire += part.wire;
        to.rendered += part.rendered;
    }

    std::string text(bool binary)
    {
        static const std::string plain = "abcxyz 019:+-*$";
        static const std::string nasty("abc\r\n\0$*:+-\r", 12); // CR, LF and NUL inside
        const std::string& alphabet = binary ? nasty : plain;
        std::string out(pick(12), ' ');
        for (auto& c : out) c = alphabet[pick(alphabet.size())];
        return out;
    }

    std::int64_t integer()
    {
        switch (pick(4))
        {
        case 0: return std::numeric_limits<std::int64_t>::min();
        case 1: return std::numeric_limits<std::int64_t>::max();
        default: return std::int64_t(_random()) - (std::int64_t(1) << 31);
        }
    }

    std::mt19937 _random;
};

std::string wireOf(const std::vector<Sample>& samples)
{
    std::string out;
    for (const auto& s : samples) out += s.wire;
    return out;
}

std::vector<std::string> renderedOf(const std::vector<Sample>& samples)
{
    std::vector<std::string> out;
    for (const auto& s : samples) out.push_back(s.rendered);
    return out;
}

std::string repeat(const std::string& part, int times)
{
    std::string out;
    for (int i = 0; i < times; ++i) out += part;
    return out;
}

} // namespace

// --- reply types -----------------------------------------------------------

TEST(RespParserTest, SimpleStringIsTypeString)
{
    Reply ok = parseOne("+OK\r\n");
    ASSERT_TRUE(ok);
    ASSERT_TRUE(ok->isSimpleString());
    EXPECT_EQ(valueOf<std::string>(ok), "OK");
    EXPECT_EQ(valueOf<std::string>(parseOne("+\r\n")), "");
    EXPECT_EQ(valueOf<std::string>(parseOne("+a\rb\r\n")), "a\rb") << "a lone CR is part of the line";
}

TEST(RespReadersTest, IntegerValueAndBulkTextsTakeOnlyTheirOwnKind)
{
    EXPECT_EQ(integerValue(parseOne(":-2\r\n")), std::optional<std::int64_t>(-2));
    EXPECT_FALSE(integerValue(parseOne("$1\r\n7\r\n"))) << "a bulk string is not an integer";
    EXPECT_FALSE(integerValue(parseOne("-ERR x\r\n")));
    const Reply array = parseOne("*4\r\n$1\r\na\r\n$-1\r\n:3\r\n$0\r\n\r\n");
    ASSERT_TRUE(asArray(array));
    EXPECT_EQ(bulkTexts(*asArray(array)), (std::vector<std::string>{"a", ""})) << "null and integer elements are skipped";
}

TEST(RespParserTest, ErrorIsTypeError)
{
    Reply error = parseOne("-ERR unknown command 'FOO'\r\n");
    ASSERT_TRUE(error);
    ASSERT_TRUE(error->isError());
    EXPECT_EQ(valueOf<Error>(error).getMessage(), "ERR unknown command 'FOO'");
}

TEST(RespParserTest, AReplyInAMessageStaysOnOneLineAndIsCut)
{
    // An error text from Redis goes into log lines and 503 reasons: its CRLF
    // (and any other control byte) must not split them.
    Reply error = parseOne("-NOPERM this user has no permissions to run the 'ping' command\r\n");
    EXPECT_EQ(printableReply(error), "-NOPERM this user has no permissions to run the 'ping' command\\r\\n");
    Reply bulk = parseOne("$3\r\na\x01" "b\r\n");
    EXPECT_EQ(printableReply(bulk), "$3\\r\\na\\x01b\\r\\n");
    Reply big = parseOne("+" + std::string(200, 'x') + "\r\n");
    EXPECT_EQ(printableReply(big, 10), "+xxxxxxxxx");
    EXPECT_EQ(printableReply(Reply()), "(none)");
}

TEST(RespParserTest, IntegerIsTypeInt64OverTheWholeRange)
{
    for (std::int64_t value : {std::int64_t(0), std::int64_t(-42), std::int64_t(1) << 40,
                               std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()})
    {
        Reply reply = parseOne(":" + std::to_string(value) + "\r\n");
        ASSERT_TRUE(reply);
        ASSERT_TRUE(reply->isInteger());
        EXPECT_EQ(valueOf<Poco::Int64>(reply), value);
    }
}

TEST(RespParserTest, BulkStringIsBinarySafeAndDistinguishesEmptyFromNull)
{
    Reply hello = parseOne("$5\r\nhello\r\n");
    ASSERT_TRUE(hello);
    ASSERT_TRUE(hello->isBulkString());
    ASSERT_FALSE(valueOf<BulkString>(hello).isNull());
    EXPECT_EQ(valueOf<BulkString>(hello).value(), "hello");

    Reply empty = parseOne("$0\r\n\r\n");
    ASSERT_TRUE(empty);
    ASSERT_TRUE(empty->isBulkString());
    ASSERT_FALSE(valueOf<BulkString>(empty).isNull()) << "$0 is an empty string, not a missing key";
    EXPECT_EQ(valueOf<BulkString>(empty).value(), "");

    Reply null = parseOne("$-1\r\n");
    ASSERT_TRUE(null);
    ASSERT_TRUE(null->isBulkString());
    EXPECT_TRUE(valueOf<BulkString>(null).isNull());

    // The length, not a CRLF, ends a bulk string.
    const std::string binary("a\r\n\0$1\r\n", 8);
    Reply raw = parseOne("$8\r\n" + binary + "\r\n");
    ASSERT_TRUE(raw);
    EXPECT_EQ(valueOf<BulkString>(raw).value(), binary);
}

TEST(RespParserTest, ArrayHoldsEveryTypeAndNests)
{
    Reply reply = parseOne("*5\r\n:1\r\n$1\r\nx\r\n+y\r\n-ERR z\r\n*2\r\n*-1\r\n$-1\r\n");
    ASSERT_TRUE(reply);
    ASSERT_TRUE(reply->isArray());
    const Array& array = valueOf<Array>(reply);
    ASSERT_FALSE(array.isNull());
    ASSERT_EQ(array.size(), 5u);
    EXPECT_EQ(array.get<Poco::Int64>(0), 1);
    EXPECT_EQ(array.get<BulkString>(1).value(), "x");
    EXPECT_EQ(array.get<std::string>(2), "y");
    EXPECT_EQ(array.get<Error>(3).getMessage(), "ERR z");
    const Array nested = array.get<Array>(4);
    ASSERT_EQ(nested.size(), 2u);
    EXPECT_TRUE(nested.get<Array>(0).isNull());
    EXPECT_TRUE(nested.get<BulkString>(1).isNull());
}

TEST(RespParserTest, NullAndEmptyArraysAreNullArrays)
{
    Reply null = parseOne("*-1\r\n");
    ASSERT_TRUE(null);
    ASSERT_TRUE(null->isArray());
    EXPECT_TRUE(valueOf<Array>(null).isNull());

    // As Poco's own reader: Poco has no empty non-null Array, so *0 reads as
    // null too (Resp.cpp); callers treat both as "nothing".
    Reply empty = parseOne("*0\r\n");
    ASSERT_TRUE(empty);
    ASSERT_TRUE(empty->isArray());
    EXPECT_TRUE(valueOf<Array>(empty).isNull());
}

TEST(RespParserTest, AnIncompleteReplyWaitsForTheRest)
{
    RespParser parser;
    const std::string first = "*2\r\n$5\r\nhel";
    parser.feed(first.data(), first.size());
    EXPECT_FALSE(parser.next()) << "no reply before it is whole";
    EXPECT_FALSE(parser.next()) << "asking again changes nothing";
    const std::string rest = "lo\r\n:7\r\n+next";
    parser.feed(rest.data(), rest.size());
    Reply reply = parser.next();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->toString(), "*2\r\n$5\r\nhello\r\n:7\r\n");
    EXPECT_FALSE(parser.next()) << "+next has no CRLF yet";
    EXPECT_EQ(parser.buffered(), 5u);
    parser.feed("\r\n", 2);
    Reply next = parser.next();
    ASSERT_TRUE(next);
    EXPECT_EQ(valueOf<std::string>(next), "next");
    EXPECT_FALSE(parser.next());
    EXPECT_EQ(parser.buffered(), 0u);
}

// --- fragmentation ---------------------------------------------------------

TEST(RespParserTest, AStreamFedByteByByteGivesTheSameRepliesAsFedWhole)
{
    const std::uint32_t seed = testSeed(20240601);
    SCOPED_TRACE(seedTrace(seed));
    ReplyGenerator generator(seed);
    const auto samples = generator.stream(300);
    const std::string wire = wireOf(samples);

    const Outcome whole = parseWhole(wire);
    EXPECT_EQ(whole.replies, renderedOf(samples));
    EXPECT_EQ(whole.error, "");
    EXPECT_EQ(whole.waiting, 0u);
    EXPECT_EQ(parseByteByByte(wire), whole);
}

TEST(RespParserTest, AStreamFedInRandomChunksGivesTheSameRepliesAsFedWhole)
{
    const std::uint32_t seed = testSeed(7);
    SCOPED_TRACE(seedTrace(seed));
    ReplyGenerator generator(seed);
    for (int round = 0; round < 50; ++round)
    {
        SCOPED_TRACE("round " + std::to_string(round));
        const auto samples = generator.stream(1 + int(generator.pick(40)));
        const std::string wire = wireOf(samples);
        const Outcome whole = parseWhole(wire);
        ASSERT_EQ(whole.replies, renderedOf(samples));
        // Small pieces (a header cut anywhere) and recv()-sized ones.
        const std::size_t largest = round % 2 ? 16 : 70000;
        const Outcome chunked = parseInPieces(wire, [&] { return 1 + generator.pick(largest); });
        ASSERT_EQ(chunked, whole);
    }
}

// --- malformed input -------------------------------------------------------

TEST(RespParserTest, AnUnknownTypeByteIsAnErrorAtItsOffset)
{
    std::string error = errorOf("+OK\r\n?what\r\n");
    EXPECT_NE(error.find("at byte 5"), std::string::npos) << error;
    EXPECT_NE(error.find("unknown type byte 0x3f"), std::string::npos) << error;

    error = errorOf("*2\r\n:1\r\n\xff\r\n");
    EXPECT_NE(error.find("at byte 8"), std::string::npos) << error << " (inside an array)";
    EXPECT_NE(error.find("unknown type byte 0xff"), std::string::npos) << error;
}

TEST(RespParserTest, ANonNumericLengthOrIntegerIsAnError)
{
    for (const char* bad : {"$abc\r\n", "$\r\n", "$ 3\r\n", "$+3\r\n", "$3x\r\n", "*1.5\r\n",
                                  "$99999999999999999999\r\n"})
    {
        const std::string error = errorOf(std::string(bad));
        EXPECT_NE(error.find("at byte 0"), std::string::npos) << bad << ": " << error;
        EXPECT_NE(error.find("is not a number"), std::string::npos) << bad << ": " << error;
    }
    const std::string error = errorOf(":12a\r\n");
    EXPECT_NE(error.find("at byte 0: integer '12a' is not a number"), std::string::npos) << error;
    EXPECT_NE(errorOf(":\r\n").find("is not a number"), std::string::npos);
}

TEST(RespParserTest, ALengthBeyondTheLimitsIsAnError)
{
    RespParser::Limits limits;
    limits.maxBulk = 10;
    limits.maxElements = 3;

    EXPECT_EQ(parseWhole("$10\r\n0123456789\r\n", limits).replies.size(), 1u) << "the limit itself is allowed";
    EXPECT_EQ(parseWhole("*3\r\n:1\r\n:2\r\n:3\r\n", limits).replies.size(), 1u);

    std::string error = errorOf("$11\r\n", limits);
    EXPECT_NE(error.find("at byte 0: length 11 is out of range (limit 10)"), std::string::npos) << error;
    error = errorOf("*4\r\n", limits);
    EXPECT_NE(error.find("at byte 0: length 4 is out of range (limit 3)"), std::string::npos) << error;
    error = errorOf("*1\r\n$11\r\n", limits);
    EXPECT_NE(error.find("at byte 4: length 11"), std::string::npos) << error << " (inside an array)";
    error = errorOf("$-2\r\n", limits);
    EXPECT_NE(error.find("length -2 is out of range"), std::string::npos) << error << " (only -1 means null)";
    error = errorOf("*-5\r\n", limits);
    EXPECT_NE(error.find("length -5 is out of range"), std::string::npos) << error;
}

TEST(RespParserTest, ABulkStringNotFollowedByCrlfIsAnError)
{
    std::string error = errorOf("$3\r\nabcd\r\n");
    EXPECT_NE(error.find("at byte 7: bulk string not followed by CRLF"), std::string::npos) << error;
    error = errorOf(":1\r\n$3\r\nabc\rX");
    EXPECT_NE(error.find("at byte 11: bulk string not followed by CRLF"), std::string::npos) << error;
    EXPECT_EQ(errorOf("$3\r\nabc\r"), "") << "still waiting for the LF";
}

TEST(RespParserTest, NestingDeeperThanMaxDepthIsAnError)
{
    RespParser::Limits limits;
    limits.maxDepth = 2;
    // maxDepth arrays, one inside the other, are allowed.
    EXPECT_EQ(parseWhole(repeat("*1\r\n", 2) + ":1\r\n", limits).replies.size(), 1u);
    const std::string error = errorOf(repeat("*1\r\n", 3) + ":1\r\n", limits);
    EXPECT_NE(error.find("at byte 8: arrays nested deeper than 2"), std::string::npos) << error;

    // A hostile reply nesting without end cannot run the reader out of stack.
    const std::string deep = errorOf(repeat("*1\r\n", 100000));
    EXPECT_NE(deep.find("arrays nested deeper than 16"), std::string::npos) << deep;
}

TEST(RespParserTest, ALineLongerThanTheLimitIsAnErrorHoweverItArrives)
{
    constexpr std::size_t kLimit = RespParser::kMaxLine;
    // Exactly the limit may still end in a CRLF: keep waiting.
    EXPECT_EQ(parseWhole("+" + std::string(kLimit, 'a')).error, "");
    EXPECT_EQ(parseWhole("+" + std::string(kLimit, 'a') + "\r\n").replies.size(), 1u);

    const std::string simple = "+" + std::string(kLimit + 1, 'a');
    const std::string message = "a line longer than " + std::to_string(kLimit) + " bytes";
    std::string error = errorOf(simple);
    EXPECT_NE(error.find("at byte 1: " + message), std::string::npos) << error;
    // The same when it arrives in recv()-sized pieces (the buffer cannot grow
    // without bound), and when it is whole with its CRLF: the limit does not
    // depend on how the bytes arrive.
    const Outcome chunked = parseInPieces(simple + std::string(kLimit, 'a'), [] { return std::size_t(65536); });
    EXPECT_NE(chunked.error.find(message), std::string::npos) << chunked;
    EXPECT_NE(errorOf(simple + "\r\n").find(message), std::string::npos);

    error = errorOf("$" + std::string(kLimit + 10, '1'));
    EXPECT_NE(error.find(message), std::string::npos) << error << " (a bulk header)";
}

TEST(RespParserTest, ErrorOffsetsCountFromTheStartOfTheStream)
{
    // The parser drops returned replies from its buffer as the stream goes
    // on; an offset must still count every byte since the first.
    const std::uint32_t seed = testSeed(99);
    SCOPED_TRACE(seedTrace(seed));
    ReplyGenerator generator(seed);
    const std::string wire = wireOf(generator.stream(200)) + "!oops\r\n";
    const std::string expected = "at byte " + std::to_string(wire.size() - 7) + ": unknown type byte 0x21";
    const Outcome whole = parseWhole(wire);
    EXPECT_NE(whole.error.find(expected), std::string::npos) << whole.error;
    EXPECT_EQ(whole.replies.size(), 200u);
    for (std::size_t largest : {std::size_t(1), std::size_t(7), std::size_t(5000)})
    {
        const Outcome chunked = parseInPieces(wire, [&] { return 1 + generator.pick(largest); });
        EXPECT_EQ(chunked, whole) << "pieces up to " << largest;
    }
}

TEST(RespParserTest, AfterAnErrorTheParserRefusesFurtherUse)
{
    RespParser parser;
    parser.feed("?\r\n", 3);
    EXPECT_THROW(parser.next(), RespError);
    parser.feed("+OK\r\n", 5);
    try
    {
        parser.next();
        FAIL() << "a broken parser returned a reply";
    }
    catch (const RespError& e)
    {
        EXPECT_NE(std::string(e.what()).find("used after an error"), std::string::npos) << e.what();
    }
}

TEST(RespParserTest, MutatedEncodingsAreRepliesOrRespErrorNeverACrashOrHang)
{
    // Whatever a broken or hostile server sends, the reader sees replies, an
    // incomplete tail or a RespError, and the same however the bytes are cut.
    const std::uint32_t seed = testSeed(424242);
    SCOPED_TRACE(seedTrace(seed));
    ReplyGenerator generator(seed);
    auto& random = generator.random();
    static const std::string interesting = "\r\n$*:+-0123456789\xff";
    RespParser::Limits limits;
    limits.maxBulk = 64;
    limits.maxElements = 8;
    limits.maxDepth = 4;

    int errors = 0;
    for (int iteration = 0; iteration < 20000; ++iteration)
    {
        std::vector<Sample> samples;
        for (int i = 0, n = 1 + int(generator.pick(4)); i < n; ++i)
        {
            Sample s = generator.reply();
            if (s.wire.size() < 500) samples.push_back(s); // no 70 KB bulks here: keep it quick
        }
        std::string bytes = wireOf(samples);
        for (int m = 0, mutations = 1 + int(generator.pick(3)); m < mutations && !bytes.empty(); ++m)
        {
            const std::size_t at = generator.pick(bytes.size());
            const char byte = generator.pick(2) ? interesting[generator.pick(interesting.size())] : char(random());
            switch (generator.pick(3))
            {
            case 0: bytes[at] = char(bytes[at] ^ (1 << generator.pick(8))); break;
            case 1: bytes.insert(bytes.begin() + std::ptrdiff_t(at), byte); break;
            default: bytes.erase(at, 1); break;
            }
        }
        const RespParser::Limits use = iteration % 2 ? limits : RespParser::Limits{};
        Outcome whole;
        try
        {
            whole = parseWhole(bytes, use);
        }
        catch (const std::exception& e)
        {
            FAIL() << "iteration " << iteration << ": " << e.what() << " is not a RespError";
        }
        if (!whole.error.empty())
        {
            ++errors;
            ASSERT_NE(whole.error.find("malformed RESP reply at byte "), std::string::npos) << whole.error;
        }
        const Outcome chunked = parseInPieces(bytes, [&] { return 1 + generator.pick(9); }, use);
        ASSERT_EQ(chunked, whole) << "iteration " << iteration;
        if (HasFatalFailure()) return;
    }
    EXPECT_GT(errors, 1000) << "the mutations should mostly break the encoding";
}

// --- encoding --------------------------------------------------------------

TEST(RespEncodeTest, CommandIsAnArrayOfBulkStrings)
{
    EXPECT_EQ(encodeCommand({"SET", "k", "value"}), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n");
    EXPECT_EQ(encodeCommand({"PING"}), "*1\r\n$4\r\nPING\r\n");
    EXPECT_EQ(encodeCommand({"ECHO", ""}), "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
    EXPECT_EQ(encodeCommand({}), "*0\r\n");
}

TEST(RespEncodeTest, ArgumentsAreBinarySafe)
{
    const std::string binary("a\r\n\0b\r\n", 7);
    const std::string expected = std::string("*2\r\n$4\r\nECHO\r\n$7\r\n") + binary + "\r\n";
    EXPECT_EQ(encodeCommand({"ECHO", binary}), expected);

    // Read back by our own parser, the arguments come out unchanged.
    Reply reply = parseOne(expected);
    ASSERT_TRUE(reply);
    const Array& array = valueOf<Array>(reply);
    ASSERT_EQ(array.size(), 2u);
    EXPECT_EQ(array.get<BulkString>(0).value(), "ECHO");
    EXPECT_EQ(array.get<BulkString>(1).value(), binary);
}

TEST(RespEncodeTest, AppendCommandAddsToWhatIsQueued)
{
    std::string out = encodeCommand({"MULTI"});
    appendCommand(out, {"INCR", "n"});
    appendCommand(out, {"EXEC"});
    EXPECT_EQ(out, "*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*1\r\n$4\r\nEXEC\r\n");
}
