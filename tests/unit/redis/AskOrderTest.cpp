// The order the store asks its sentinels or cluster nodes in (Redis's client
// guidelines): the one that answered first, the others kept; those learnt
// from an answer's list added after them, replaced by the next list, never
// beyond kMaxEndpoints; configured ones never dropped. And the cluster slot
// of a key, which decides which master a store's keys live on.
#include "AskOrder.h"
#include "RedisCluster.h"

#include <Poco/Logger.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

using mt::redis::Endpoint;
using mt::redis::kMaxEndpoints;
using mt::redis::AskOrder;
using mt::redis::keySlot;

namespace {

Endpoint at(int port)
{
    return {"10.0.0.1", port};
}

AskOrder listOf(std::vector<Endpoint> configured)
{
    return AskOrder(std::move(configured), "test sentinels", Poco::Logger::get("test.sentinels"));
}

const std::optional<std::vector<Endpoint>> kNotListed;

} // namespace

TEST(AskOrderTest, TheSentinelThatAnsweredIsAskedFirstAndTheOthersKeepTheirOrder)
{
    AskOrder list = listOf({at(1), at(2), at(3)});
    EXPECT_EQ(list.text(), "10.0.0.1:1,10.0.0.1:2,10.0.0.1:3");
    list.answered(at(3), kNotListed, "SENTINEL SENTINELS refused: NOPERM");
    EXPECT_EQ(list.text(), "10.0.0.1:3,10.0.0.1:1,10.0.0.1:2");
    list.answered(at(2), std::vector<Endpoint>{at(1), at(3)}, "");
    EXPECT_EQ(list.text(), "10.0.0.1:2,10.0.0.1:3,10.0.0.1:1");
}

TEST(AskOrderTest, TheSentinelThatAnnouncedAFailoverIsAskedFirstAndNothingElseChanges)
{
    AskOrder list = listOf({at(1), at(2)});
    list.answered(at(1), std::vector<Endpoint>{at(2), at(3)}, "");
    list.prefer(at(3));
    EXPECT_EQ(list.text(), "10.0.0.1:3,10.0.0.1:1,10.0.0.1:2");
    list.prefer(at(3));
    EXPECT_EQ(list.text(), "10.0.0.1:3,10.0.0.1:1,10.0.0.1:2") << "already first";
    // One it did not know of (listened to before a list replaced it): asked first, and kept.
    list.prefer(at(9));
    EXPECT_EQ(list.text(), "10.0.0.1:9,10.0.0.1:3,10.0.0.1:1,10.0.0.1:2");
}

TEST(AskOrderTest, SentinelsAnAnswerListsAreLearntAfterTheOthersAndReplacedByTheNextList)
{
    AskOrder list = listOf({at(1)});
    list.answered(at(1), std::vector<Endpoint>{at(2), at(3), at(2)}, "");
    EXPECT_EQ(list.text(), "10.0.0.1:1,10.0.0.1:2,10.0.0.1:3") << "each once";

    // A learnt one answers: it goes first too; what it does not list is
    // dropped, unless configured.
    list.answered(at(3), std::vector<Endpoint>{at(4)}, "");
    EXPECT_EQ(list.text(), "10.0.0.1:3,10.0.0.1:1,10.0.0.1:4");
    // One that will not list the others changes nothing but the order.
    list.answered(at(1), kNotListed, "SENTINEL SENTINELS refused: NOPERM");
    EXPECT_EQ(list.text(), "10.0.0.1:1,10.0.0.1:3,10.0.0.1:4");
    // An empty list is a list: only the configured and the answering one stay.
    list.answered(at(4), std::vector<Endpoint>{}, "");
    EXPECT_EQ(list.text(), "10.0.0.1:4,10.0.0.1:1");
    list.answered(at(1), std::vector<Endpoint>{}, "");
    EXPECT_EQ(list.text(), "10.0.0.1:1");
}

TEST(AskOrderTest, ConfiguredSentinelsStayAndLearntOnesStopAtTheLimit)
{
    std::vector<Endpoint> configured;
    for (int port = 1; port < int(kMaxEndpoints); ++port) configured.push_back(at(port));
    AskOrder list = listOf(configured);
    list.answered(at(1), std::vector<Endpoint>{at(100), at(101), at(102)}, "");
    const std::vector<Endpoint> order = list.order();
    ASSERT_EQ(order.size(), kMaxEndpoints);
    EXPECT_EQ(order.back(), at(100));
    for (const auto& sentinel : configured)
        EXPECT_NE(std::find(order.begin(), order.end(), sentinel), order.end()) << sentinel.text();

    list.answered(at(2), std::vector<Endpoint>{}, "");
    EXPECT_EQ(list.order().size(), configured.size()) << "the learnt one went, every configured one stayed";
}

TEST(AskOrderTest, IPv6SentinelsAreWrittenInBrackets)
{
    AskOrder list = listOf({{"::1", 26379}});
    list.answered({"::1", 26379}, std::vector<Endpoint>{{"fe80::2", 26380}}, "");
    EXPECT_EQ(list.text(), "[::1]:26379,[fe80::2]:26380");
}

TEST(AskOrderTest, EachInTurnGetsAnEqualShareOfTheTimeLeftAndTheErrorSaysWhatEachSaid)
{
    AskOrder list = listOf({at(1), at(2), at(3)});
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::milliseconds(900);
    std::vector<long long> shares;
    const Endpoint found = list.firstAnswer(
        deadline,
        [&](const Endpoint& e, mt::redis::Deadline share) {
            shares.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(share - start).count());
            if (e.port != 3) throw mt::redis::RedisSocketError("refused");
            return Endpoint{"master", e.port * 100};
        },
        "none");
    EXPECT_EQ(found.port, 300);
    ASSERT_EQ(shares.size(), 3u);
    // Nothing took time: a third of 900 ms, half of what was left, all of it.
    EXPECT_NEAR(shares[0], 300, 50);
    EXPECT_NEAR(shares[1], 450, 50);
    EXPECT_NEAR(shares[2], 900, 50);

    try
    {
        list.firstAnswer(deadline, [](const Endpoint&, mt::redis::Deadline) -> Endpoint { throw mt::redis::RedisSocketError("refused"); },
                         "no sentinel named the master");
        FAIL() << "no answer must throw";
    }
    catch (const mt::redis::RedisSocketError& e)
    {
        EXPECT_STREQ(e.what(), "no sentinel named the master: 10.0.0.1:1: refused; 10.0.0.1:2: refused; 10.0.0.1:3: refused");
    }
}

TEST(ClusterSlotTest, IsRedisesCrc16OfTheHashTagOrTheKey)
{
    // The examples of the Redis Cluster specification; the numbers are
    // what redis-server 7.0's CLUSTER KEYSLOT answers for them.
    EXPECT_EQ(keySlot("123456789"), 0x31C3 & 16383);
    EXPECT_EQ(keySlot("123456789"), 12739);
    EXPECT_EQ(keySlot("foo"), 12182);
    EXPECT_EQ(keySlot("{user1000}.following"), keySlot("user1000"));
    EXPECT_EQ(keySlot("{user1000}.followers"), keySlot("user1000"));
    EXPECT_EQ(keySlot("foo{}{bar}"), 8363) << "an empty tag: the whole key";
    EXPECT_EQ(keySlot("foo{{bar}}zap"), 4015) << "the tag is '{bar'";
    EXPECT_EQ(keySlot("{bar"), 4015);
    EXPECT_EQ(keySlot("foo{bar}{zap}"), 5061) << "the first tag only";
    EXPECT_EQ(keySlot("bar"), 5061);
    EXPECT_EQ(keySlot("{mt:default:/cart}:s:Xy.node1"), 7335);
    // Every key of one store shares its base's slot.
    const std::string base = "{mt:default:/cart}";
    EXPECT_EQ(keySlot(base + ":s:Xy.node1"), keySlot(base + ":expiry"));
}
