#include "http/RequestBody.h"

#include "http/ProtocolError.h"
#include "http/SocketInput.h"
#include "http/SocketOutput.h"
#include "mt/BodyTooLarge.h"

#include <cstring>
#include <string>

namespace mt::http {
namespace {
const std::size_t maxChunkLine = 4096;
/// Chunk extensions and trailers, over the whole body: nobody needs more,
/// and bytes that do not count against the body limit must be bounded too.
const std::size_t maxChunkMetadata = 16384;
}

RequestBody::RequestBody(SocketInput& in, SocketOutput& out): _in(in), _out(out)
{
}

void RequestBody::reset(Framing framing, long long length, std::size_t limit, bool expectContinue)
{
    _framing = framing;
    _remaining = length;
    _limit = limit;
    _total = 0;
    _metadataBytes = 0;
    _started = false;
    _received = 0;
    _waited = {};
    switch (framing)
    {
    case Framing::None: _state = State::Done; break;
    case Framing::Fixed: _state = length > 0 ? State::Fixed : State::Done; break;
    case Framing::Chunked: _state = State::ChunkSize; break;
    }
    _expectContinue = expectContinue && _state != State::Done;
    setg(nullptr, nullptr, nullptr);
}

void RequestBody::setMinimumRate(std::size_t bytesPerSecond, std::chrono::milliseconds grace)
{
    _minimumRate = bytesPerSecond;
    _grace = grace;
}

void RequestBody::need()
{
    const bool timed = _minimumRate > 0; // no clock reads per read otherwise
    const auto before = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    const std::size_t got = _in.fill();
    if (got == 0) throw ProtocolError(400, "connection closed inside the request body");
    if (!timed) return;
    _received += got;
    _waited += std::chrono::steady_clock::now() - before;
    const auto counted = std::chrono::duration_cast<std::chrono::milliseconds>(_waited - _grace).count();
    if (counted > 0 && _received * 1000 < _minimumRate * static_cast<std::size_t>(counted))
        throw ProtocolError(408, "request body arrives slower than " + std::to_string(_minimumRate) +
                                     " bytes/s (http.minBodyRate)");
}

std::string_view RequestBody::readLine()
{
    for (;;)
    {
        const char* d = _in.data();
        std::size_t avail = _in.available();
        const char* lf = static_cast<const char*>(std::memchr(d, '\n', avail));
        if (lf)
        {
            // CRLF only (RFC 9112 §7.1): a front end that ends these lines
            // elsewhere would frame the body differently (request smuggling).
            std::size_t len = static_cast<std::size_t>(lf - d);
            if (len == 0 || d[len - 1] != '\r') throw ProtocolError(400, "chunk line ends with a bare LF, not CRLF");
            --len;
            for (std::size_t i = 0; i < len; ++i)
            {
                const auto c = static_cast<unsigned char>(d[i]);
                if ((c < 0x20 && c != '\t') || c == 0x7f)
                    throw ProtocolError(400, "control character in a chunk line");
            }
            _in.consume(len + 2);
            return std::string_view(d, len);
        }
        if (avail > maxChunkLine) throw ProtocolError(400, "chunk line too long");
        need();
    }
}

bool RequestBody::next(const char*& data, std::size_t& size)
{
    if (_state == State::Done) return false;
    if (!_started)
    {
        _started = true;
        if (_expectContinue)
        {
            _expectContinue = false;
            _out.pending().append("HTTP/1.1 100 Continue\r\n\r\n");
            _out.flush();
        }
    }
    for (;;)
    {
        switch (_state)
        {
        case State::Fixed:
        case State::ChunkData:
        {
            if (_in.available() == 0) need();
            std::size_t n = _in.available();
            if (static_cast<long long>(n) > _remaining) n = static_cast<std::size_t>(_remaining);
            data = _in.data();
            size = n;
            _in.consume(n);
            _remaining -= static_cast<long long>(n);
            if (_remaining == 0) _state = _state == State::Fixed ? State::Done : State::ChunkEnd;
            return true;
        }
        case State::ChunkSize:
        {
            std::string_view line = readLine();
            long long chunk = 0;
            std::size_t i = 0;
            for (; i < line.size(); ++i)
            {
                char c = line[i];
                int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                        : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
                if (v < 0) break;
                if (i >= 15) throw ProtocolError(400, "chunk size too long");
                chunk = chunk * 16 + v;
            }
            if (i == 0 || (i < line.size() && line[i] != ';' && line[i] != ' ' && line[i] != '\t'))
                throw ProtocolError(400, "bad chunk size");
            _metadataBytes += line.size() - i;
            if (_metadataBytes > maxChunkMetadata) throw ProtocolError(400, "chunk extensions too long");
            if (chunk == 0)
            {
                _state = State::Trailer;
                break;
            }
            _total += static_cast<std::size_t>(chunk);
            if (_total > _limit) throw mt::BodyTooLarge("request body exceeds the limit");
            _remaining = chunk;
            _state = State::ChunkData;
            break;
        }
        case State::ChunkEnd:
            if (!readLine().empty()) throw ProtocolError(400, "missing CRLF after chunk");
            _state = State::ChunkSize;
            break;
        case State::Trailer:
        {
            std::string_view line = readLine();
            _metadataBytes += line.size() + 2;
            if (_metadataBytes > maxChunkMetadata) throw ProtocolError(400, "trailer too long");
            if (line.empty())
            {
                _state = State::Done;
                return false;
            }
            break;
        }
        case State::Done:
            return false;
        }
    }
}

bool RequestBody::drain(std::size_t maxBytes, std::chrono::milliseconds maxTime)
{
    const auto deadline = std::chrono::steady_clock::now() + maxTime;
    std::size_t drained = 0;
    const char* data;
    std::size_t size;
    while (next(data, size))
    {
        drained += size;
        if (drained > maxBytes || std::chrono::steady_clock::now() > deadline) return false;
    }
    return true;
}

RequestBody::int_type RequestBody::underflow()
{
    const char* data;
    std::size_t size;
    if (!next(data, size)) return traits_type::eof();
    char* p = const_cast<char*>(data);
    setg(p, p, p + size);
    return traits_type::to_int_type(*p);
}

} // namespace mt::http
