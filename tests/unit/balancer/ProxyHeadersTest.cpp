// Hop-by-hop headers, X-Forwarded-*, and parsing upstream response heads.
#include "balancer/ProxyHeaders.h"
#include "balancer/ResponseHead.h"
#include "balancer/SessionRoute.h"

#include <gtest/gtest.h>

using namespace mt::balancer;

TEST(ProxyHeaders, HopByHopFields)
{
    for (const char* h : {"Connection", "keep-alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
                          "Proxy-Authorization", "proxy-connection"})
        EXPECT_TRUE(ProxyHeaders::hopByHop(h, "")) << h;
    EXPECT_FALSE(ProxyHeaders::hopByHop("Cookie", ""));
    EXPECT_TRUE(ProxyHeaders::hopByHop("X-Secret", "close, x-secret"));
    EXPECT_FALSE(ProxyHeaders::hopByHop("X-Secret2", "close, x-secret"));
}

TEST(ProxyHeaders, RequestHeadDropsHopByHopAndAddsForwarded)
{
    Poco::Net::NameValueCollection headers;
    headers.add("Host", "example.org");
    headers.add("Connection", "keep-alive, X-Hop");
    headers.add("X-Hop", "1");
    headers.add("Connection", "X-Second-Hop"); // a second line: the same list
    headers.add("X-Second-Hop", "2");
    headers.add("Keep-Alive", "timeout=5");
    headers.add("TE", "trailers");
    headers.add("Cookie", "JSESSIONID=abc.node1");
    headers.add("X-Forwarded-For", "1.2.3.4");
    headers.add("Content-Length", "5");
    headers.add("Expect", "100-continue");
    std::string head = ProxyHeaders::requestHead("POST", "/cart/add?x=1", headers, "10.0.0.9", "lb:8080",
                                                 ProxyHeaders::Framing::Fixed, 5);
    EXPECT_EQ(head.rfind("POST /cart/add?x=1 HTTP/1.1\r\n", 0), 0u);
    EXPECT_NE(head.find("Host: example.org\r\n"), std::string::npos);
    EXPECT_NE(head.find("Cookie: JSESSIONID=abc.node1\r\n"), std::string::npos);
    EXPECT_NE(head.find("X-Forwarded-For: 1.2.3.4, 10.0.0.9\r\n"), std::string::npos);
    EXPECT_NE(head.find("X-Forwarded-Proto: http\r\n"), std::string::npos);
    EXPECT_NE(head.find("X-Forwarded-Host: example.org\r\n"), std::string::npos);
    EXPECT_NE(head.find("Content-Length: 5\r\n"), std::string::npos);
    for (const char* gone : {"Connection:", "X-Hop:", "X-Second-Hop:", "Keep-Alive:", "TE:", "Expect:"})
        EXPECT_EQ(head.find(gone), std::string::npos) << gone;
    EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");

    Poco::Net::NameValueCollection none;
    head = ProxyHeaders::requestHead("PUT", "/x", none, "10.0.0.9", "lb:8080", ProxyHeaders::Framing::Chunked, 0);
    EXPECT_NE(head.find("Host: lb:8080\r\n"), std::string::npos);
    EXPECT_NE(head.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
    EXPECT_NE(head.find("X-Forwarded-For: 10.0.0.9\r\n"), std::string::npos);
}

TEST(ResponseHead, ParsesFramingAndConnection)
{
    ResponseHead head;
    ASSERT_TRUE(head.parse("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"));
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.contentLength, 12);
    EXPECT_FALSE(head.close);
    EXPECT_EQ(head.headers.size(), 3u);
    ASSERT_TRUE(head.parse("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nConnection: close\r\n"));
    EXPECT_TRUE(head.chunked);
    EXPECT_EQ(head.contentLength, -1);
    EXPECT_TRUE(head.close);
    ASSERT_TRUE(head.parse("HTTP/1.0 200 OK\r\n"));
    EXPECT_TRUE(head.close);
    EXPECT_FALSE(head.hasBody(true));
    ASSERT_TRUE(head.parse("HTTP/1.1 304 Not Modified\r\n"));
    EXPECT_FALSE(head.hasBody(false));
    EXPECT_FALSE(head.parse("SSH-2.0-OpenSSH\r\n"));
    EXPECT_FALSE(head.parse("HTTP/1.1 200 OK\r\nContent-Length: x\r\n"));
    EXPECT_FALSE(head.parse("HTTP/1.1 200 OK\r\nno colon\r\n"));
}

TEST(SessionRoute, SplitsTheRouteSuffix)
{
    EXPECT_EQ(SessionRoute::parse("abc.node2").route, "node2");
    EXPECT_EQ(SessionRoute::parse("abc.node2").id, "abc");
    EXPECT_EQ(SessionRoute::parse("abc").route, "");
    EXPECT_EQ(SessionRoute::parse("abc.").route, "");
    EXPECT_EQ(SessionRoute::parse("a.b.node3").route, "node3");
}
