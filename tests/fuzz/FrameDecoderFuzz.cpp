// Fuzz target for FrameCodec::decode. Each input is used twice:
//  1. as a raw byte stream, fed in two pieces the way a socket would deliver
//     it, decoded frame after frame until NeedMore or an error;
//  2. as a frame body (first byte: the type) wrapped in a correct header and
//     signature, so the body parser behind the HMAC check is reached too.
// Besides "no crash", it checks invariants: a decoded frame re-encodes to the
// same bytes, and a signed body is never reported as badly signed.

#include "FrameDecoderFuzz.h"

#include "cluster/FrameCodec.h"

#include <cstdio>
#include <cstdlib>

namespace {

const char* const Cluster = "fuzz";
const char* const Secret = "fuzz-secret";
constexpr std::size_t MaxFrame = 4096;

const mt::FrameCodec& codec()
{
    static const mt::FrameCodec instance = [] {
        mt::FrameCodec c(Cluster, Secret, MaxFrame);
        c.acceptType(64);
        return c;
    }();
    return instance;
}

void check(bool condition, const char* what)
{
    if (!condition)
    {
        std::fprintf(stderr, "frame decoder invariant violated: %s\n", what);
        std::abort();
    }
}

void decodeStream(const std::string& stream, std::size_t split)
{
    std::string buffer;
    std::size_t fed = 0;
    for (std::size_t piece : {split, stream.size()})
    {
        buffer.append(stream, fed, piece - fed);
        fed = piece;
        std::size_t pos = 0;
        for (;;)
        {
            auto r = codec().decode(buffer.data() + pos, buffer.size() - pos);
            if (r.needMore()) break;
            if (r.failed())
            {
                check(r.error != mt::FrameCodec::Error::None && !r.text.empty(), "error without a reason");
                return;
            }
            check(r.consumed > 0 && r.consumed <= buffer.size() - pos, "consumed out of range");
            check(codec().encode(r.message) == buffer.substr(pos, r.consumed), "re-encoding differs");
            pos += r.consumed;
        }
        buffer.erase(0, pos);
        check(buffer.size() <= MaxFrame + stream.size(), "buffer unbounded");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string input(reinterpret_cast<const char*>(data), size);
    decodeStream(input, size == 0 ? 0 : data[0] % (size + 1));

    if (size >= 1 && size - 1 + mt::FrameCodec::HeaderSize + mt::FrameCodec::MacSize <= MaxFrame)
    {
        std::string frame = codec().frameRawBody(data[0], input.substr(1));
        auto r = codec().decode(frame.data(), frame.size());
        check(!r.needMore(), "complete frame needs more");
        check(r.error != mt::FrameCodec::Error::BadSignature, "signed frame rejected as badly signed");
        if (r.ok()) check(r.consumed == frame.size(), "signed frame not consumed whole");
    }
    return 0;
}

namespace mt::fuzz {

std::vector<std::string> frameDecoderSeeds()
{
    std::vector<std::string> seeds;
    ClusterMessage m;
    m.cluster = Cluster;
    m.sender = "node-1";
    m.incarnation = 3;
    m.sentAtMs = 1700000000000ull;
    for (std::uint8_t type : {1, 2, 3, 64})
    {
        m.type = static_cast<MessageType>(type);
        m.payload = std::string(type, 'p');
        seeds.push_back(codec().encode(m));
    }
    seeds.push_back(seeds[0] + seeds[1]);
    std::string good = seeds[0];
    std::string body = good.substr(FrameCodec::HeaderSize, good.size() - FrameCodec::HeaderSize - FrameCodec::MacSize);
    seeds.push_back(std::string(1, '\x01') + body);
    seeds.push_back(std::string(1, '\x01') + body + "trailing");
    seeds.push_back(good.substr(0, FrameCodec::HeaderSize));
    seeds.push_back(std::string("MTCF\x01\x01\x00\x00\x7f\xff\xff\xff", 12));
    seeds.push_back("GET / HTTP/1.1\r\n\r\n");
    seeds.push_back(std::string());
    return seeds;
}

} // namespace mt::fuzz
