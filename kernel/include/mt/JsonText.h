#pragma once
// Building small JSON bodies by hand on hot paths, where a JSON library's
// object model costs more than the answer itself.

#include <string>

namespace mt {

/// Appends `text` as a JSON string literal. Control characters become spaces:
/// these bodies carry ids and names, never arbitrary text that must round-trip.
inline void appendJsonString(std::string& out, const std::string& text)
{
    out += '"';
    for (char c : text)
    {
        if (c == '"' || c == '\\')
        {
            out += '\\';
            out += c;
        }
        else if (static_cast<unsigned char>(c) < 0x20)
            out += ' ';
        else
            out += c;
    }
    out += '"';
}

} // namespace mt
