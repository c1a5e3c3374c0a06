#include "session/SessionSweeper.h"

#include "mt/ThreadName.h"

#include <algorithm>
#include <exception>

namespace mt {

SessionSweeper::SessionSweeper(std::chrono::milliseconds interval, Poco::Logger& logger, std::size_t batch)
    : _interval(interval), _logger(logger), _batch(batch == 0 ? 1 : batch)
{
}

SessionSweeper::~SessionSweeper()
{
    stop();
}

void SessionSweeper::add(DistributedSessionManager& manager)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (std::find(_managers.begin(), _managers.end(), &manager) == _managers.end()) _managers.push_back(&manager);
}

void SessionSweeper::remove(DistributedSessionManager& manager)
{
    std::unique_lock<std::mutex> lock(_mutex);
    _managers.erase(std::remove(_managers.begin(), _managers.end(), &manager), _managers.end());
    if (std::this_thread::get_id() == _thread.get_id()) return; // from a listener: cannot wait for ourselves
    _idle.wait(lock, [&] { return _sweeping != &manager; });
}

void SessionSweeper::start()
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_thread.joinable() || _stopping) return;
    _thread = std::thread([this] {
        nameThisThread("session-sweep");
        run();
    });
}

void SessionSweeper::stop()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _stopping = true;
    }
    _wake.notify_all();
    if (_thread.joinable() && std::this_thread::get_id() != _thread.get_id()) _thread.join();
}

std::uint64_t SessionSweeper::passes() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _passes;
}

void SessionSweeper::run()
{
    std::unique_lock<std::mutex> lock(_mutex);
    while (!_wake.wait_for(lock, _interval, [this] { return _stopping; }))
    {
        lock.unlock();
        sweepAll();
        lock.lock();
        ++_passes;
        _idle.notify_all();
    }
}

void SessionSweeper::sweepAll()
{
    std::vector<DistributedSessionManager*> managers;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        managers = _managers;
    }
    for (DistributedSessionManager* manager : managers)
    {
        {
            // Re-checked under the lock: remove() may have run since the copy.
            std::lock_guard<std::mutex> lock(_mutex);
            if (_stopping) return;
            if (std::find(_managers.begin(), _managers.end(), manager) == _managers.end()) continue;
            _sweeping = manager;
        }
        try
        {
            // A backlog larger than one batch is worked off now, in batches,
            // but a stop request is honoured between batches.
            for (int round = 0; round < 100 && manager->sweep(_batch) >= _batch; ++round)
            {
                std::lock_guard<std::mutex> lock(_mutex);
                if (_stopping) break;
            }
        }
        catch (const std::exception& e)
        {
            _logger.warning("session sweep of context %s failed: %s", manager->settings().contextPath,
                            std::string(e.what()));
        }
        catch (...)
        {
            _logger.warning("session sweep of context %s failed", manager->settings().contextPath);
        }
        {
            std::lock_guard<std::mutex> lock(_mutex);
            _sweeping = nullptr;
        }
        _idle.notify_all();
    }
}

} // namespace mt
