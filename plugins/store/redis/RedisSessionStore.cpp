#include "RedisSessionStore.h"

#include "RedisScripts.h"

#include "mt/SessionSerializer.h"

#include <Poco/Logger.h>
#include <Poco/Redis/Type.h>

#include <map>

namespace mt::redis {

namespace {

using Poco::Redis::Array;
using Poco::Redis::BulkString;
using Poco::Redis::Type;

constexpr std::size_t kMaxReported = 10000;

const Array* asArray(const Reply& reply)
{
    auto* array = dynamic_cast<const Type<Array>*>(reply.get());
    return array && !array->value().isNull() ? &array->value() : nullptr;
}

std::int64_t asInt(const Reply& reply)
{
    auto* number = dynamic_cast<const Type<Poco::Int64>*>(reply.get());
    if (!number) throw StoreUnavailable("redis: unexpected reply " + reply->toString().substr(0, 80));
    return number->value();
}

/// Bulk string elements of an array reply (HGETALL, ZRANGE); a null or non-string element is skipped.
std::vector<std::string> strings(const Array& array)
{
    std::vector<std::string> out;
    out.reserve(array.size());
    for (const auto& element : array)
    {
        auto* bulk = dynamic_cast<const Type<BulkString>*>(element.get());
        if (bulk && !bulk->value().isNull()) out.push_back(bulk->value().value());
    }
    return out;
}

std::string ms(TimeMs value)
{
    return std::to_string(value);
}

} // namespace

RedisSessionStore::RedisSessionStore(const PluginContext& context)
    : RedisSessionStore(RedisSettings::from(context.config()), context.scope().empty() ? "/" : context.scope(),
                        context.logger())
{
}

RedisSessionStore::RedisSessionStore(RedisSettings settings, const std::string& scope, Poco::Logger& logger)
    : _settings(std::move(settings)),
      _logger(logger),
      _base(_settings.keyPrefix + ":" + _settings.ns + ":" + scope),
      _index(_base + ":expiry"),
      _grace(std::to_string(std::int64_t(_settings.expiryGraceSeconds) * 1000)),
      _pool(_settings, logger),
      _create(scripts::kCreate),
      _save(scripts::kSave),
      _touch(scripts::kTouch),
      _remove(scripts::kRemove),
      _rename(scripts::kRename),
      _expire(scripts::kExpire)
{
    _logger.information("redis session store for %s at %s, keys %s:s:<id>, pool %d, timeout %d ms", scope,
                        _pool.address(), _base, _settings.poolSize, _settings.timeoutMs);
}

RedisSessionStore::~RedisSessionStore() = default;

void RedisSessionStore::reportUnreadable(const std::string& key, const std::string& reason)
{
    {
        std::lock_guard<std::mutex> lock(_reportedMutex);
        if (_reported.size() >= kMaxReported || !_reported.insert(key).second) return;
    }
    _logger.error("unreadable session record %s skipped (treated as absent): %s", key, reason);
}

SessionStoreAdapter::DataPtr RedisSessionStore::decode(const std::string& id, const Reply& reply)
{
    const Array* array = asArray(reply);
    if (!array || array->size() == 0) return nullptr;
    std::vector<std::string> flat = strings(*array);
    if (flat.size() % 2 != 0)
    {
        reportUnreadable(hashKey(id), "odd number of hash elements");
        return nullptr;
    }
    std::map<std::string, std::string> fields;
    for (std::size_t i = 0; i < flat.size(); i += 2) fields.emplace(std::move(flat[i]), std::move(flat[i + 1]));
    try
    {
        return std::make_shared<const SessionData>(SessionSerializer::fromFields(id, fields));
    }
    catch (const SessionFormatError& e)
    {
        reportUnreadable(hashKey(id), e.what());
        return nullptr;
    }
}

SessionStoreAdapter::DataPtr RedisSessionStore::load(const std::string& id)
{
    Reply reply;
    _pool.run([&](Connection& c) {
        Array command;
        command << "HGETALL" << hashKey(id);
        reply = c.call(command);
    });
    if (reply->isError()) throw StoreUnavailable("redis HGETALL: " + reply->toString());
    return decode(id, reply);
}

bool RedisSessionStore::create(const SessionData& data)
{
    std::vector<std::string> args{data.id, ms(data.lastAccessedTime), _grace};
    for (auto& [name, value] : SessionSerializer::toFields(data))
    {
        args.push_back(std::move(name));
        args.push_back(std::move(value));
    }
    std::int64_t created = 0;
    _pool.run([&](Connection& c) { created = asInt(_create.run(c, {hashKey(data.id), _index}, args)); });
    return created == 1;
}

SessionStoreAdapter::DataPtr RedisSessionStore::save(const SessionDelta& delta)
{
    // ARGV: id, now, grace, node, accessed, maxInactive, baseVersion, nSet, pairs..., removed...
    std::vector<std::string> args{delta.id,
                                  ms(delta.lastAccessedTime),
                                  _grace,
                                  delta.node,
                                  ms(delta.lastAccessedTime),
                                  delta.maxInactiveInterval ? std::to_string(*delta.maxInactiveInterval) : "",
                                  delta.baseVersion ? std::to_string(*delta.baseVersion) : "-1",
                                  std::to_string(delta.setAttributes.size())};
    args.reserve(args.size() + 2 * delta.setAttributes.size() + delta.removedAttributes.size());
    for (const auto& [name, json] : delta.setAttributes)
    {
        args.push_back(name);
        args.push_back(json);
    }
    for (const auto& name : delta.removedAttributes) args.push_back(name);

    Reply reply;
    _pool.run([&](Connection& c) { reply = _save.run(c, {hashKey(delta.id), _index}, args); });
    const Array* result = asArray(reply);
    if (!result || result->size() != 2) return nullptr; // the session is gone
    if (delta.baseVersion && result->get<Poco::Int64>(0) == 1)
    {
        _staleWrites.fetch_add(1, std::memory_order_relaxed);
        _logger.debug("session %s: concurrent write merged (base version %s was not current)", delta.id,
                      std::to_string(*delta.baseVersion));
    }
    Reply fields = new Type<Array>(result->get<Array>(1));
    return decode(delta.id, fields);
}

bool RedisSessionStore::touch(const std::string& id, TimeMs lastAccessedTime)
{
    std::int64_t found = 0;
    _pool.run([&](Connection& c) {
        found = asInt(_touch.run(c, {hashKey(id), _index}, {id, ms(lastAccessedTime), _grace, ms(lastAccessedTime)}));
    });
    return found == 1;
}

bool RedisSessionStore::refresh(const SessionData& loaded, TimeMs now)
{
    // A read only moves the access time forward by a little: write it (and
    // the TTL) only once a fraction of the interval has passed.
    if (loaded.maxInactiveInterval > 0 && now >= loaded.lastAccessedTime &&
        double(now - loaded.lastAccessedTime) < _settings.touchFraction * loaded.maxInactiveInterval * 1000.0)
        return true;
    return touch(loaded.id, now);
}

SessionStoreAdapter::DataPtr RedisSessionStore::remove(const std::string& id)
{
    Reply reply;
    _pool.run([&](Connection& c) { reply = _remove.run(c, {hashKey(id), _index}, {id}); });
    return decode(id, reply);
}

bool RedisSessionStore::rename(const std::string& oldId, const std::string& newId)
{
    if (oldId == newId) return false;
    std::int64_t moved = 0;
    _pool.run([&](Connection& c) { moved = asInt(_rename.run(c, {hashKey(oldId), hashKey(newId), _index}, {oldId, newId})); });
    return moved == 1;
}

std::vector<std::string> RedisSessionStore::list()
{
    Reply reply;
    _pool.run([&](Connection& c) {
        Array command;
        command << "ZRANGE" << _index << "0" << "-1";
        reply = c.call(command);
    });
    const Array* ids = asArray(reply);
    return ids ? strings(*ids) : std::vector<std::string>{};
}

std::size_t RedisSessionStore::count()
{
    std::int64_t n = 0;
    _pool.run([&](Connection& c) {
        Array command;
        command << "ZCARD" << _index;
        n = asInt(c.call(command));
    });
    return n < 0 ? 0 : std::size_t(n);
}

std::vector<SessionData> RedisSessionStore::expire(TimeMs now, std::size_t limit)
{
    if (limit > kMaxExpireBatch) limit = kMaxExpireBatch;
    Reply reply;
    _pool.run([&](Connection& c) {
        reply = _expire.run(c, {_index}, {ms(now), std::to_string(limit), _base + ":s:"});
    });
    std::vector<SessionData> expired;
    const Array* claimed = asArray(reply);
    if (!claimed) return expired;
    for (std::size_t i = 0; i + 1 < claimed->size(); i += 2)
    {
        const std::string id = claimed->get<BulkString>(i).value();
        Reply fields = new Type<Array>(claimed->get<Array>(i + 1));
        if (auto data = decode(id, fields))
            expired.push_back(*data);
        else if (!asArray(fields) || asArray(fields)->size() == 0)
        {
            // Redis' TTL dropped the data before a sweeper came: the session
            // still ended, once, but its attributes are gone.
            SessionData gone;
            gone.id = id;
            gone.lastAccessedTime = now;
            expired.push_back(std::move(gone));
        }
    }
    return expired;
}

std::string RedisSessionStore::healthProblem()
{
    return _pool.problem();
}

} // namespace mt::redis
