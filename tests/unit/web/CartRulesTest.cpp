#include "CartRules.h"

#include <gtest/gtest.h>

TEST(CartRules, Sku)
{
    EXPECT_TRUE(cart::validSku("abc-DEF_123"));
    EXPECT_TRUE(cart::validSku(std::string(64, 'x')));
    EXPECT_FALSE(cart::validSku(std::string(65, 'x')));
    EXPECT_FALSE(cart::validSku(""));
    EXPECT_FALSE(cart::validSku("a.b"));
    EXPECT_FALSE(cart::validSku("a b"));
    EXPECT_FALSE(cart::validSku("a\"b"));
    EXPECT_FALSE(cart::validSku("é"));
}

TEST(CartRules, Quantity)
{
    int q = 0;
    EXPECT_TRUE(cart::parseQuantity("", q));
    EXPECT_EQ(1, q);
    EXPECT_TRUE(cart::parseQuantity("7", q));
    EXPECT_EQ(7, q);
    EXPECT_TRUE(cart::parseQuantity("1000", q));
    EXPECT_EQ(1000, q);
    for (const char* bad : {"0", "1001", "-1", "+1", "1.5", "abc", "99999", "1e3", " 1"})
        EXPECT_FALSE(cart::parseQuantity(bad, q)) << bad;
}
