#include "cluster/FrameCodec.h"

#include <Poco/Exception.h>

#include <gtest/gtest.h>

using namespace mt;
using Error = FrameCodec::Error;

namespace {

ClusterMessage message(MessageType type = MessageType::Heartbeat, std::string payload = "")
{
    ClusterMessage m;
    m.type = type;
    m.cluster = "prod";
    m.sender = "node-1";
    m.incarnation = 0x0102030405060708ull;
    m.sentAtMs = 1700000000123ull;
    m.payload = std::move(payload);
    return m;
}

FrameCodec codec()
{
    return FrameCodec("prod", "s3cret", 1 << 20);
}

std::string bodyOf(const std::string& frame)
{
    return frame.substr(FrameCodec::HeaderSize, frame.size() - FrameCodec::HeaderSize - FrameCodec::MacSize);
}

FrameCodec::Result decode(const FrameCodec& c, const std::string& bytes)
{
    return c.decode(bytes.data(), bytes.size());
}

void expectError(const FrameCodec::Result& r, Error error, const std::string& textPart = "")
{
    ASSERT_TRUE(r.failed()) << "status " << static_cast<int>(r.status);
    EXPECT_EQ(r.error, error) << r.text;
    EXPECT_NE(r.text.find(FrameCodec::toString(error)), std::string::npos) << r.text;
    if (!textPart.empty())
    {
        EXPECT_NE(r.text.find(textPart), std::string::npos) << r.text;
    }
}

} // namespace

TEST(FrameCodec, RoundTripKeepsEveryField)
{
    auto c = codec();
    std::string binary("\0\x01\xff payload \0", 12);
    for (auto type : {MessageType::Heartbeat, MessageType::Join, MessageType::Leave})
        for (const std::string& payload : {std::string(), binary, std::string(64 * 1024, 'x')})
        {
            ClusterMessage in = message(type, payload);
            std::string frame = c.encode(in);
            auto r = decode(c, frame);
            ASSERT_TRUE(r.ok()) << r.text;
            EXPECT_EQ(r.consumed, frame.size());
            EXPECT_EQ(r.message.type, in.type);
            EXPECT_EQ(r.message.cluster, in.cluster);
            EXPECT_EQ(r.message.sender, in.sender);
            EXPECT_EQ(r.message.incarnation, in.incarnation);
            EXPECT_EQ(r.message.sentAtMs, in.sentAtMs);
            EXPECT_EQ(r.message.payload, in.payload);
        }
}

TEST(FrameCodec, WireLayoutIsBigEndianWithMagicAndVersion)
{
    auto c = codec();
    std::string frame = c.encode(message(MessageType::Join, "ab"));
    EXPECT_EQ(frame.substr(0, 4), "MTCF");
    EXPECT_EQ(frame[4], 1);
    EXPECT_EQ(frame[5], 2);
    EXPECT_EQ(frame[6], 0);
    EXPECT_EQ(frame[7], 0);
    std::size_t body = 2 + 4 + 2 + 6 + 8 + 8 + 4 + 2;
    EXPECT_EQ(static_cast<unsigned char>(frame[11]), body);
    EXPECT_EQ(frame.size(), FrameCodec::HeaderSize + body + FrameCodec::MacSize);
}

TEST(FrameCodec, ConsecutiveFramesDecodeOneAtATime)
{
    auto c = codec();
    std::string stream = c.encode(message(MessageType::Join, "first")) + c.encode(message(MessageType::Leave, "second"));
    auto first = decode(c, stream);
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(first.message.payload, "first");
    auto second = c.decode(stream.data() + first.consumed, stream.size() - first.consumed);
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(second.message.payload, "second");
    EXPECT_EQ(first.consumed + second.consumed, stream.size());
}

TEST(FrameCodec, EveryPrefixOfAValidFrameNeedsMore)
{
    auto c = codec();
    std::string frame = c.encode(message(MessageType::Heartbeat, "payload"));
    for (std::size_t n = 0; n < frame.size(); ++n)
        EXPECT_TRUE(c.decode(frame.data(), n).needMore()) << "at " << n << " bytes";
    EXPECT_TRUE(decode(c, frame).ok());
}

TEST(FrameCodec, BadMagicIsRefusedFromTheFirstByte)
{
    auto c = codec();
    expectError(decode(c, "G"), Error::BadMagic);
    expectError(decode(c, "GET / HTTP/1.1\r\n\r\n"), Error::BadMagic, "GET ");
    std::string frame = c.encode(message());
    frame[3] = 'X';
    expectError(decode(c, frame), Error::BadMagic, "MTCX");
}

TEST(FrameCodec, OtherVersionsAreRefused)
{
    auto c = codec();
    std::string frame = c.encode(message());
    frame[4] = 2;
    expectError(c.decode(frame.data(), 5), Error::UnsupportedVersion, "version 2");
    expectError(decode(c, frame), Error::UnsupportedVersion);
}

TEST(FrameCodec, OversizedIsRefusedFromTheHeaderAlone)
{
    auto c = codec();
    std::string header("MTCF\x01\x01\x00\x00", 8);
    std::uint32_t length = 5000000;
    for (int shift = 24; shift >= 0; shift -= 8) header.push_back(static_cast<char>(length >> shift));
    expectError(decode(c, header), Error::Oversized, "exceeds the limit of 1048576");
    EXPECT_NE(decode(c, header).text.find("frame of 5000044 bytes"), std::string::npos);

    FrameCodec small("prod", "s3cret", 100);
    EXPECT_THROW(small.encode(message(MessageType::Heartbeat, std::string(100, 'x'))), Poco::InvalidArgumentException);
    expectError(decode(small, c.encode(message(MessageType::Heartbeat, std::string(100, 'x')))), Error::Oversized);
}

TEST(FrameCodec, CorruptLengthIsCaught)
{
    auto c = codec();
    std::string frame = c.encode(message(MessageType::Heartbeat, "payload"));
    std::string shorter = frame;
    shorter[11] = static_cast<char>(shorter[11] - 1);
    expectError(decode(c, shorter), Error::BadSignature);
    std::string longer = frame;
    longer[11] = static_cast<char>(longer[11] + 5);
    EXPECT_TRUE(decode(c, longer).needMore());
    expectError(decode(c, longer + "12345"), Error::BadSignature);
    std::string tiny = frame.substr(0, FrameCodec::HeaderSize);
    tiny[8] = tiny[9] = tiny[10] = 0;
    tiny[11] = 3;
    expectError(decode(c, tiny), Error::Truncated, "shorter than the minimum");
}

TEST(FrameCodec, NonZeroFlagsAreMalformed)
{
    auto c = codec();
    std::string frame = c.encode(message());
    frame[7] = 1;
    expectError(decode(c, frame), Error::Malformed, "flags");
}

TEST(FrameCodec, AnotherSecretOrAnAlteredByteFailsTheSignature)
{
    auto c = codec();
    FrameCodec other("prod", "not-the-secret", 1 << 20);
    expectError(decode(c, other.encode(message())), Error::BadSignature);
    std::string frame = c.encode(message(MessageType::Heartbeat, "payload"));
    for (std::size_t i = FrameCodec::HeaderSize; i < frame.size(); ++i)
    {
        std::string altered = frame;
        altered[i] = static_cast<char>(altered[i] ^ 0x20);
        expectError(decode(c, altered), Error::BadSignature);
    }
}

TEST(FrameCodec, AnotherClusterIsRefused)
{
    FrameCodec staging("staging", "s3cret", 1 << 20);
    auto c = codec();
    expectError(decode(staging, c.encode(message())), Error::WrongCluster, "\"prod\"");
}

TEST(FrameCodec, UnknownTypesAreRefusedUntilRegistered)
{
    auto c = codec();
    std::string body = bodyOf(c.encode(message()));
    expectError(decode(c, c.frameRawBody(99, body)), Error::UnknownType, "type 99");
    expectError(decode(c, c.frameRawBody(0, body)), Error::UnknownType);
    c.acceptType(99);
    auto r = decode(c, c.frameRawBody(99, body));
    ASSERT_TRUE(r.ok()) << r.text;
    EXPECT_EQ(static_cast<int>(r.message.type), 99);
    c.acceptTypes(16, 63);
    EXPECT_TRUE(c.accepts(16) && c.accepts(63) && !c.accepts(64));
}

TEST(FrameCodec, BodyDefectsAreReportedAfterTheSignature)
{
    auto c = codec();
    std::string body = bodyOf(c.encode(message(MessageType::Heartbeat, "pl")));
    expectError(decode(c, c.frameRawBody(1, body + "xx")), Error::Malformed, "2 trailing bytes");

    std::string longCluster = body;
    longCluster[0] = 0x03; // cluster name claims 0x03e8 bytes
    longCluster[1] = static_cast<char>(0xe8);
    expectError(decode(c, c.frameRawBody(1, longCluster)), Error::Truncated, "cluster name");

    std::string longPayload = body;
    longPayload[longPayload.size() - 3] = 0x7f; // payload length high bytes
    expectError(decode(c, c.frameRawBody(1, longPayload)), Error::Truncated, "payload");

    ClusterMessage anonymous = message();
    anonymous.sender.clear();
    expectError(decode(c, c.encode(anonymous)), Error::Malformed, "empty sender");
}

TEST(FrameCodec, PrefixesOfBadFramesNeverCrash)
{
    auto c = codec();
    std::string body = bodyOf(c.encode(message()));
    std::vector<std::string> frames = {c.frameRawBody(1, body + "x"), c.frameRawBody(77, body),
                                       FrameCodec("x", "y", 1 << 20).encode(message())};
    for (const auto& frame : frames)
        for (std::size_t n = 0; n <= frame.size(); ++n)
        {
            auto r = c.decode(frame.data(), n);
            bool expected = n < frame.size() ? r.needMore() : r.failed();
            EXPECT_TRUE(expected) << n;
        }
}
