#pragma once
// The heartbeat loop over a ClusterTransport: Join at start, a Heartbeat to
// every peer each interval followed by NodeStatusManager::evaluate, Leave at
// stop. Peers are read from the registry snapshot every round, so nodes added
// or removed by a reload are picked up without a restart.
//
// Thread-safety: onMessage may be called from any thread (the transport's);
// start/stop from the owner. One thread of its own between start and stop.

#include "cluster/HeartbeatService.h"

#include <Poco/Logger.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace mt {

class DefaultHeartbeatService : public HeartbeatService
{
public:
    DefaultHeartbeatService(const ClusterConfig& config, ClusterTransport& transport, NodeStatusManager& statusManager,
                            ClusterRegistry& registry, const Clock& clock, std::uint64_t incarnation,
                            Poco::Logger& logger);
    ~DefaultHeartbeatService() override;

    void start() override;
    void stop() override;
    void onMessage(const ClusterMessage& message) override;
    std::uint64_t incarnation() const override { return _incarnation; }

    /// Rounds completed since start (for tests and monitoring).
    std::uint64_t rounds() const { return _rounds.load(); }

private:
    void run();
    void round();
    std::vector<std::string> peers() const;
    ClusterMessage message(MessageType type) const;
    bool knownSender(const std::string& name);

    const ClusterConfig _config;
    ClusterTransport& _transport;
    NodeStatusManager& _status;
    ClusterRegistry& _registry;
    const Clock& _clock;
    const std::uint64_t _incarnation;
    Poco::Logger& _logger;

    std::mutex _mutex; ///< guards the fields below and the tick's wait
    std::condition_variable _wake;
    bool _started = false;
    bool _stopping = false;
    std::thread _thread;
    std::atomic<bool> _leaving{false}; ///< after stop(): no more replies
    std::atomic<std::uint64_t> _rounds{0};

    std::mutex _warnMutex;
    std::set<std::string> _warnedSenders; ///< unknown senders already warned about (bounded)
};

} // namespace mt
