// The order the store asks its sentinels in (Sentinel client spec): the one
// that answered first, the others kept; sentinels learnt from an answer's
// list added after them, replaced by the next list, never beyond
// kMaxSentinels; configured ones never dropped.
#include "RedisSentinel.h"

#include <Poco/Logger.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

using mt::redis::Endpoint;
using mt::redis::kMaxSentinels;
using mt::redis::SentinelList;

namespace {

Endpoint at(int port)
{
    return {"10.0.0.1", port};
}

SentinelList listOf(std::vector<Endpoint> configured)
{
    return SentinelList(std::move(configured), "sessions", Poco::Logger::get("test.sentinels"));
}

const std::optional<std::vector<Endpoint>> kNotListed;

} // namespace

TEST(SentinelListTest, TheSentinelThatAnsweredIsAskedFirstAndTheOthersKeepTheirOrder)
{
    SentinelList list = listOf({at(1), at(2), at(3)});
    EXPECT_EQ(list.text(), "10.0.0.1:1,10.0.0.1:2,10.0.0.1:3");
    list.answered(at(3), kNotListed, "SENTINEL SENTINELS refused: NOPERM");
    EXPECT_EQ(list.text(), "10.0.0.1:3,10.0.0.1:1,10.0.0.1:2");
    list.answered(at(2), std::vector<Endpoint>{at(1), at(3)}, "");
    EXPECT_EQ(list.text(), "10.0.0.1:2,10.0.0.1:3,10.0.0.1:1");
}

TEST(SentinelListTest, SentinelsAnAnswerListsAreLearntAfterTheOthersAndReplacedByTheNextList)
{
    SentinelList list = listOf({at(1)});
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

TEST(SentinelListTest, ConfiguredSentinelsStayAndLearntOnesStopAtTheLimit)
{
    std::vector<Endpoint> configured;
    for (int port = 1; port < int(kMaxSentinels); ++port) configured.push_back(at(port));
    SentinelList list = listOf(configured);
    list.answered(at(1), std::vector<Endpoint>{at(100), at(101), at(102)}, "");
    const std::vector<Endpoint> order = list.order();
    ASSERT_EQ(order.size(), kMaxSentinels);
    EXPECT_EQ(order.back(), at(100));
    for (const auto& sentinel : configured)
        EXPECT_NE(std::find(order.begin(), order.end(), sentinel), order.end()) << sentinel.text();

    list.answered(at(2), std::vector<Endpoint>{}, "");
    EXPECT_EQ(list.order().size(), configured.size()) << "the learnt one went, every configured one stayed";
}

TEST(SentinelListTest, IPv6SentinelsAreWrittenInBrackets)
{
    SentinelList list = listOf({{"::1", 26379}});
    list.answered({"::1", 26379}, std::vector<Endpoint>{{"fe80::2", 26380}}, "");
    EXPECT_EQ(list.text(), "[::1]:26379,[fe80::2]:26380");
}
