#include "StopSignal.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <sys/eventfd.h>
#include <unistd.h>

namespace mt::redis {

StopSignal::StopSignal(const char* owner)
{
    _fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (_fd < 0) throw std::runtime_error(std::string(owner) + ": eventfd: " + std::strerror(errno));
}

StopSignal::~StopSignal()
{
    ::close(_fd);
}

void StopSignal::stop()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _stopping = true;
    }
    _stopped.notify_all();
    wake();
}

bool StopSignal::stopping() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _stopping;
}

void StopSignal::wake()
{
    std::uint64_t one = 1;
    ssize_t r = ::write(_fd, &one, sizeof one);
    (void)r; // only fails when the counter is full: it is readable then anyway
}

bool StopSignal::consume()
{
    std::uint64_t count;
    ssize_t r = ::read(_fd, &count, sizeof count);
    (void)r; // EAGAIN: nothing to read
    if (!stopping()) return false;
    wake();
    return true;
}

bool StopSignal::sleepFor(std::chrono::milliseconds pause)
{
    std::unique_lock<std::mutex> lock(_mutex);
    return !_stopped.wait_for(lock, pause, [&] { return _stopping; });
}

} // namespace mt::redis
