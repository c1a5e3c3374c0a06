#pragma once
// One background thread that removes expired sessions: every interval it
// calls sweep() on each registered manager (destroyed listeners fire there).
//
// Thread-safety: every method may be called from any thread. remove()
// returns only once the sweeper no longer uses that manager, so the caller
// may destroy it right after (called from a listener on the sweeper thread
// itself, it cannot wait and the manager must outlive the current sweep).
// stop() wakes the thread at once and joins it; the destructor stops.

#include "session/DistributedSessionManager.h"

#include <Poco/Logger.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace mt {

class SessionSweeper
{
public:
    SessionSweeper(std::chrono::milliseconds interval, Poco::Logger& logger, std::size_t batch = 10000);
    ~SessionSweeper();

    SessionSweeper(const SessionSweeper&) = delete;
    SessionSweeper& operator=(const SessionSweeper&) = delete;

    void add(DistributedSessionManager& manager);
    void remove(DistributedSessionManager& manager);
    /// Starts the thread (once; later calls do nothing).
    void start();
    /// Wakes and joins the thread; idempotent.
    void stop();
    /// Completed passes over all managers (for tests and monitoring).
    std::uint64_t passes() const;

private:
    void run();
    void sweepAll();

    const std::chrono::milliseconds _interval;
    Poco::Logger& _logger;
    const std::size_t _batch;

    mutable std::mutex _mutex;
    std::condition_variable _wake;   // stop requested
    std::condition_variable _idle;   // a pass finished (remove() waits on it)
    std::vector<DistributedSessionManager*> _managers;
    DistributedSessionManager* _sweeping = nullptr; // the manager being swept, outside the lock
    bool _stopping = false;
    std::uint64_t _passes = 0;
    std::thread _thread;
};

} // namespace mt
