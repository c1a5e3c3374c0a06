#include "http/ResponseBody.h"

#include "http/SocketOutput.h"

#include <charconv>
#include <cstring>

namespace mt::http {
namespace {
// Pending output is sent once it grows past this; smaller responses leave in one send().
const std::size_t flushThreshold = 32 * 1024;
}

ResponseBody::ResponseBody(SocketOutput& out): _out(out)
{
}

void ResponseBody::start(Mode mode, long long length)
{
    _mode = mode;
    _length = length;
    _bytes = 0;
    _finished = false;
    _aborted = false;
    setp(_buf, _buf + sizeof(_buf));
}

void ResponseBody::emit(const char* data, std::size_t size)
{
    if (size == 0 || _finished) return;
    std::string& pending = _out.pending();
    switch (_mode)
    {
    case Mode::Discard:
        return;
    case Mode::Fixed:
        // Bytes past the announced length would corrupt the next response: drop them.
        if (_bytes + static_cast<long long>(size) > _length) size = static_cast<std::size_t>(_length - _bytes);
        if (size == 0) return;
        pending.append(data, size);
        break;
    case Mode::Raw:
        pending.append(data, size);
        break;
    case Mode::Chunked:
    {
        char hex[20];
        auto r = std::to_chars(hex, hex + sizeof(hex), size, 16);
        pending.append(hex, r.ptr);
        pending.append("\r\n", 2);
        pending.append(data, size);
        pending.append("\r\n", 2);
        break;
    }
    }
    _bytes += static_cast<long long>(size);
    if (pending.size() >= flushThreshold) _out.flush();
}

void ResponseBody::emitBuffer()
{
    emit(pbase(), static_cast<std::size_t>(pptr() - pbase()));
    setp(_buf, _buf + sizeof(_buf));
}

ResponseBody::int_type ResponseBody::overflow(int_type c)
{
    emitBuffer();
    if (!traits_type::eq_int_type(c, traits_type::eof()))
    {
        *pptr() = traits_type::to_char_type(c);
        pbump(1);
    }
    return traits_type::not_eof(c);
}

std::streamsize ResponseBody::xsputn(const char* s, std::streamsize n)
{
    auto size = static_cast<std::size_t>(n);
    if (size <= static_cast<std::size_t>(epptr() - pptr()))
    {
        std::memcpy(pptr(), s, size);
        pbump(static_cast<int>(n));
        return n;
    }
    emitBuffer();
    emit(s, size);
    return n;
}

int ResponseBody::sync()
{
    emitBuffer();
    if (_mode != Mode::Discard) _out.flush();
    return 0;
}

void ResponseBody::finish()
{
    if (_finished) return;
    emitBuffer();
    if (_mode == Mode::Chunked) _out.pending().append("0\r\n\r\n", 5);
    _finished = true;
}

void ResponseBody::abort()
{
    if (_finished) return;
    emitBuffer();
    _finished = true;
    _aborted = true;
}

} // namespace mt::http
