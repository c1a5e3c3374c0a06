#pragma once
// The streambuf behind ServerResponse::send(): frames the body as
// Content-Length, chunked or close-delimited (or drops it, for HEAD) into
// the connection's pending output.

#include <cstddef>
#include <streambuf>

namespace mt::http {

class SocketOutput;

class ResponseBody : public std::streambuf
{
public:
    enum class Mode { Fixed, Chunked, Raw, Discard };

    explicit ResponseBody(SocketOutput& out);

    void start(Mode mode, long long length);
    /// Moves buffered bytes to the output and, for chunked, adds the last chunk.
    void finish();
    /// Ends a body its producer failed to complete: what was written goes
    /// out, but no last chunk, so that the client (which then sees the
    /// connection close) cannot take a truncated body for a whole one.
    void abort();
    /// Body bytes put on the wire so far (framing excluded).
    long long bytes() const { return _bytes; }
    /// A Content-Length body that got fewer bytes than announced.
    bool incomplete() const { return _aborted || (_mode == Mode::Fixed && _bytes < _length); }

protected:
    int_type overflow(int_type c) override;
    int sync() override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;

private:
    void emit(const char* data, std::size_t size);
    void emitBuffer();

    SocketOutput& _out;
    Mode _mode = Mode::Discard;
    long long _length = 0;
    long long _bytes = 0;
    bool _finished = true;
    bool _aborted = false;
    char _buf[8192];
};

} // namespace mt::http
