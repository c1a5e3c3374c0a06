// ObjectName: parsing, canonical form and pattern matching as JMX does them.
#include "mt/ObjectName.h"

#include <gtest/gtest.h>

using mt::MalformedObjectName;
using mt::ObjectName;

TEST(ObjectNameTest, ParsesDomainAndPropertiesInOrder)
{
    ObjectName name("Catalina:type=Manager,context=/cart,host=localhost");
    EXPECT_EQ(name.domain(), "Catalina");
    ASSERT_EQ(name.properties().size(), 3u);
    EXPECT_EQ(name.properties()[1].first, "context");
    EXPECT_EQ(name.property("context"), "/cart");
    EXPECT_TRUE(name.hasProperty("host"));
    EXPECT_FALSE(name.hasProperty("name"));
    EXPECT_FALSE(name.isPattern());
    EXPECT_EQ(name.toString(), "Catalina:type=Manager,context=/cart,host=localhost");
}

TEST(ObjectNameTest, CanonicalNameSortsKeys)
{
    ObjectName a("Catalina:type=Manager,context=/cart,host=localhost");
    ObjectName b("Catalina:host=localhost,type=Manager,context=/cart");
    EXPECT_EQ(a.canonicalName(), "Catalina:context=/cart,host=localhost,type=Manager");
    EXPECT_EQ(a, b);
    EXPECT_EQ(a.canonicalKeyPropertyList(), "context=/cart,host=localhost,type=Manager");
    EXPECT_EQ(ObjectName("d:b=1,*").canonicalName(), "d:b=1,*");
    EXPECT_EQ(ObjectName("*:*").canonicalName(), "*:*");
}

TEST(ObjectNameTest, QuotedValuesKeepTheirQuotesAndMayHoldSpecials)
{
    ObjectName name("Catalina:type=ThreadPool,name=\"http,nio:8080\"");
    EXPECT_EQ(name.property("name"), "\"http,nio:8080\"");
    EXPECT_EQ(ObjectName::unquote(name.property("name")), "http,nio:8080");
    EXPECT_EQ(ObjectName::quote("a\"b*"), "\"a\\\"b\\*\"");
    EXPECT_EQ(ObjectName::unquote(ObjectName::quote("x\\y?\n")), "x\\y?\n");
    EXPECT_FALSE(ObjectName("d:k=\"a\\*b\"").isPattern()); // an escaped * is literal
}

TEST(ObjectNameTest, RefusesMalformedNames)
{
    for (const char* bad : {"", "nodomain", "d:", "d:k", "d:=v", "d:k=", "d:k=v,", "d:k=v,k=w", "d:k=a=b",
                            "d:k=\"open", "d:k=\"a\"b", "d:k=\"bad\\x\"", "d:*,k=v", "d:k*=v"})
    {
        ObjectName out;
        std::string error;
        EXPECT_FALSE(ObjectName::tryParse(bad, out, &error)) << bad;
        EXPECT_FALSE(error.empty()) << bad;
    }
    EXPECT_THROW(ObjectName("d:k=v,k=v"), MalformedObjectName);
}

TEST(ObjectNameTest, PatternKinds)
{
    EXPECT_TRUE(ObjectName("Cat*:type=Manager").isDomainPattern());
    EXPECT_TRUE(ObjectName("C?talina:type=Manager").isDomainPattern());
    EXPECT_TRUE(ObjectName("Catalina:type=Manager,*").isPropertyListPattern());
    EXPECT_TRUE(ObjectName("Catalina:type=Manager,context=*").isPropertyValuePattern());
    EXPECT_TRUE(ObjectName("Catalina:*").isPattern());
    EXPECT_FALSE(ObjectName("Catalina:type=Manager").isPattern());
}

TEST(ObjectNameTest, MatchingFollowsJmx)
{
    ObjectName cart("Catalina:type=Manager,context=/cart,host=localhost");
    ObjectName pool("Catalina:type=ThreadPool,name=\"http\"");
    EXPECT_TRUE(ObjectName("Catalina:type=Manager,*").matches(cart));
    EXPECT_FALSE(ObjectName("Catalina:type=Manager,*").matches(pool));
    EXPECT_TRUE(ObjectName("*:*").matches(pool));
    EXPECT_TRUE(ObjectName("Cat*:*").matches(pool));
    EXPECT_TRUE(ObjectName("C?talina:*").matches(pool));
    EXPECT_FALSE(ObjectName("C?t:*").matches(pool));
    EXPECT_TRUE(ObjectName("Catalina:type=Manager,context=*,host=localhost").matches(cart));
    EXPECT_TRUE(ObjectName("Catalina:type=Manager,context=/c*,*").matches(cart));
    EXPECT_FALSE(ObjectName("Catalina:type=Manager,context=/x*,*").matches(cart));
    // Without ",*" the key sets must be equal.
    EXPECT_FALSE(ObjectName("Catalina:type=Manager,context=*").matches(cart));
    EXPECT_TRUE(ObjectName("Catalina:type=ThreadPool,name=\"h*\"").matches(pool));
    EXPECT_TRUE(ObjectName("Catalina:name=\"http\",type=ThreadPool").matches(pool)); // order does not matter
    EXPECT_TRUE(cart.matches(cart));
    EXPECT_FALSE(cart.matches(ObjectName("Catalina:type=Manager,*"))); // a pattern is never selected
}

TEST(ObjectNameTest, BuildsFromParts)
{
    ObjectName name("Catalina", {{"type", "Manager"}, {"context", "/"}, {"host", "localhost"}});
    EXPECT_EQ(name.toString(), "Catalina:type=Manager,context=/,host=localhost");
    EXPECT_THROW(ObjectName("Catalina", {{"type", "a,b"}}), MalformedObjectName);
    EXPECT_THROW(ObjectName("Catalina", {}), MalformedObjectName);
}
