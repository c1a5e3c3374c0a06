#include "monitor/ClusterStatusPeers.h"

#include "mt/ThreadName.h"
#include "util/Clock.h"

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <chrono>

namespace mt::monitor {

namespace {

constexpr std::int64_t kIdleAfterMs = 30000;


} // namespace

ClusterStatusPeers::ClusterStatusPeers(std::function<std::vector<Target>()> targets, std::function<bool()> stopping,
                                       int intervalMs, int timeoutMs)
    : _targets(std::move(targets)), _stopping(std::move(stopping)), _intervalMs(intervalMs), _timeoutMs(timeoutMs)
{
}

ClusterStatusPeers::~ClusterStatusPeers()
{
    stop();
}

void ClusterStatusPeers::stop()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _stop = true;
    }
    _wake.notify_all();
    if (_thread.joinable()) _thread.join();
}

void ClusterStatusPeers::demand()
{
    std::lock_guard<std::mutex> lock(_mutex);
    const bool idle = steadyNowMs() - _lastDemandMs > kIdleAfterMs;
    _lastDemandMs = steadyNowMs();
    if (_stop) return;
    if (!_thread.joinable())
        _thread = std::thread([this] {
            nameThisThread("status-peers");
            run();
        });
    else if (idle)
        _wake.notify_all();
}

ClusterStatusPeers::Figures ClusterStatusPeers::figures(const std::string& node) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto it = _figures.find(node);
    return it == _figures.end() ? Figures{} : it->second;
}

void ClusterStatusPeers::run()
{
    while (true)
    {
        {
            std::unique_lock<std::mutex> lock(_mutex);
            // Idle: sleep until demand() wakes us (checking now and then for the stop).
            while (!_stop && steadyNowMs() - _lastDemandMs > kIdleAfterMs)
                _wake.wait_for(lock, std::chrono::milliseconds(200));
            if (_stop) return;
        }
        if (_stopping()) return;
        for (const auto& target : _targets())
        {
            if (_stopping()) return;
            fetch(target);
        }
        std::unique_lock<std::mutex> lock(_mutex);
        // Wake every 100 ms to notice the server stopping (it does not call us).
        for (int waited = 0; waited < _intervalMs && !_stop && !_stopping(); waited += 100)
            _wake.wait_for(lock, std::chrono::milliseconds(100));
        if (_stop || _stopping()) return;
    }
}

void ClusterStatusPeers::fetch(const Target& target)
{
    Poco::JSON::Object::Ptr local;
    std::string error;
    try
    {
        Poco::Net::HTTPClientSession session(target.host, target.port);
        session.setTimeout(Poco::Timespan(0, _timeoutMs * 1000), Poco::Timespan(0, _timeoutMs * 1000),
                           Poco::Timespan(0, _timeoutMs * 1000));
        Poco::Net::HTTPRequest request("GET", "/cluster/status?scope=local", Poco::Net::HTTPMessage::HTTP_1_1);
        request.set("Accept", "application/json");
        session.sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::istream& in = session.receiveResponse(response);
        std::string body;
        Poco::StreamCopier::copyToString(in, body);
        if (response.getStatus() != 200) throw Poco::Exception("HTTP " + std::to_string(response.getStatus()));
        auto json = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
        local = json->getObject("local");
        if (!local) throw Poco::Exception("no local figures in the answer");
    }
    catch (const Poco::Exception& e)
    {
        error = e.displayText();
    }
    catch (const std::exception& e)
    {
        error = e.what();
    }
    std::lock_guard<std::mutex> lock(_mutex);
    auto& f = _figures[target.name];
    if (local)
    {
        f.local = local;
        f.fetchedAtMs = steadyNowMs();
        f.lastAttemptFailed = false;
        f.error.clear();
    }
    else
    {
        f.lastAttemptFailed = true;
        f.error = error;
    }
}

} // namespace mt::monitor
