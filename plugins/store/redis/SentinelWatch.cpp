#include "SentinelWatch.h"

#include "RedisSubscription.h"

#include <Poco/Logger.h>

#include <algorithm>

namespace mt::redis {

namespace {

constexpr const char* kChannel = "+switch-master";

} // namespace

SentinelWatch::SentinelWatch(RedisSettings settings, SentinelList& sentinels, Poco::Logger& logger, Moved moved)
    : _settings(std::move(settings)), _sentinels(sentinels), _logger(logger), _moved(std::move(moved))
{
    _thread = std::thread([this] { run(); });
}

SentinelWatch::~SentinelWatch()
{
    _stop.stop();
    _thread.join();
}

std::string SentinelWatch::watching() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _watching;
}

void SentinelWatch::run()
{
    const std::string master = "redis master '" + _settings.sentinelMaster + "'";
    std::chrono::milliseconds backoff{0};
    bool reported = false;
    bool listened = false; // to some sentinel before: a failover may have been announced since
    for (;;)
    {
        std::string said;
        for (const Endpoint& sentinel : _sentinels.sentinels())
        {
            if (_stop.stopping()) return;
            try
            {
                serve(sentinel, listened);
                return; // stopping
            }
            catch (const std::exception& e) // RedisSocketError, RespError
            {
                said += (said.empty() ? "" : "; ") + sentinel.text() + ": " + e.what();
                std::lock_guard<std::mutex> lock(_mutex);
                if (!_watching.empty())
                {
                    listened = true;
                    _logger.warning("%s: lost sentinel %s, which it heard failovers from: %s", master, _watching,
                                    std::string(e.what()));
                    _watching.clear();
                    backoff = std::chrono::milliseconds(0);
                    reported = false;
                }
            }
        }
        if (!reported)
            _logger.warning("%s: no sentinel to hear failovers from (%s); trying again with backoff up to %d ms, "
                            "meanwhile a failover is followed when the store's connection fails",
                            master, said, _settings.reconnectMaxMs);
        reported = true;
        backoff = backoff.count() == 0 ? std::chrono::milliseconds(50)
                                       : std::min(backoff * 2, std::chrono::milliseconds(_settings.reconnectMaxMs));
        if (!_stop.sleepFor(backoff)) return;
    }
}

void SentinelWatch::serve(const Endpoint& sentinel, bool catchUp)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(_settings.timeoutMs);
    const auto stream = connectStream(_settings, sentinel.host, sentinel.port, sentinel.text(), deadline);
    RespParser parser;
    const SentinelAnswer answer = askSentinel(*stream, parser, _settings, {"SUBSCRIBE", kChannel}, deadline);
    if (answer.then->isError()) throw RedisSocketError("SUBSCRIBE refused: " + errorMessage(answer.then));
    const Endpoint& now = answer.master;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _watching = sentinel.text();
    }
    const std::string master = "redis master '" + _settings.sentinelMaster + "'";
    _logger.information("%s: hearing failovers from sentinel %s (the master is at %s)", master, sentinel.text(), now.text());
    // A failover announced while no sentinel was listened to. (Not at the
    // first: the store's connections just asked the sentinels themselves.)
    if (catchUp) _moved(now);
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
