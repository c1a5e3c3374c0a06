#include "MigrationDetours.h"

#include "CachedWrite.h"
#include "RedisScripts.h"
#include "RedisSocket.h"

#include "mt/SessionStoreAdapter.h"

#include <Poco/Logger.h>
#include <Poco/Redis/Array.h>
#include <Poco/Redis/Type.h>

#include <charconv>
#include <optional>

namespace mt::redis {

namespace {

using Poco::Redis::Array;

constexpr std::size_t kMaxLeftIndexEntries = 10000;
/// Copies a rename makes while the old session keeps being written meanwhile.
constexpr int kMaxCopies = 5;

std::int64_t integer(const Reply& reply, const char* what)
{
    if (auto number = integerValue(reply)) return *number;
    throw StoreUnavailable(std::string("redis ") + what + ": unexpected reply " + printableReply(reply));
}

std::optional<std::int64_t> number(const std::string& text)
{
    std::int64_t value = 0;
    const char* end = text.data() + text.size();
    auto [at, error] = std::from_chars(text.data(), end, value);
    if (error != std::errc() || at != end) return std::nullopt;
    return value;
}

/// The index score for a record's fields: its access time plus its interval,
/// +inf if it never expires. Early (0) if they do not read: the sweep checks
/// the record itself.
std::string expiryOf(const std::vector<std::string>& fields)
{
    std::optional<std::int64_t> accessed, maxInactive;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2)
    {
        if (fields[i] == "accessed") accessed = number(fields[i + 1]);
        else if (fields[i] == "maxInactive") maxInactive = number(fields[i + 1]);
    }
    if (!maxInactive) return "0";
    if (*maxInactive <= 0) return indexScore(0, *maxInactive); // never expires: the access time does not count
    if (!accessed) return "0";
    return indexScore(*accessed, *maxInactive);
}

} // namespace

MigrationDetours::MigrationDetours(RedisPipeline& redis, std::string sessionPrefix, std::string indexKey, Poco::Logger& logger)
    : _redis(redis),
      _sessionPrefix(std::move(sessionPrefix)),
      _index(std::move(indexKey)),
      _logger(logger),
      _createKey(scripts::kCreateKey),
      _removeKey(scripts::kRemoveKey),
      _readForCopy(scripts::kReadForCopy),
      _createCopy(scripts::kCreateCopy),
      _deleteUnchanged(scripts::kDeleteUnchanged)
{
}

bool MigrationDetours::create(const std::string& id, const std::vector<std::string>& args, const std::string& expiry)
{
    // A creation that fails between the two steps leaves a record nobody was
    // given, with its TTL, and no listener has heard of it (created() follows
    // a successful create), so there is no end to announce either.
    if (integer(_createKey.run(_redis, {key(id)}, args), "create") != 1) return false;
    try
    {
        const Reply indexed = _redis.call({"ZADD", _index, expiry, id});
        if (indexed->isError()) throw StoreUnavailable("redis ZADD of the new session's expiry entry: " + errorMessage(indexed));
    }
    catch (const StoreUnavailable&)
    {
        try
        {
            _redis.call({"DEL", key(id)});
        }
        catch (const StoreUnavailable&)
        {
            // Its TTL ends it; nobody holds its id.
        }
        throw;
    }
    return true;
}

Reply MigrationDetours::remove(const std::string& id)
{
    // Reading and deleting the key is the removal: of several callers, one
    // gets the record and fires the listeners.
    Reply fields = _removeKey.run(_redis, {key(id)}, {});
    dropIndexEntry(id);
    return fields;
}

bool MigrationDetours::rename(const std::string& oldId, const std::string& newId)
{
    for (int copy = 0; copy < kMaxCopies; ++copy)
    {
        const Reply read = _readForCopy.run(_redis, {key(oldId)}, {});
        const Array* parts = asArray(read);
        if (!parts || parts->size() != 2) throw StoreUnavailable("redis read for a rename: unexpected reply " + printableReply(read));
        const Array* hash = asArray(*(parts->begin() + 1));
        const std::vector<std::string> fields = hash ? bulkTexts(*hash) : std::vector<std::string>{};
        if (fields.empty()) return false; // the session is gone
        std::string version;
        for (std::size_t i = 0; i + 1 < fields.size(); i += 2)
            if (fields[i] == "version") version = fields[i + 1];

        // The copy: of several callers renaming to one id, one makes it.
        std::vector<std::string> args{std::to_string(integer(*parts->begin(), "read for a rename"))};
        args.insert(args.end(), fields.begin(), fields.end());
        if (integer(_createCopy.run(_redis, {key(newId)}, args), "rename") != 1) return false;
        std::int64_t deleted = 0;
        try
        {
            const Reply indexed = _redis.call({"ZADD", _index, expiryOf(fields), newId});
            if (indexed->isError()) throw StoreUnavailable("redis ZADD of the renamed session's expiry entry: " + errorMessage(indexed));
            deleted = integer(_deleteUnchanged.run(_redis, {key(oldId)}, {version}), "rename");
        }
        catch (const StoreUnavailable&)
        {
            undoCopy(newId);
            throw;
        }
        if (deleted == 1)
        {
            dropIndexEntry(oldId);
            return true;
        }
        // Removed meanwhile (its listeners fired), or written since the copy:
        // the copy goes. A request that found it meanwhile sees it gone.
        undoCopy(newId);
        if (deleted == -1) return false;
    }
    throw StoreUnavailable("redis: session " + oldId + " was written again during each of " + std::to_string(kMaxCopies) +
                           " attempts to rename it while the cluster migrates its slot");
}

void MigrationDetours::undoCopy(const std::string& id)
{
    try
    {
        const Reply deleted = _redis.call({"DEL", key(id)});
        if (deleted->isError()) throw StoreUnavailable(errorMessage(deleted));
    }
    catch (const StoreUnavailable& e)
    {
        _logger.warning("session %s, a copy made by an unfinished rename, is left until its TTL, and its expiry "
                        "ends it as a session of its own: %s",
                        id, std::string(e.what()));
    }
    dropIndexEntry(id);
}

bool MigrationDetours::dropIndexEntry(const std::string& id)
{
    std::string why;
    try
    {
        const Reply dropped = _redis.call({"ZREM", _index, id});
        if (!dropped->isError()) return true;
        why = errorMessage(dropped);
    }
    catch (const StoreUnavailable& e)
    {
        why = e.what();
    }
    std::lock_guard<std::mutex> lock(_leftMutex);
    if (_leftIndexEntries.size() < kMaxLeftIndexEntries)
    {
        _leftIndexEntries.push_back(id);
        _logger.warning("session %s is gone, but not its expiry index entry (%s): dropped before this node's next sweep", id, why);
    }
    else
        _logger.error("session %s is gone, but not its expiry index entry (%s), and %z others are waiting: "
                      "a sweep will end it again, without its data",
                      id, why, _leftIndexEntries.size());
    return false;
}

void MigrationDetours::dropLeftIndexEntries()
{
    std::vector<std::string> left;
    {
        std::lock_guard<std::mutex> lock(_leftMutex);
        left.swap(_leftIndexEntries);
    }
    if (left.empty()) return;
    std::vector<std::string> command{"ZREM", _index};
    command.insert(command.end(), left.begin(), left.end());
    std::string why;
    try
    {
        const Reply dropped = _redis.call(command);
        if (!dropped->isError()) return;
        why = errorMessage(dropped);
    }
    catch (const StoreUnavailable& e)
    {
        why = e.what();
    }
    {
        std::lock_guard<std::mutex> lock(_leftMutex);
        _leftIndexEntries.insert(_leftIndexEntries.end(), left.begin(), left.end());
    }
    throw StoreUnavailable("redis ZREM of " + std::to_string(left.size()) + " ended sessions' expiry index entries: " + why);
}

} // namespace mt::redis
