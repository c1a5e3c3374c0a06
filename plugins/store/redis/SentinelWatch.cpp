#include "SentinelWatch.h"

#include "RedisSubscription.h"

#include "mt/ThreadName.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <system_error>

namespace mt::redis {

namespace {

constexpr const char* kChannel = "+switch-master";

} // namespace

SentinelWatch::SentinelWatch(RedisSettings settings, SentinelList& sentinels, Poco::Logger& logger, Moved moved)
    : _settings(std::move(settings)), _sentinels(sentinels), _logger(logger), _moved(std::move(moved))
{
    _thread = std::thread([this] {
        nameThisThread("sentinel-watch");
        run();
    });
}

SentinelWatch::~SentinelWatch()
{
    _stop.stop();
    _thread.join();
}

std::string SentinelWatch::watching() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    std::string text;
    for (const auto& sentinel : _watching) text += (text.empty() ? "" : ", ") + sentinel;
    return text;
}

void SentinelWatch::run()
{
    for (;;)
    {
        {
            std::lock_guard<std::mutex> lock(_mutex);
            for (auto it = _listeners.begin(); it != _listeners.end();)
            {
                if (it->second.done)
                {
                    it->second.thread.join();
                    it = _listeners.erase(it);
                }
                else
                    ++it;
            }
            for (const Endpoint& sentinel : _sentinels.sentinels())
            {
                if (_listeners.size() >= kMaxListened) break;
                if (_listeners.count(sentinel.text())) continue;
                try
                {
                    _listeners[sentinel.text()].thread = std::thread([this, sentinel] {
                        nameThisThread("sentinel-hear");
                        listen(sentinel);
                    });
                }
                catch (const std::system_error& e) // no thread to be had: tried again next round
                {
                    _listeners.erase(sentinel.text());
                    _logger.error("redis master '%s': no thread to hear failovers from sentinel %s: %s",
                                  _settings.sentinelMaster, sentinel.text(), std::string(e.what()));
                }
            }
        }
        // Sentinels join the list as the store's connections learn them.
        if (!_stop.sleepFor(std::chrono::seconds(1))) break;
    }
    std::map<std::string, Listener> listeners;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        listeners.swap(_listeners);
    }
    for (auto& [sentinel, listener] : listeners) listener.thread.join();
}

void SentinelWatch::listen(const Endpoint& sentinel)
{
    const std::string master = "redis master '" + _settings.sentinelMaster + "'";
    std::chrono::milliseconds backoff{0};
    bool reported = false;
    while (!_stop.stopping())
    {
        try
        {
            serve(sentinel);
            break; // stopping
        }
        catch (const std::exception& e) // RedisSocketError, RespError
        {
            if (listening(sentinel.text(), false))
            {
                _logger.warning("%s: lost sentinel %s, which it heard failovers from: %s", master, sentinel.text(),
                                std::string(e.what()));
                backoff = std::chrono::milliseconds(0);
                reported = true;
            }
            if (!reported)
                _logger.warning("%s: cannot hear failovers from sentinel %s (%s); trying again with backoff up to %d ms",
                                master, sentinel.text(), std::string(e.what()), _settings.reconnectMaxMs);
            reported = true;
        }
        const auto listed = _sentinels.sentinels();
        if (std::none_of(listed.begin(), listed.end(), [&](const Endpoint& e) { return e.text() == sentinel.text(); }))
            break; // no longer one of them
        backoff = backoff.count() == 0 ? std::chrono::milliseconds(50)
                                       : std::min(backoff * 2, std::chrono::milliseconds(_settings.reconnectMaxMs));
        if (!_stop.sleepFor(backoff)) break;
    }
    std::lock_guard<std::mutex> lock(_mutex);
    const auto self = _listeners.find(sentinel.text()); // gone when run() is joining them all
    if (self != _listeners.end()) self->second.done = true;
}

bool SentinelWatch::listening(const std::string& sentinel, bool on)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (on) return _watching.insert(sentinel).second;
    if (_watching.erase(sentinel) == 0) return false;
    if (_watching.empty())
        _logger.warning("redis master '%s': no sentinel to hear failovers from; meanwhile a failover is followed when "
                        "the store's connection fails",
                        _settings.sentinelMaster);
    return true;
}

void SentinelWatch::serve(const Endpoint& sentinel)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(_settings.timeoutMs);
    const auto stream = connectStream(_settings, sentinel.host, sentinel.port, sentinel.text(), deadline);
    RespParser parser;
    const SentinelAnswer answer = askSentinel(*stream, parser, _settings, {"SUBSCRIBE", kChannel}, deadline);
    if (answer.then->isError()) throw RedisSocketError("SUBSCRIBE refused: " + errorMessage(answer.then));
    const Endpoint& now = answer.master;
    listening(sentinel.text(), true);
    const std::string master = "redis master '" + _settings.sentinelMaster + "'";
    _logger.information("%s: hearing failovers from sentinel %s (the master is at %s)", master, sentinel.text(), now.text());
    // A failover announced while it did not listen. Nothing moves when the
    // store is there already.
    _moved(now);
    readSubscribed(*stream, parser, _stop.fd(), _settings.timeoutMs, "sentinel " + sentinel.text() + "'s " + kChannel,
                   [&](const Poco::Redis::Array& parts) {
                       const std::string payload = bulkText(*(parts.begin() + 2));
                       std::optional<Endpoint> to;
                       try
                       {
                           to = switchedMasterIn(payload, _settings.sentinelMaster);
                       }
                       catch (const RedisSocketError& e)
                       {
                           _logger.warning("%s: sentinel %s: %s (ignored)", master, sentinel.text(), std::string(e.what()));
                           return;
                       }
                       if (!to) return; // another master the sentinel watches
                       _logger.notice("%s: sentinel %s announces a failover, the master is at %s now", master,
                                      sentinel.text(), to->text());
                       _sentinels.announced(sentinel);
                       _moved(*to);
                   });
}

} // namespace mt::redis
