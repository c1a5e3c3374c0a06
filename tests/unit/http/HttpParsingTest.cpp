// Unit tests of the head parser, without sockets.
#include "http/RequestHead.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace mt::http;

namespace {

int parse(const std::string& text, RequestHead& head, int maxFields = 100)
{
    std::size_t scan = 0, headSize = 0, total = 0;
    if (!findHeadEnd(text.data(), text.size(), scan, headSize, total)) return -1;
    return parseRequestHead(text.data(), headSize, maxFields, head);
}

} // namespace

TEST(HttpParsing, FindsHeadEndAcrossCalls)
{
    std::string text = "GET / HTTP/1.1\r\nHost: x\r\n\r";
    std::size_t scan = 0, headSize = 0, total = 0;
    EXPECT_FALSE(findHeadEnd(text.data(), text.size(), scan, headSize, total));
    text += "\nBODY";
    EXPECT_TRUE(findHeadEnd(text.data(), text.size(), scan, headSize, total));
    EXPECT_EQ(text.substr(total), "BODY");
    EXPECT_EQ(headSize, std::string("GET / HTTP/1.1\r\nHost: x\r\n").size());
}

TEST(HttpParsing, AcceptsBareLineFeeds)
{
    RequestHead head;
    ASSERT_EQ(parse("GET /a HTTP/1.0\nHost: x\n\n", head), 0);
    EXPECT_EQ(head.version, "HTTP/1.0");
    EXPECT_EQ(head.headers.get("host"), "x");
}

TEST(HttpParsing, SplitsTarget)
{
    RequestHead head;
    ASSERT_EQ(parse("GET /cart/a%20b;jsessionid=ABC123?x=1&y=%41 HTTP/1.1\r\nHost: x\r\n\r\n", head), 0);
    EXPECT_EQ(head.uri, "/cart/a%20b;jsessionid=ABC123?x=1&y=%41");
    EXPECT_EQ(head.rawPath, "/cart/a%20b");
    EXPECT_EQ(head.path, "/cart/a b");
    EXPECT_EQ(head.query, "x=1&y=%41");
    EXPECT_EQ(head.pathSessionId, "ABC123");
}

TEST(HttpParsing, AbsoluteFormTarget)
{
    RequestHead head;
    ASSERT_EQ(parse("GET http://example.com/p?q HTTP/1.1\r\n\r\n", head), 0);
    EXPECT_EQ(head.path, "/p");
    EXPECT_EQ(head.query, "q");
}

TEST(HttpParsing, RejectsMalformed)
{
    RequestHead h1, h2, h3, h4, h5, h6, h7;
    EXPECT_EQ(parse("GET /%zz HTTP/1.1\r\n\r\n", h1), 400);
    EXPECT_EQ(parse("GET /%00 HTTP/1.1\r\n\r\n", h2), 400);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", h3), 400);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", h4), 400);
    EXPECT_EQ(parse("GET / XTTP/1.1\r\n\r\n", h5), 400);
    EXPECT_EQ(parse("GET / HTTP/2.0\r\n\r\n", h6), 505);
    EXPECT_EQ(parse("GET nopath HTTP/1.1\r\n\r\n", h7), 400);
}

TEST(HttpParsing, FieldLimit)
{
    std::string text = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 5; ++i) text += "X-" + std::to_string(i) + ": v\r\n";
    text += "\r\n";
    RequestHead ok, tooMany;
    EXPECT_EQ(parse(text, ok, 5), 0);
    EXPECT_EQ(parse(text, tooMany, 4), 431);
}

TEST(HttpParsing, DecodesComponents)
{
    std::string out;
    decodeComponent("a+b%3Dc%zz", "a+b%3Dc%zz" + 10, out);
    EXPECT_EQ(out, "a b=c%zz");
}

TEST(HttpParsing, RejectsEarlyNoPrefixOfAValidHead)
{
    // Whatever a read happens to cut off, a head that will be valid is waited for.
    for (const std::string head : {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "POST /a?b=c HTTP/1.0\nContent-Length: 0\n\n",
                                   "OPTIONS * HTTP/1.1\r\n\r\n", "M-SEARCH http://h/p HTTP/1.1\r\n\r\n"})
        for (std::size_t size = 1; size <= head.size(); ++size)
            EXPECT_EQ(rejectEarly(head.data(), size), 0) << head.substr(0, size);
}

TEST(HttpParsing, RejectsEarlyWhatCannotBeginAnHttpRequest)
{
    struct Case
    {
        std::string bytes;
        int status;
    };
    for (const Case& c : std::vector<Case>{
             {"*1\r\n$4\r\nPING\r\n", 400},           // Redis: not a token at its '\r'
             {"*1", 0},                               // still a token: could be a method
             {std::string("\x16\x03\x01", 3), 400},   // TLS ClientHello
             {" GET", 400},                           // no method
             {"GET /\r\n", 400},                      // HTTP/0.9
             {"GET / HTTP/2.0\r\n", 505},
             {"GET / HTTP/1.1 extra\r\n", 400},
         })
        EXPECT_EQ(rejectEarly(c.bytes.data(), c.bytes.size()), c.status) << c.bytes;
}
