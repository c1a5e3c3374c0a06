#include "RedisInvalidations.h"

#include "MasterLocator.h"
#include "RedisSocket.h"
#include "RedisSubscription.h"

#include "mt/ThreadName.h"

#include <Poco/Logger.h>
#include <Poco/Redis/Array.h>

#include <algorithm>

namespace mt::redis {

namespace {

using Poco::Redis::Array;
using Poco::Redis::Type;

constexpr const char* kChannel = "__redis__:invalidate";

} // namespace

RedisInvalidations::RedisInvalidations(RedisSettings settings, Poco::Logger& logger, Listener listener,
                                       std::shared_ptr<MasterLocator> locator)
    : _settings(std::move(settings)),
      _logger(logger),
      _listener(std::move(listener)),
      _locator(locator ? std::move(locator) : makeLocator(_settings, {}, logger))
{
    _thread = std::thread([this] {
        nameThisThread("redis-invalid");
        run();
    });
}

RedisInvalidations::~RedisInvalidations()
{
    _stop.stop();
    _thread.join();
}

std::string RedisInvalidations::peer() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _peer;
}

std::chrono::steady_clock::time_point RedisInvalidations::subscribedAt() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _subscribedAt;
}

void RedisInvalidations::resubscribe()
{
    _resubscribe = true;
    _stop.wake();
}

void RedisInvalidations::run()
{
    const std::string where = "redis " + _settings.address();
    std::chrono::milliseconds backoff{0};
    bool reported = false;
    for (;;)
    {
        if (_stop.stopping()) return;
        bool asked = false; // by resubscribe(): connect again at once
        try
        {
            // Before the address is resolved (a DNS name, the sentinels, the cluster): what subscribedAt() tells.
            const auto started = std::chrono::steady_clock::now();
            asked = serve(*openStream(_settings, started + std::chrono::milliseconds(_settings.timeoutMs), _locator.get()), started);
        }
        catch (const std::exception& e)
        {
            // Once per outage: a subscriber that was working, or the first failure.
            if (!reported || _clientId.load() != 0)
                _logger.warning("%s: invalidation subscriber: %s (the near cache is off until it is back)", where,
                                std::string(e.what()));
            reported = true;
        }
        if (_clientId.exchange(0) != 0) backoff = std::chrono::milliseconds(0); // it worked: a new outage
        {
            std::lock_guard<std::mutex> lock(_mutex);
            _peer.clear();
            _subscribedAt = {};
        }
        _listener.lost();
        if (asked) continue;
        backoff = backoff.count() == 0 ? std::chrono::milliseconds(50)
                                       : std::min(backoff * 2, std::chrono::milliseconds(_settings.reconnectMaxMs));
        if (!_stop.sleepFor(backoff)) return;
    }
}

bool RedisInvalidations::serve(RedisStream& stream, std::chrono::steady_clock::time_point started)
{
    // A new connection is what a resubscribe() asked for.
    if (_resubscribe.exchange(false) && _stop.consume()) return false;
    RespParser parser;
    const auto setupDeadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(_settings.timeoutMs);
    std::vector<Reply> replies = exchange(stream, parser, {{"CLIENT", "ID"}, {"SUBSCRIBE", kChannel}}, setupDeadline);
    auto* id = dynamic_cast<const Type<Poco::Int64>*>(replies[0].get());
    if (!id || id->value() <= 0) throw RedisSocketError("CLIENT ID gave no id");
    // Entries cached under the previous subscriber were never reported here.
    _listener.lost();
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _peer = stream.peer(); // before the id: a caller that sees the id sees this peer
        _subscribedAt = started;
    }
    _clientId.store(id->value(), std::memory_order_release);

    readSubscribed(stream, parser, _stop.fd(), _settings.timeoutMs, "the invalidation channel", [&](const Array& parts) {
        const Reply& payload = *(parts.begin() + 2);
        auto* keys = dynamic_cast<const Type<Array>*>(payload.get());
        if (!keys || keys->value().isNull())
        {
            // A null payload ($-1 in RESP2): FLUSHALL / FLUSHDB, every key is void.
            _listener.flushed();
            return;
        }
        std::vector<std::string> names;
        for (const auto& key : keys->value()) names.push_back(bulkText(key));
        _listener.keys(names);
    });
    // Woken: a stop, or a resubscribe().
    return !_stop.consume() && _resubscribe.exchange(false);
}

} // namespace mt::redis
