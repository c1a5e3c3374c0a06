#include "cluster/FrameCodec.h"

#include <Poco/Exception.h>
#include <Poco/HMACEngine.h>
#include <Poco/SHA2Engine.h>

#include <cstring>

namespace mt {

namespace {

const char Magic[4] = {'M', 'T', 'C', 'F'};

// Poco 1.11's SHA2Engine lacks the BLOCK_SIZE/DIGEST_SIZE constants that
// HMACEngine needs; this adapter supplies them for SHA-256.
class Sha256Engine : public Poco::SHA2Engine
{
public:
    enum
    {
        BLOCK_SIZE = 64,
        DIGEST_SIZE = 32
    };
    Sha256Engine() : Poco::SHA2Engine(Poco::SHA2Engine::SHA_256) {}
};

void putU16(std::string& out, std::uint16_t v)
{
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v));
}

void putU32(std::string& out, std::uint32_t v)
{
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void putU64(std::string& out, std::uint64_t v)
{
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::uint64_t getBE(const char* p, int bytes)
{
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

// Comparing every byte whatever the first difference keeps the time
// independent of how much of a forged MAC is right.
bool equalConstantTime(const char* a, const char* b, std::size_t n)
{
    unsigned char diff = 0;
    for (std::size_t i = 0; i < n; ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

std::string printable(const char* data, std::size_t size)
{
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < size; ++i)
    {
        auto c = static_cast<unsigned char>(data[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\')
            out.push_back(static_cast<char>(c));
        else
        {
            out += "\\x";
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

FrameCodec::Result failure(FrameCodec::Error error, std::string text)
{
    FrameCodec::Result r;
    r.status = FrameCodec::Result::Status::Error;
    r.error = error;
    r.text = std::string(FrameCodec::toString(error)) + ": " + text;
    return r;
}

// Reads the body's fields; every read is bounds-checked against the body.
class BodyReader
{
public:
    BodyReader(const char* data, std::size_t size) : _p(data), _end(data + size) {}

    bool integer(int bytes, std::uint64_t& out)
    {
        if (remaining() < static_cast<std::size_t>(bytes)) return false;
        out = getBE(_p, bytes);
        _p += bytes;
        return true;
    }
    bool string(int lengthBytes, std::string& out, std::uint64_t& claimed)
    {
        claimed = 0;
        if (!integer(lengthBytes, claimed)) return false;
        if (claimed > remaining()) return false;
        out.assign(_p, static_cast<std::size_t>(claimed));
        _p += claimed;
        return true;
    }
    std::size_t remaining() const { return static_cast<std::size_t>(_end - _p); }

private:
    const char* _p;
    const char* _end;
};

} // namespace

const char* FrameCodec::toString(Error error)
{
    switch (error)
    {
    case Error::None: return "none";
    case Error::BadMagic: return "bad_magic";
    case Error::UnsupportedVersion: return "unsupported_version";
    case Error::Oversized: return "oversized";
    case Error::Truncated: return "truncated";
    case Error::Malformed: return "malformed";
    case Error::BadSignature: return "bad_signature";
    case Error::WrongCluster: return "wrong_cluster";
    case Error::UnknownType: return "unknown_type";
    }
    return "unknown";
}

FrameCodec::FrameCodec(std::string clusterName, std::string secret, std::size_t maxFrameBytes)
    : _clusterName(std::move(clusterName)), _secret(std::move(secret)), _maxFrameBytes(maxFrameBytes)
{
    acceptTypes(1, 3);
}

void FrameCodec::acceptType(std::uint8_t type)
{
    _accepted.set(type);
}

void FrameCodec::acceptTypes(std::uint8_t first, std::uint8_t last)
{
    for (unsigned t = first; t <= last; ++t) _accepted.set(t);
}

std::string FrameCodec::sign(const char* data, std::size_t size) const
{
    Poco::HMACEngine<Sha256Engine> hmac(_secret);
    hmac.update(data, size);
    const auto& digest = hmac.digest();
    return std::string(digest.begin(), digest.end());
}

std::string FrameCodec::assemble(std::uint8_t type, const std::string& body) const
{
    std::size_t total = HeaderSize + body.size() + MacSize;
    if (total > _maxFrameBytes || body.size() > 0xffffffffu)
        throw Poco::InvalidArgumentException("cluster frame of " + std::to_string(total) +
                                             " bytes exceeds the limit of " + std::to_string(_maxFrameBytes));
    std::string frame;
    frame.reserve(total);
    frame.append(Magic, 4);
    frame.push_back(static_cast<char>(Version));
    frame.push_back(static_cast<char>(type));
    putU16(frame, 0);
    putU32(frame, static_cast<std::uint32_t>(body.size()));
    frame += body;
    frame += sign(frame.data(), frame.size());
    return frame;
}

std::string FrameCodec::encode(const ClusterMessage& message) const
{
    if (message.cluster.size() > 0xffff || message.sender.size() > 0xffff)
        throw Poco::InvalidArgumentException("cluster or sender name longer than 65535 bytes");
    if (message.payload.size() > 0xffffffffu)
        throw Poco::InvalidArgumentException("payload longer than 4 GiB");
    std::string body;
    body.reserve(MinBodySize + message.cluster.size() + message.sender.size() + message.payload.size());
    putU16(body, static_cast<std::uint16_t>(message.cluster.size()));
    body += message.cluster;
    putU16(body, static_cast<std::uint16_t>(message.sender.size()));
    body += message.sender;
    putU64(body, message.incarnation);
    putU64(body, message.sentAtMs);
    putU32(body, static_cast<std::uint32_t>(message.payload.size()));
    body += message.payload;
    return assemble(static_cast<std::uint8_t>(message.type), body);
}

std::string FrameCodec::frameRawBody(std::uint8_t type, const std::string& body) const
{
    return assemble(type, body);
}

FrameCodec::Result FrameCodec::decode(const char* data, std::size_t size) const
{
    if (size == 0) return Result{};
    // Judge each header field as soon as its bytes are in, so garbage is
    // refused at once instead of waiting for a header that never comes.
    std::size_t magicSeen = size < 4 ? size : 4;
    if (std::memcmp(data, Magic, magicSeen) != 0)
        return failure(Error::BadMagic, "expected \"MTCF\", got \"" + printable(data, magicSeen) + "\"");
    if (size < 5) return Result{};
    auto version = static_cast<unsigned char>(data[4]);
    if (version != Version)
        return failure(Error::UnsupportedVersion,
                       "frame version " + std::to_string(version) + ", this node speaks version " +
                           std::to_string(Version));
    if (size < HeaderSize) return Result{};

    auto type = static_cast<std::uint8_t>(data[5]);
    auto flags = getBE(data + 6, 2);
    std::uint64_t bodyLength = getBE(data + 8, 4);
    std::uint64_t total = HeaderSize + bodyLength + MacSize;
    if (total > _maxFrameBytes)
        return failure(Error::Oversized, "frame of " + std::to_string(total) + " bytes (body " +
                                             std::to_string(bodyLength) + ") exceeds the limit of " +
                                             std::to_string(_maxFrameBytes));
    if (flags != 0) return failure(Error::Malformed, "flags are " + std::to_string(flags) + ", expected 0");
    if (bodyLength < MinBodySize)
        return failure(Error::Truncated, "body of " + std::to_string(bodyLength) +
                                             " bytes is shorter than the minimum of " + std::to_string(MinBodySize));
    if (size < total) return Result{};

    std::size_t signedSize = HeaderSize + static_cast<std::size_t>(bodyLength);
    std::string expected = sign(data, signedSize);
    if (!equalConstantTime(expected.data(), data + signedSize, MacSize))
        return failure(Error::BadSignature, "HMAC-SHA256 does not match (wrong secret or altered frame)");

    Result r = parseBody(type, data + HeaderSize, static_cast<std::size_t>(bodyLength));
    if (r.ok()) r.consumed = static_cast<std::size_t>(total);
    return r;
}

FrameCodec::Result FrameCodec::parseBody(std::uint8_t type, const char* body, std::size_t size) const
{
    BodyReader in(body, size);
    Result r;
    ClusterMessage& m = r.message;
    std::uint64_t claimed = 0;
    auto truncated = [&](const char* field) {
        return failure(Error::Truncated, std::string(field) + " runs past the end of the " + std::to_string(size) +
                                             "-byte body (claimed length " + std::to_string(claimed) + ")");
    };
    if (!in.string(2, m.cluster, claimed)) return truncated("cluster name");
    if (!in.string(2, m.sender, claimed)) return truncated("sender");
    claimed = 8;
    if (!in.integer(8, m.incarnation)) return truncated("incarnation");
    if (!in.integer(8, m.sentAtMs)) return truncated("sentAtMs");
    if (!in.string(4, m.payload, claimed)) return truncated("payload");
    if (in.remaining() != 0)
        return failure(Error::Malformed, std::to_string(in.remaining()) + " trailing bytes after the payload");
    if (m.sender.empty()) return failure(Error::Malformed, "empty sender name");
    if (m.cluster != _clusterName)
        return failure(Error::WrongCluster, "frame for cluster \"" + printable(m.cluster.data(), m.cluster.size()) +
                                                "\" from \"" + printable(m.sender.data(), m.sender.size()) +
                                                "\", this is cluster \"" + _clusterName + "\"");
    if (!_accepted.test(type))
        return failure(Error::UnknownType, "message type " + std::to_string(type) + " from \"" +
                                               printable(m.sender.data(), m.sender.size()) + "\" is not accepted");
    m.type = static_cast<MessageType>(type);
    r.status = Result::Status::Ok;
    return r;
}

} // namespace mt
