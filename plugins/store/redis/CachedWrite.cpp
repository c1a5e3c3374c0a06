#include "CachedWrite.h"

#include "RedisSocket.h"

#include "mt/SessionSerializer.h"
#include "mt/SessionStoreAdapter.h"

#include <Poco/Redis/Array.h>
#include <Poco/Redis/Type.h>

namespace mt::redis {
namespace {

std::string ms(TimeMs value)
{
    return std::to_string(value);
}

std::int64_t marginMs(int maxInactive, double touchFraction)
{
    return std::int64_t(touchFraction * double(maxInactive) * 1000.0);
}

/// Whether a write at delta.lastAccessedTime sets the TTL and index again.
bool expiryDue(const SessionDelta& delta, std::int64_t indexedAtMs, int maxInactive, double touchFraction)
{
    // Unknown (loaded, created, written by a script: those set the TTL
    // without the margin), or the interval changes: now.
    if (indexedAtMs <= 0 || delta.maxInactiveInterval) return true;
    if (maxInactive <= 0) return false; // persisted and indexed at +inf already
    const std::int64_t margin = marginMs(maxInactive, touchFraction);
    // A clock that went back (or another node's, ahead) refreshes too.
    return margin <= 0 || delta.lastAccessedTime < indexedAtMs || delta.lastAccessedTime - indexedAtMs >= margin;
}

} // namespace

CachedWrite CachedWrite::prepare(const SessionDelta& delta, const SessionData& base, std::int64_t indexedAtMs,
                                 const Layout& layout)
{
    CachedWrite write;
    write.id = delta.id;
    write.node = delta.node;
    write.baseVersion = base.version;
    // The record as it will be if nobody wrote since `base`: kept if so.
    write.next = std::make_shared<SessionData>(base);
    delta.applyTo(*write.next);
    write.next->lastAccessedTime = delta.lastAccessedTime;

    // Encoded straight into one buffer: this runs for every request.
    const std::string key = layout.sessionPrefix + delta.id;
    const int maxInactive = write.next->maxInactiveInterval;
    const TimeMs at = delta.lastAccessedTime;
    const std::string atText = ms(at);
    write.names.reserve(10);
    std::string& w = write.wire;
    w.reserve(256 + 64 * (delta.setAttributes.size() + delta.removedAttributes.size()));
    auto command = [&](const char* name, std::initializer_list<std::string_view> args) {
        appendCommandHeader(w, args.size() + 1);
        appendArgument(w, name);
        for (auto arg : args) appendArgument(w, arg);
        write.names.push_back(name);
    };
    command("MULTI", {});
    command("HEXISTS", {key, "created"});
    command("HINCRBY", {key, "version", "1"});
    command("HINCRBY", {key, SessionSerializer::kVersionVectorPrefix + delta.node, "1"});

    appendCommandHeader(w, 4 + (delta.maxInactiveInterval ? 2 : 0) + 2 * delta.setAttributes.size());
    for (std::string_view arg : {std::string_view("HSET"), std::string_view(key), std::string_view("accessed"), std::string_view(atText)})
        appendArgument(w, arg);
    if (delta.maxInactiveInterval)
    {
        appendArgument(w, "maxInactive");
        appendArgument(w, std::to_string(maxInactive));
    }
    for (const auto& [name, json] : delta.setAttributes)
    {
        appendArgument(w, SessionSerializer::kAttributePrefix + name);
        appendArgument(w, json);
    }
    write.names.push_back("HSET");
    if (!delta.removedAttributes.empty())
    {
        appendCommandHeader(w, 2 + delta.removedAttributes.size());
        appendArgument(w, "HDEL");
        appendArgument(w, key);
        for (const auto& name : delta.removedAttributes) appendArgument(w, SessionSerializer::kAttributePrefix + name);
        write.names.push_back("HDEL");
    }
    write.indexedAtMs = indexedAtMs;
    if (expiryDue(delta, indexedAtMs, maxInactive, layout.touchFraction))
    {
        const bool indexed = !layout.keyOnly;
        write.indexedAtMs = at;
        if (maxInactive > 0)
        {
            const TimeMs left = TimeMs(maxInactive) * 1000;
            command("PEXPIRE", {key, ms(left + marginMs(maxInactive, layout.touchFraction) + TimeMs(layout.expiryGraceSeconds) * 1000)});
            if (indexed)
                command("ZADD", {layout.indexKey, ms(at + left), delta.id});
            else if (delta.maxInactiveInterval)
                write.indexFirst = {"ZADD", layout.indexKey, "XX", "LT", ms(at + left), delta.id};
        }
        else
        {
            command("PERSIST", {key});
            if (indexed) command("ZADD", {layout.indexKey, "+inf", delta.id});
        }
    }
    command("EXEC", {});
    return write;
}

CachedWrite::Outcome CachedWrite::outcome(const std::vector<Reply>& replies) const
{
    const Poco::Redis::Array* results = replies.empty() ? nullptr : asArray(replies.back());
    if (!results || results->size() != names.size() - 2)
    {
        // EXECABORT (a command refused while queued) or no transaction at
        // all. The first error is the cause (OOM, ...); EXECABORT only follows.
        std::string why = replies.empty() ? "no reply" : printableReply(replies.back());
        for (std::size_t i = 0; i < replies.size(); ++i)
            if (replies[i]->isError())
            {
                why = (i < names.size() ? std::string(names[i]) + " refused: " : std::string()) + errorMessage(replies[i]);
                break;
            }
        throw StoreUnavailable("redis MULTI/EXEC save failed: " + why);
    }
    for (std::size_t i = 0; i < results->size(); ++i)
    {
        const Reply& result = *(results->begin() + std::ptrdiff_t(i));
        if (result->isError())
            throw StoreUnavailable(std::string("redis ") + names[i + 1] + " in save: " + errorMessage(result));
    }
    try
    {
        if (results->get<Poco::Int64>(0) == 0) return Outcome::Gone;
        const auto version = std::uint64_t(results->get<Poco::Int64>(1));
        if (version != baseVersion + 1) return Outcome::Stale;
        // Redis' counters are the truth (this node's vv entry moves only here).
        next->version = version;
        next->versionVector.set(node, std::uint64_t(results->get<Poco::Int64>(2)));
        return Outcome::Saved;
    }
    catch (const Poco::Exception& e) // BadCast: a reply of another shape
    {
        throw StoreUnavailable("redis MULTI/EXEC save: unexpected reply (" + e.displayText() + ")");
    }
}

std::string indexScore(std::int64_t accessedMs, std::int64_t maxInactiveSeconds)
{
    return maxInactiveSeconds > 0 ? std::to_string(accessedMs + maxInactiveSeconds * 1000) : std::string("+inf");
}

} // namespace mt::redis
