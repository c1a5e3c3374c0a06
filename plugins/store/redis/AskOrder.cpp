#include "AskOrder.h"

#include <Poco/Logger.h>

#include <algorithm>

namespace mt::redis {

AskOrder::AskOrder(std::vector<Endpoint> configured, std::string what, Poco::Logger& logger)
    : _configured(std::move(configured)), _what(std::move(what)), _logger(logger), _order(_configured)
{
}

std::vector<Endpoint> AskOrder::order() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _order;
}

std::string AskOrder::text() const
{
    return joinEndpoints(order());
}

bool AskOrder::configured(const Endpoint& endpoint) const
{
    return std::find(_configured.begin(), _configured.end(), endpoint) != _configured.end();
}

void AskOrder::answered(const Endpoint& answering, const std::optional<std::vector<Endpoint>>& others,
                        const std::string& why)
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto listed = [&](const Endpoint& e) { return others && std::find(others->begin(), others->end(), e) != others->end(); };
    std::vector<Endpoint> next{answering}, learnt, dropped;
    for (const auto& e : _order)
    {
        if (e == answering) continue;
        if (configured(e) || !others || listed(e))
            next.push_back(e);
        else
            dropped.push_back(e);
    }
    if (others)
        for (const auto& e : *others)
            if (std::find(next.begin(), next.end(), e) == next.end() && next.size() < kMaxEndpoints)
            {
                next.push_back(e);
                learnt.push_back(e);
            }
    _order = std::move(next);
    if (!learnt.empty())
        _logger.information("%s: %s listed %s, asked from now on too", _what, answering.text(), joinEndpoints(learnt));
    if (!dropped.empty())
        _logger.information("%s: %s no longer lists %s, not asked any more", _what, answering.text(), joinEndpoints(dropped));
    if (!others && !_listRefused)
        _logger.warning("%s: %s did not list the others (%s): only those configured and learnt so far are asked", _what,
                        answering.text(), why);
    _listRefused = !others;
}

void AskOrder::prefer(const Endpoint& first)
{
    std::lock_guard<std::mutex> lock(_mutex);
    const auto at = std::find(_order.begin(), _order.end(), first);
    if (at != _order.end())
        std::rotate(_order.begin(), at, at + 1);
    else if (_order.size() < kMaxEndpoints)
        _order.insert(_order.begin(), first);
}

Endpoint AskOrder::firstAnswer(Deadline deadline, const std::function<Endpoint(const Endpoint&, Deadline)>& ask,
                               const std::string& none) const
{
    std::string said;
    const std::vector<Endpoint> asked = order();
    for (std::size_t i = 0; i < asked.size(); ++i)
    {
        const auto now = std::chrono::steady_clock::now();
        const Deadline share = now + std::max(deadline - now, Deadline::duration::zero()) / int(asked.size() - i);
        try
        {
            return ask(asked[i], share);
        }
        catch (const std::exception& e) // RedisSocketError, RespError
        {
            said += (said.empty() ? "" : "; ") + asked[i].text() + ": " + e.what();
        }
    }
    throw RedisSocketError(none + ": " + said);
}

} // namespace mt::redis
