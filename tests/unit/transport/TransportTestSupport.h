#pragma once
// Helpers for the TCP transport tests: free loopback ports, configurations,
// a receiver that records, a log channel that captures, raw socket clients.

#include "cluster/ClusterConfig.h"
#include "cluster/TcpClusterTransport.h"

#include "FreePort.h"

#include <Poco/Channel.h>
#include <Poco/Message.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mt::test {

ClusterNode node(const std::string& name, unsigned short clusterPort);

/// Configuration of `local` in a cluster of `nodes`, with short timeouts for tests.
ClusterConfig config(const std::string& local, const std::vector<ClusterNode>& nodes,
                     const std::string& secret = "s3cret");

/// Polls `condition` until it holds or `timeout` passes; true if it held.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = std::chrono::seconds(5));

class Inbox
{
public:
    ClusterTransport::Receiver receiver();
    std::vector<ClusterMessage> messages() const;
    std::size_t size() const;

private:
    mutable std::mutex _mutex;
    std::vector<ClusterMessage> _messages;
};

class CapturingChannel : public Poco::Channel
{
public:
    void log(const Poco::Message& message) override;
    std::vector<std::string> lines(Poco::Message::Priority atMost = Poco::Message::PRIO_TRACE) const;

private:
    mutable std::mutex _mutex;
    std::vector<std::pair<Poco::Message::Priority, std::string>> _lines;
};

/// A blocking client socket to 127.0.0.1:port.
class RawClient
{
public:
    explicit RawClient(unsigned short port);
    ~RawClient();
    void write(const std::string& bytes);
    /// True once the server closed the connection (read returns 0 or an error) within `timeout`.
    bool closedByServer(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    void close();

private:
    int _fd = -1;
};

} // namespace mt::test
