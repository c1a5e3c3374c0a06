#pragma once
// Shared by the membership tests: a three-node config, a log channel that
// keeps what it is given, and a listener that records the events it hears.

#include "cluster/ClusterConfig.h"
#include "cluster/NodeStatusManager.h"

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>

#include <mutex>
#include <string>
#include <vector>

namespace mt::test {

inline ClusterConfig threeNodeConfig(const std::string& local, int intervalMs = 200, int suspectMs = 600,
                                     int downMs = 1000)
{
    ClusterConfig config;
    config.name = "test-cluster";
    config.secret = "secret";
    config.localNode = local;
    config.heartbeatIntervalMs = intervalMs;
    config.suspectTimeoutMs = suspectMs;
    config.downTimeoutMs = downMs;
    for (int i = 1; i <= 3; ++i)
    {
        ClusterNode node;
        node.name = "node" + std::to_string(i);
        node.host = "127.0.0.1";
        node.httpPort = static_cast<unsigned short>(18080 + i);
        node.clusterPort = static_cast<unsigned short>(19080 + i);
        node.roles = {"app"};
        config.nodes.push_back(node);
    }
    return config;
}

class CapturingChannel : public Poco::Channel
{
public:
    void log(const Poco::Message& message) override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _lines.push_back({message.getPriority(), message.getText()});
    }
    struct Line
    {
        Poco::Message::Priority priority;
        std::string text;
    };
    std::vector<Line> lines() const
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _lines;
    }
    /// Lines containing `needle`.
    std::vector<Line> matching(const std::string& needle) const
    {
        std::vector<Line> out;
        for (const auto& line : lines())
            if (line.text.find(needle) != std::string::npos) out.push_back(line);
        return out;
    }

private:
    mutable std::mutex _mutex;
    std::vector<Line> _lines;
};

/// A logger of its own (Poco loggers are global), writing to a capturing channel.
inline Poco::Logger& capturingLogger(const std::string& name, Poco::AutoPtr<CapturingChannel>& channel,
                                     int level = Poco::Message::PRIO_INFORMATION)
{
    channel = new CapturingChannel;
    Poco::Logger& logger = Poco::Logger::get(name);
    logger.setChannel(channel);
    logger.setLevel(level);
    return logger;
}

class RecordingListener : public NodeStatusListener
{
public:
    struct Call
    {
        std::string kind; ///< "up", "suspect", "down", "left"
        NodeEvent event;
    };
    void onNodeUp(const NodeEvent& e) override { add("up", e); }
    void onNodeSuspect(const NodeEvent& e) override { add("suspect", e); }
    void onNodeDown(const NodeEvent& e) override { add("down", e); }
    void onNodeLeft(const NodeEvent& e) override { add("left", e); }
    std::vector<Call> calls() const
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _calls;
    }

private:
    void add(const char* kind, const NodeEvent& e)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _calls.push_back({kind, e});
    }
    mutable std::mutex _mutex;
    std::vector<Call> _calls;
};

} // namespace mt::test
