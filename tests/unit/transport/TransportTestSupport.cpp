#include "TransportTestSupport.h"

#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mt::test {

ClusterNode node(const std::string& name, unsigned short clusterPort)
{
    ClusterNode n;
    n.name = name;
    n.host = "127.0.0.1";
    n.clusterPort = clusterPort;
    n.roles = {"app"};
    return n;
}

ClusterConfig config(const std::string& local, const std::vector<ClusterNode>& nodes, const std::string& secret)
{
    ClusterConfig c;
    c.name = "testcluster";
    c.secret = secret;
    c.localNode = local;
    c.nodes = nodes;
    c.heartbeatIntervalMs = 100;
    c.connectTimeoutMs = 300;
    c.reconnectMinMs = 20;
    c.reconnectMaxMs = 200;
    return c;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline)
    {
        if (condition()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return condition();
}

ClusterTransport::Receiver Inbox::receiver()
{
    return [this](const ClusterMessage& m) {
        std::lock_guard<std::mutex> lock(_mutex);
        _messages.push_back(m);
    };
}

std::vector<ClusterMessage> Inbox::messages() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _messages;
}

std::size_t Inbox::size() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _messages.size();
}

void CapturingChannel::log(const Poco::Message& message)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _lines.emplace_back(message.getPriority(), message.getText());
}

std::vector<std::string> CapturingChannel::lines(Poco::Message::Priority atMost) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    std::vector<std::string> out;
    for (const auto& [priority, text] : _lines)
        if (priority <= atMost) out.push_back(text);
    return out;
}

RawClient::RawClient(unsigned short port)
{
    _fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    if (::connect(_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        throw std::runtime_error("cannot connect to port " + std::to_string(port));
}

RawClient::~RawClient()
{
    close();
}

void RawClient::write(const std::string& bytes)
{
    std::size_t done = 0;
    while (done < bytes.size())
    {
        ssize_t n = ::send(_fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n <= 0) return; // the server may already have refused us: that is what some tests expect
        done += static_cast<std::size_t>(n);
    }
}

bool RawClient::closedByServer(std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buffer[256];
    while (std::chrono::steady_clock::now() < deadline)
    {
        pollfd p{_fd, POLLIN, 0};
        if (::poll(&p, 1, 20) > 0)
        {
            ssize_t n = ::recv(_fd, buffer, sizeof buffer, 0);
            if (n <= 0) return true;
        }
    }
    return false;
}

void RawClient::close()
{
    if (_fd >= 0) ::close(_fd);
    _fd = -1;
}

} // namespace mt::test
