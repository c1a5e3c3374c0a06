// The near cache's write block without Redis: which commands a delta
// becomes, and what replies mean (RedisSessionStoreTest runs the same block
// against a real redis-server).
#include "CachedWrite.h"

#include "mt/SessionStoreAdapter.h"

#include <Poco/Redis/Array.h>
#include <Poco/Redis/Type.h>

#include <gtest/gtest.h>

using namespace mt;
using namespace mt::redis;

namespace {

constexpr TimeMs kAt = 1700000000000;
const CachedWrite::Layout kLayout{"mt:ns:/c:s:", "mt:ns:/c:expiry", 0.1, 120};

SessionData base(std::uint64_t version, int maxInactive = 1800)
{
    SessionData d;
    d.id = "abc.n1";
    d.lastAccessedTime = kAt - 1000;
    d.maxInactiveInterval = maxInactive;
    d.version = version;
    d.versionVector.set("n1", version);
    d.attributes["count"] = "1";
    return d;
}

SessionDelta delta(std::uint64_t baseVersion, TimeMs at = kAt)
{
    SessionDelta d;
    d.id = "abc.n1";
    d.node = "n1";
    d.lastAccessedTime = at;
    d.baseVersion = baseVersion;
    d.setAttributes["count"] = "2";
    return d;
}

/// The commands `wire` holds, each as its arguments (parsed back with the RESP parser).
std::vector<std::vector<std::string>> commandsOf(const std::string& wire)
{
    RespParser parser;
    parser.feed(wire.data(), wire.size());
    std::vector<std::vector<std::string>> out;
    while (Reply reply = parser.next())
    {
        auto& array = dynamic_cast<Poco::Redis::Type<Poco::Redis::Array>&>(*reply).value();
        std::vector<std::string> args;
        for (const auto& element : array)
            args.push_back(dynamic_cast<const Poco::Redis::Type<Poco::Redis::BulkString>&>(*element).value().value());
        out.push_back(std::move(args));
    }
    return out;
}

std::vector<std::string> namesOf(const std::string& wire)
{
    std::vector<std::string> names;
    for (const auto& command : commandsOf(wire)) names.push_back(command.at(0));
    return names;
}

/// What Redis answers to a block: +OK, +QUEUED per command, then `exec` (RESP text).
std::vector<Reply> replies(std::size_t queued, const std::string& exec)
{
    std::string text = "+OK\r\n";
    for (std::size_t i = 0; i < queued; ++i) text += "+QUEUED\r\n";
    text += exec;
    RespParser parser;
    parser.feed(text.data(), text.size());
    std::vector<Reply> out;
    while (Reply reply = parser.next()) out.push_back(std::move(reply));
    return out;
}

} // namespace

TEST(CachedWrite, AFirstWriteAsksForTheRecordAndSetsTtlAndIndexWithTheMargin)
{
    const CachedWrite write = CachedWrite::prepare(delta(0), base(0), 0, kLayout);
    const auto commands = commandsOf(write.wire);
    EXPECT_EQ(namesOf(write.wire), (std::vector<std::string>{"MULTI", "HEXISTS", "HINCRBY", "HINCRBY", "HSET", "PEXPIRE",
                                                             "ZADD", "EXEC"}));
    EXPECT_EQ(commands[1], (std::vector<std::string>{"HEXISTS", "mt:ns:/c:s:abc.n1", "created"}));
    EXPECT_EQ(commands[4], (std::vector<std::string>{"HSET", "mt:ns:/c:s:abc.n1", "accessed", std::to_string(kAt),
                                                     "a:count", "2"}));
    EXPECT_EQ(commands[5][2], std::to_string(1800000 + 180000 + 120000)) << "interval + touchFraction + grace";
    EXPECT_EQ(commands[6], (std::vector<std::string>{"ZADD", "mt:ns:/c:expiry", std::to_string(kAt + 1800000), "abc.n1"}));
    EXPECT_EQ(write.names.size(), commands.size());
    EXPECT_EQ(write.indexedAtMs, kAt);
    EXPECT_EQ(write.next->attributes.at("count"), "2");
}

TEST(CachedWrite, WithinTheFractionOnlyDataAndAccessTime)
{
    const TimeMs indexedAt = kAt - 179000; // the fraction of 1800 s is 180 s
    const CachedWrite write = CachedWrite::prepare(delta(3), base(3), indexedAt, kLayout);
    EXPECT_EQ(namesOf(write.wire), (std::vector<std::string>{"MULTI", "HEXISTS", "HINCRBY", "HINCRBY", "HSET", "EXEC"}));
    EXPECT_EQ(write.indexedAtMs, indexedAt);

    const CachedWrite later = CachedWrite::prepare(delta(3), base(3), kAt - 180000, kLayout);
    EXPECT_EQ(namesOf(later.wire),
              (std::vector<std::string>{"MULTI", "HEXISTS", "HINCRBY", "HINCRBY", "HSET", "PEXPIRE", "ZADD", "EXEC"}));
    EXPECT_EQ(later.indexedAtMs, kAt);

    const CachedWrite clockBack = CachedWrite::prepare(delta(3), base(3), kAt + 5000, kLayout);
    EXPECT_EQ(namesOf(clockBack.wire).size(), 8u) << "an index written 'in the future' is refreshed";
}

TEST(CachedWrite, InAClusterTheBlockKeepsToTheSessionsKeyAndANewIntervalMovesTheEntryEarlierFirst)
{
    CachedWrite::Layout cluster = kLayout;
    cluster.keyOnly = true;
    const CachedWrite write = CachedWrite::prepare(delta(3), base(3), 0, cluster);
    EXPECT_EQ(namesOf(write.wire), (std::vector<std::string>{"MULTI", "HEXISTS", "HINCRBY", "HINCRBY", "HSET", "PEXPIRE", "EXEC"}));
    for (const auto& command : commandsOf(write.wire))
    {
        if (command.size() > 1)
        {
            EXPECT_EQ(command[1], "mt:ns:/c:s:abc.n1") << command[0] << ": another key";
        }
    }
    EXPECT_EQ(write.indexedAtMs, kAt) << "the TTL is set with the margin";
    EXPECT_TRUE(write.indexFirst.empty());
    EXPECT_EQ(namesOf(CachedWrite::prepare(delta(3), base(3), kAt - 1000, cluster).wire),
              (std::vector<std::string>{"MULTI", "HEXISTS", "HINCRBY", "HINCRBY", "HSET", "EXEC"}));

    // A shorter interval would leave the entry late: the sweep would come
    // after the TTL. The entry is moved first, and only ever earlier.
    SessionDelta shorter = delta(3);
    shorter.maxInactiveInterval = 60;
    const CachedWrite changed = CachedWrite::prepare(shorter, base(3), kAt - 1000, cluster);
    EXPECT_EQ(namesOf(changed.wire), (std::vector<std::string>{"MULTI", "HEXISTS", "HINCRBY", "HINCRBY", "HSET", "PEXPIRE", "EXEC"}));
    EXPECT_EQ(changed.indexFirst,
              (std::vector<std::string>{"ZADD", "mt:ns:/c:expiry", "XX", "LT", std::to_string(kAt + 60000), "abc.n1"}));
    // Never expiring: an entry at +inf is never earlier; the sweep moves it there.
    SessionDelta never = delta(3);
    never.maxInactiveInterval = 0;
    EXPECT_TRUE(CachedWrite::prepare(never, base(3), kAt - 1000, cluster).indexFirst.empty());
    EXPECT_TRUE(CachedWrite::prepare(shorter, base(3), kAt - 1000, kLayout).indexFirst.empty()) << "not outside a cluster";
}

TEST(CachedWrite, RemovalsAndANeverExpiringIntervalChange)
{
    SessionDelta d = delta(3);
    d.removedAttributes = {"cart", "user"};
    d.maxInactiveInterval = 0;
    const CachedWrite write = CachedWrite::prepare(d, base(3), kAt - 1000, kLayout);
    const auto commands = commandsOf(write.wire);
    EXPECT_EQ(namesOf(write.wire), (std::vector<std::string>{"MULTI", "HEXISTS", "HINCRBY", "HINCRBY", "HSET", "HDEL",
                                                             "PERSIST", "ZADD", "EXEC"}));
    EXPECT_EQ(commands[4], (std::vector<std::string>{"HSET", "mt:ns:/c:s:abc.n1", "accessed", std::to_string(kAt),
                                                     "maxInactive", "0", "a:count", "2"}));
    EXPECT_EQ(commands[5], (std::vector<std::string>{"HDEL", "mt:ns:/c:s:abc.n1", "a:cart", "a:user"}));
    EXPECT_EQ(commands[7][2], "+inf");
}

TEST(CachedWrite, RepliesSaySavedStaleOrGone)
{
    CachedWrite write = CachedWrite::prepare(delta(3), base(3), kAt, kLayout); // HEXISTS, HINCRBY, HINCRBY, HSET
    EXPECT_EQ(write.outcome(replies(4, "*4\r\n:1\r\n:4\r\n:7\r\n:0\r\n")), CachedWrite::Outcome::Saved);
    EXPECT_EQ(write.next->version, 4u);
    EXPECT_EQ(write.next->versionVector.get("n1"), 7u) << "Redis' vv counter is the truth";

    write = CachedWrite::prepare(delta(3), base(3), kAt, kLayout);
    EXPECT_EQ(write.outcome(replies(4, "*4\r\n:1\r\n:5\r\n:4\r\n:0\r\n")), CachedWrite::Outcome::Stale) << "someone wrote v4";
    EXPECT_EQ(write.outcome(replies(4, "*4\r\n:0\r\n:1\r\n:1\r\n:2\r\n")), CachedWrite::Outcome::Gone)
        << "no record: the block made a hash anew";
    EXPECT_EQ(write.outcome(replies(4, "*4\r\n:0\r\n:4\r\n:1\r\n:0\r\n")), CachedWrite::Outcome::Gone)
        << "a partial hash another block made (its version 3 looks like the base): still no record";

    const CachedWrite first = CachedWrite::prepare(delta(0), base(0), 0, kLayout);
    EXPECT_EQ(first.outcome(replies(6, "*6\r\n:1\r\n:1\r\n:1\r\n:0\r\n:1\r\n:1\r\n")), CachedWrite::Outcome::Saved);
    EXPECT_EQ(first.outcome(replies(6, "*6\r\n:0\r\n:1\r\n:1\r\n:2\r\n:1\r\n:1\r\n")), CachedWrite::Outcome::Gone);
}

TEST(CachedWrite, AFailedTransactionIsStoreUnavailableNamingTheCommand)
{
    const CachedWrite write = CachedWrite::prepare(delta(3), base(3), kAt, kLayout);
    try
    {
        write.outcome(replies(4, "*4\r\n:1\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n:1\r\n:0\r\n"));
        FAIL() << "no exception";
    }
    catch (const StoreUnavailable& e)
    {
        EXPECT_NE(std::string(e.what()).find("HINCRBY"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("WRONGTYPE"), std::string::npos) << e.what();
    }
    EXPECT_THROW(write.outcome(replies(4, "-EXECABORT Transaction discarded because of previous errors.\r\n")),
                 StoreUnavailable);
    EXPECT_THROW(write.outcome(replies(4, "*3\r\n:1\r\n:4\r\n:1\r\n")), StoreUnavailable) << "too few results";
    EXPECT_THROW(write.outcome(replies(4, "*4\r\n:1\r\n+OK\r\n:1\r\n:0\r\n")), StoreUnavailable) << "a result of another type";
    EXPECT_THROW(write.outcome({}), StoreUnavailable);
}

TEST(CachedWrite, AnIndexScoreIsTheExpiryInMsOrInfinityForNever)
{
    EXPECT_EQ(indexScore(1796000000000, 1800), "1796001800000");
    EXPECT_EQ(indexScore(1796000000000, 0), "+inf");
    EXPECT_EQ(indexScore(1796000000000, -1), "+inf");
}
