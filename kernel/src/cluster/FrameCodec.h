#pragma once
// Encodes and decodes cluster frames. Pure: no I/O, no threads, no clock.
//
// Wire format (all integers big-endian):
//   "MTCF" | version u8 (=1) | type u8 | flags u16 (=0) | body length u32
//   body:  cluster (u16 len + bytes) | sender (u16 len + bytes)
//          | incarnation u64 | sentAtMs u64 | payload (u32 len + bytes)
//   HMAC-SHA256 (32 bytes) over header and body, keyed with the shared secret.
//
// Decoding is incremental: feed whatever bytes have arrived; the header is
// judged (magic, version, size) as soon as it is there, so an oversized or
// foreign stream is refused before its body is read or buffered. The body is
// parsed only after its signature checked out.
//
// Thread-safety: encode/decode are const and may run concurrently;
// acceptType() must be called before the codec is shared.

#include "cluster/ClusterMessage.h"

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <string>

namespace mt {

class FrameCodec
{
public:
    static constexpr std::uint8_t Version = 1;
    static constexpr std::size_t HeaderSize = 12;
    static constexpr std::size_t MacSize = 32;
    /// The smallest frame that can be valid: empty strings and payload.
    static constexpr std::size_t MinBodySize = 2 + 2 + 8 + 8 + 4;

    enum class Error
    {
        None,
        BadMagic,
        UnsupportedVersion,
        Oversized,
        Truncated,   ///< a field runs past the end of the body, or the stream ended mid-frame
        Malformed,   ///< trailing bytes in the body, non-zero flags, empty sender
        BadSignature,
        WrongCluster,
        UnknownType,
    };
    static constexpr int ErrorCount = 9;
    /// "bad_magic", "oversized", ...: stable names for logs and metrics.
    static const char* toString(Error error);

    struct Result
    {
        enum class Status { NeedMore, Ok, Error } status = Status::NeedMore;
        ClusterMessage message;     ///< valid when Ok
        std::size_t consumed = 0;   ///< bytes of the frame, when Ok
        Error error = Error::None;  ///< when Error
        std::string text;           ///< when Error: the reason and what was seen

        bool ok() const { return status == Status::Ok; }
        bool needMore() const { return status == Status::NeedMore; }
        bool failed() const { return status == Status::Error; }
    };

    /// Accepts the message types 1..3 (Heartbeat, Join, Leave); register more with acceptType().
    FrameCodec(std::string clusterName, std::string secret, std::size_t maxFrameBytes);

    /// Lets frames of `type` through (gossip and raft register theirs).
    void acceptType(std::uint8_t type);
    void acceptTypes(std::uint8_t first, std::uint8_t last);
    bool accepts(std::uint8_t type) const { return _accepted.test(type); }

    /// A complete signed frame. Throws Poco::InvalidArgumentException if it
    /// would exceed maxFrameBytes or a name is longer than 65535 bytes.
    std::string encode(const ClusterMessage& message) const;

    /// Frames `body` as is, with a valid header and signature: lets tests and
    /// the fuzzer reach the body parser with bodies encode() would never write.
    std::string frameRawBody(std::uint8_t type, const std::string& body) const;

    /// Examines the bytes at `data`: a complete valid frame (Ok, with the
    /// bytes it used), not enough bytes yet (NeedMore), or a refusal (Error).
    /// After an Error the stream cannot be resynchronised: close it.
    Result decode(const char* data, std::size_t size) const;

    std::size_t maxFrameBytes() const { return _maxFrameBytes; }
    const std::string& clusterName() const { return _clusterName; }

private:
    std::string sign(const char* data, std::size_t size) const;
    std::string assemble(std::uint8_t type, const std::string& body) const;
    Result parseBody(std::uint8_t type, const char* body, std::size_t size) const;

    std::string _clusterName;
    std::string _secret;
    std::size_t _maxFrameBytes;
    std::bitset<256> _accepted;
};

} // namespace mt
