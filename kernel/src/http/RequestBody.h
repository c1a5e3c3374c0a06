#pragma once
// A request body read in place from the connection buffer: Content-Length
// framed or chunked, limited to maxBodyBytes, sending "100 Continue" on the
// first read when the client asked for it. Also the streambuf behind
// ServerRequest::body().

#include <chrono>
#include <cstddef>
#include <streambuf>
#include <string_view>

namespace mt::http {

class SocketInput;
class SocketOutput;

/// The most of a request body the server reads and drops when the handler
/// did not read it (Tomcat's maxSwallowSize), so that the connection stays
/// usable; a bigger rest closes the connection instead. Closing with unread
/// bytes resets the connection, and a reset can destroy the response on its
/// way to a client (or a balancer) still sending: an upload the application
/// answered early would look failed.
inline constexpr std::size_t kMaxSwallowBytes = 2 * 1024 * 1024;

class RequestBody : public std::streambuf
{
public:
    enum class Framing { None, Fixed, Chunked };

    RequestBody(SocketInput& in, SocketOutput& out);

    void reset(Framing framing, long long length, std::size_t limit, bool expectContinue);
    /// A body must arrive at `bytesPerSecond` or faster, counted over the
    /// time spent waiting for it once `grace` of waiting has passed; slower
    /// gets 408. Each wait is bounded by the read timeout, the whole body by
    /// this: a client trickling a byte per timeout cannot hold a worker for
    /// ever. 0: no minimum.
    void setMinimumRate(std::size_t bytesPerSecond, std::chrono::milliseconds grace);

    /// The next piece of body in [data, data+size); false at the end. The
    /// piece stays valid until the next call. Throws mt::BodyTooLarge past
    /// the limit, ProtocolError on bad framing (400) or a stall (408).
    bool next(const char*& data, std::size_t& size);

    /// Reads and discards the rest of the body, at most `maxBytes` and for
    /// at most `maxTime` (a client trickling it must not keep a worker for
    /// a read timeout per byte); true if it ended.
    bool drain(std::size_t maxBytes, std::chrono::milliseconds maxTime);

    Framing framing() const { return _framing; }
    bool started() const { return _started; }
    bool finished() const { return _state == State::Done; }
    /// The client waits for "100 Continue" that was not sent: it may never send the body.
    bool continuePending() const { return _expectContinue; }
    /// Body bytes not yet read for a Content-Length body, else -1.
    long long remainingFixed() const { return _framing == Framing::Fixed ? _remaining : -1; }

protected:
    int_type underflow() override;

private:
    enum class State { Fixed, ChunkSize, ChunkData, ChunkEnd, Trailer, Done };

    std::string_view readLine();
    void need();

    SocketInput& _in;
    SocketOutput& _out;
    Framing _framing = Framing::None;
    State _state = State::Done;
    long long _remaining = 0;
    std::size_t _limit = 0;
    std::size_t _total = 0;
    std::size_t _metadataBytes = 0; ///< chunk extensions and trailer lines so far
    bool _expectContinue = false;
    bool _started = false;
    std::size_t _minimumRate = 0;
    std::chrono::milliseconds _grace{0};
    std::size_t _received = 0;               ///< bytes read while this body was being waited for
    std::chrono::steady_clock::duration _waited{0}; ///< time spent waiting for them
};

} // namespace mt::http
