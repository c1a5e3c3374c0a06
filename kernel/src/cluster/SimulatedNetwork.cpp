#include "cluster/SimulatedNetwork.h"

#include <Poco/Exception.h>

#include <algorithm>
#include <sstream>

namespace mt {

class SimulatedNetwork::Endpoint : public ClusterTransport
{
public:
    Endpoint(SimulatedNetwork& network, std::string node) : _network(network), _node(std::move(node)) {}
    ~Endpoint() override { _network.detach(this); }

    void setReceiver(Receiver receiver) override
    {
        std::lock_guard<std::mutex> lock(_network._mutex);
        _receiver = std::make_shared<Receiver>(std::move(receiver));
    }
    void setPeers(const std::vector<ClusterNode>& peers) override
    {
        std::lock_guard<std::mutex> lock(_network._mutex);
        _peers.clear();
        for (const auto& p : peers) _peers.push_back(p.name);
    }
    void start() override
    {
        std::lock_guard<std::mutex> lock(_network._mutex);
        _running = true;
    }
    void stop() override
    {
        std::lock_guard<std::mutex> lock(_network._mutex);
        _running = false;
    }
    void send(const std::string& nodeName, const ClusterMessage& message) override
    {
        _network.send(_node, nodeName, message);
    }
    std::string statsJson() const override
    {
        std::lock_guard<std::mutex> lock(_network._mutex);
        std::ostringstream out;
        out << "{\"sent\":" << _sent << ",\"received\":" << _received << "}";
        return out.str();
    }

    // Guarded by the network's mutex.
    const std::string& node() const { return _node; }
    bool _running = false;
    std::shared_ptr<Receiver> _receiver;
    std::vector<std::string> _peers;
    std::uint64_t _sent = 0;
    std::uint64_t _received = 0;

private:
    SimulatedNetwork& _network;
    std::string _node;
};

SimulatedNetwork::SimulatedNetwork(std::uint64_t seed, TimeMs start) : _random(seed), _now(start) {}

SimulatedNetwork::~SimulatedNetwork() = default;

std::unique_ptr<ClusterTransport> SimulatedNetwork::endpoint(const std::string& node)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_endpoints.count(node))
        throw Poco::InvalidArgumentException("simulated network: node \"" + node + "\" already has an endpoint");
    auto endpoint = std::make_unique<Endpoint>(*this, node);
    _endpoints[node] = endpoint.get();
    return endpoint;
}

void SimulatedNetwork::detach(Endpoint* endpoint)
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto it = _endpoints.find(endpoint->node());
    if (it != _endpoints.end() && it->second == endpoint) _endpoints.erase(it);
}

TimeMs SimulatedNetwork::now() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _now;
}

std::size_t SimulatedNetwork::inFlight() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _queue.size();
}

void SimulatedNetwork::setDefaultLink(const LinkSettings& settings)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _defaultLink = settings;
}

void SimulatedNetwork::setLink(const std::string& from, const std::string& to, const LinkSettings& settings)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _links[{from, to}] = settings;
}

void SimulatedNetwork::partition(const std::vector<std::string>& side1, const std::vector<std::string>& side2)
{
    std::lock_guard<std::mutex> lock(_mutex);
    for (const auto& a : side1)
        for (const auto& b : side2)
        {
            _cuts.insert({a, b});
            _cuts.insert({b, a});
        }
}

void SimulatedNetwork::isolate(const std::string& node)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _isolated.insert(node);
}

void SimulatedNetwork::heal()
{
    std::lock_guard<std::mutex> lock(_mutex);
    _cuts.clear();
    _isolated.clear();
}

bool SimulatedNetwork::connected(const std::string& from, const std::string& to) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return connectedLocked(from, to);
}

bool SimulatedNetwork::connectedLocked(const std::string& from, const std::string& to) const
{
    if (from == to) return true;
    if (_isolated.count(from) || _isolated.count(to)) return false;
    return !_cuts.count({from, to});
}

const SimulatedNetwork::LinkSettings& SimulatedNetwork::linkLocked(const std::string& from,
                                                                   const std::string& to) const
{
    auto it = _links.find({from, to});
    return it != _links.end() ? it->second : _defaultLink;
}

SimulatedNetwork::Stats SimulatedNetwork::stats() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _stats;
}

void SimulatedNetwork::send(const std::string& from, const std::string& to, const ClusterMessage& message)
{
    std::lock_guard<std::mutex> lock(_mutex);
    ++_stats.sent;
    auto self = _endpoints.find(from);
    if (self != _endpoints.end()) ++self->second->_sent;
    const LinkSettings& link = linkLocked(from, to);
    // Draw the same number of values for every message, whatever the
    // outcome, so that changing one probability does not reshuffle the rest.
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    TimeMs lo = std::max<TimeMs>(0, link.delayMinMs);
    TimeMs hi = std::max(lo, link.delayMaxMs);
    std::uniform_int_distribution<TimeMs> delay(lo, hi);
    double dropDraw = unit(_random);
    double dupDraw = unit(_random);
    TimeMs delay1 = delay(_random);
    TimeMs delay2 = delay(_random);
    if (dropDraw < link.dropProbability)
    {
        ++_stats.dropped;
        return;
    }
    _queue.push(InFlight{_now + delay1, _order++, from, to, message});
    if (dupDraw < link.duplicateProbability)
    {
        ++_stats.duplicated;
        _queue.push(InFlight{_now + delay2, _order++, from, to, message});
    }
}

void SimulatedNetwork::advance(TimeMs ms)
{
    TimeMs target;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        target = _now + std::max<TimeMs>(0, ms);
    }
    deliverUntil(target);
}

void SimulatedNetwork::runUntil(TimeMs time)
{
    deliverUntil(time);
}

void SimulatedNetwork::deliverUntil(TimeMs time)
{
    for (;;)
    {
        std::shared_ptr<ClusterTransport::Receiver> receiver;
        InFlight next;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            if (_queue.empty() || _queue.top().due > time)
            {
                _now = std::max(_now, time);
                return;
            }
            next = _queue.top();
            _queue.pop();
            _now = std::max(_now, next.due);
            if (!connectedLocked(next.from, next.to))
            {
                ++_stats.cut;
                continue;
            }
            auto it = _endpoints.find(next.to);
            if (it == _endpoints.end() || !it->second->_running || !it->second->_receiver)
            {
                ++_stats.undeliverable;
                continue;
            }
            ++_stats.delivered;
            ++it->second->_received;
            receiver = it->second->_receiver;
        }
        // Outside the lock: the receiver may send, and what it sends with no
        // delay is delivered within this same call, after what is already due.
        (*receiver)(next.message);
    }
}

} // namespace mt
