#pragma once
// How the store's background threads (the invalidation subscriber, the
// failover watch) are stopped and woken: a flag with a condition variable
// for their backoff sleeps, and an eventfd they poll next to their socket.
// A wake that is not a stop (a resubscribe) can be consumed without losing a
// stop that came with it.
//
// Thread-safety: every method from any thread.

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace mt::redis {

class StopSignal
{
public:
    /// `owner` names it in the error when no eventfd can be made (std::runtime_error).
    explicit StopSignal(const char* owner);
    ~StopSignal();

    StopSignal(const StopSignal&) = delete;
    StopSignal& operator=(const StopSignal&) = delete;

    /// Readable (POLLIN) after wake() or stop().
    int fd() const { return _fd; }
    /// Ends sleepFor() at once and every later poll of fd().
    void stop();
    bool stopping() const;
    /// Makes fd() readable, for something other than a stop.
    void wake();
    /// Reads fd()'s wake-ups; a stop among them stays readable. True when stopping.
    bool consume();
    /// Waits `pause`; false when stopped meanwhile (or before).
    bool sleepFor(std::chrono::milliseconds pause);

private:
    int _fd = -1;
    mutable std::mutex _mutex;
    std::condition_variable _stopped;
    bool _stopping = false;
};

} // namespace mt::redis
