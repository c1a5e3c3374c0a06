#pragma once
// Other nodes' own figures (uptime, CPU, memory, connections, requests) for
// GET /cluster/status: a background thread fetches each peer's
// /cluster/status?scope=local with a short timeout and caches the answer,
// so a status request never waits on a slow or dead peer. It only runs
// while someone is looking (a status request in the last 30 s): an idle
// cluster does not poll itself.
// Thread-safety: every method may be called from any thread.

#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mt::monitor {

class ClusterStatusPeers
{
public:
    struct Target
    {
        std::string name;
        std::string host;
        unsigned short port = 0;
    };
    struct Figures
    {
        Poco::JSON::Object::Ptr local; ///< null if never fetched
        std::int64_t fetchedAtMs = 0;  ///< steadyNowMs() of the last successful fetch (for its age only)
        bool lastAttemptFailed = false;
        std::string error;             ///< why the last attempt failed
    };

    /// `targets` lists the peers to ask (called on the fetch thread);
    /// `stopping` ends the thread early (the server is shutting down).
    ClusterStatusPeers(std::function<std::vector<Target>()> targets, std::function<bool()> stopping,
                       int intervalMs = 2000, int timeoutMs = 500);
    ~ClusterStatusPeers(); ///< stop()

    /// Someone looks at the status: keep fetching (starts the thread on first use).
    void demand();
    /// Ends the thread (the kernel calls it at stop, before what targets() reads goes away).
    void stop();
    Figures figures(const std::string& node) const;

private:
    void run();
    void fetch(const Target& target);

    std::function<std::vector<Target>()> _targets;
    std::function<bool()> _stopping;
    const int _intervalMs;
    const int _timeoutMs;
    mutable std::mutex _mutex;
    std::condition_variable _wake;
    std::map<std::string, Figures> _figures;
    std::int64_t _lastDemandMs = 0;
    bool _stop = false;
    std::thread _thread;
};

} // namespace mt::monitor
