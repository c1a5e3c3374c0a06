#pragma once
// Names the calling thread as `top -H`, `ps -L`, perf and gdb show it
// (/proc/<pid>/task/<tid>/comm). Unnamed, every thread of the server shows as
// "microtomcat", and per-thread CPU figures need thread ids mapped by hand.

#include <pthread.h>

#include <string>

namespace mt {

/// Linux keeps at most 15 bytes of a name: a longer one is cut, not refused.
/// Thread-safe; call it first thing in the thread's body (until then a new
/// thread carries the name of the thread that started it).
inline void nameThisThread(const std::string& name)
{
    ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());
}

} // namespace mt
