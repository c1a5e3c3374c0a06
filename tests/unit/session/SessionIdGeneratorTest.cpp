#include "session/SessionIdGenerator.h"

#include <gtest/gtest.h>

#include <array>
#include <stdexcept>
#include <unordered_set>

using mt::SessionIdGenerator;

TEST(SessionIdGenerator, HasRandomPartDotRoute)
{
    SessionIdGenerator ids("node1");
    const std::string id = ids.generate();
    ASSERT_EQ(id.size(), 24u + 1 + 5);
    EXPECT_EQ(id.substr(24), ".node1");
    for (std::size_t i = 0; i < 24; ++i)
        EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(id[i])) || id[i] == '-' || id[i] == '_') << id;
    EXPECT_TRUE(SessionIdGenerator::isWellFormed(id));
}

TEST(SessionIdGenerator, HundredThousandIdsAreUniqueAndUseTheWholeAlphabetEvenly)
{
    SessionIdGenerator ids("n");
    std::unordered_set<std::string> seen;
    std::array<std::size_t, 256> histogram{};
    constexpr std::size_t kIds = 100000;
    seen.reserve(kIds);
    for (std::size_t i = 0; i < kIds; ++i)
    {
        std::string id = ids.generate();
        for (std::size_t c = 0; c < 24; ++c) ++histogram[static_cast<unsigned char>(id[c])];
        ASSERT_TRUE(seen.insert(std::move(id)).second) << "duplicate after " << i;
    }
    // 2.4M characters over 64 symbols: 37500 each expected; a biased encoder
    // or a weak source would be far outside +-5% (that is ~25 sigma).
    std::size_t symbols = 0;
    for (std::size_t count : histogram)
    {
        if (count == 0) continue;
        ++symbols;
        EXPECT_GT(count, 37500 * 95 / 100);
        EXPECT_LT(count, 37500 * 105 / 100);
    }
    EXPECT_EQ(symbols, 64u);
}

TEST(SessionIdGenerator, RejectsMalformedIds)
{
    const std::string good = SessionIdGenerator("node1").generate();
    EXPECT_TRUE(SessionIdGenerator::isWellFormed(good));
    EXPECT_TRUE(SessionIdGenerator::isWellFormed(good.substr(0, 24) + ".other-node.dc1"));

    EXPECT_FALSE(SessionIdGenerator::isWellFormed(""));
    EXPECT_FALSE(SessionIdGenerator::isWellFormed(good.substr(0, 24)));          // no route
    EXPECT_FALSE(SessionIdGenerator::isWellFormed(good.substr(0, 25)));          // empty route
    EXPECT_FALSE(SessionIdGenerator::isWellFormed(good.substr(1)));              // short random part
    EXPECT_FALSE(SessionIdGenerator::isWellFormed("A" + good));                  // long random part
    EXPECT_FALSE(SessionIdGenerator::isWellFormed(good.substr(0, 23) + "+" + good.substr(24)));
    EXPECT_FALSE(SessionIdGenerator::isWellFormed(good.substr(0, 23) + "=" + good.substr(24)));
    EXPECT_FALSE(SessionIdGenerator::isWellFormed(good + "/../x"));
    EXPECT_FALSE(SessionIdGenerator::isWellFormed(good + " "));
    EXPECT_FALSE(SessionIdGenerator::isWellFormed(good + std::string(1, '\0')));
    EXPECT_FALSE(SessionIdGenerator::isWellFormed(good + "%2e"));
    EXPECT_FALSE(SessionIdGenerator::isWellFormed(good + "\xc3\xa9"));

    const std::string longest = good.substr(0, 25) + std::string(200 - 25, 'r');
    EXPECT_TRUE(SessionIdGenerator::isWellFormed(longest));
    EXPECT_FALSE(SessionIdGenerator::isWellFormed(longest + "r")); // 201 chars
}

TEST(SessionIdGenerator, RefusesARouteItsIdsCouldNotCarry)
{
    EXPECT_THROW(SessionIdGenerator(""), std::invalid_argument);
    EXPECT_THROW(SessionIdGenerator("node 1"), std::invalid_argument);
    EXPECT_THROW(SessionIdGenerator("node;1"), std::invalid_argument);
    EXPECT_NO_THROW(SessionIdGenerator("app-2.eu_west"));
}
