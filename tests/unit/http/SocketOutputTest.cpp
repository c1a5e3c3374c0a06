// Unit tests of the connection's write side over a socket pair: the hook
// that runs before bytes leave (where the server counts a request).
#include "http/SocketOutput.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <string>

using namespace mt::http;

namespace {

class SocketOutputTest : public ::testing::Test
{
protected:
    void SetUp() override { ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }
    void TearDown() override
    {
        ::close(fds[0]);
        ::close(fds[1]);
    }

    /// Bytes the peer could read now, without waiting.
    std::string readable()
    {
        char buf[256];
        ssize_t n = ::recv(fds[1], buf, sizeof(buf), MSG_DONTWAIT);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }

    int fds[2] = {-1, -1};
};

} // namespace

TEST_F(SocketOutputTest, TheBeforeSendHookRunsBeforeEveryByteLeavesAndOnlyWithBytesToSend)
{
    SocketOutput out(fds[0]);
    int calls = 0;
    std::string seenByHook = "unset";
    out.setBeforeSend([&] {
        ++calls;
        seenByHook = readable();
    });
    out.flush();
    EXPECT_EQ(calls, 0) << "nothing to send";
    EXPECT_TRUE(out.tryFlush());
    EXPECT_EQ(calls, 0) << "nothing to send";

    out.pending() = "head";
    out.flushWith("body", 4);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(seenByHook, "") << "the hook ran after bytes left";
    EXPECT_EQ(readable(), "headbody");

    out.pending() = "deferred";
    EXPECT_TRUE(out.tryFlush());
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(seenByHook, "") << "the hook ran after bytes left";
    EXPECT_EQ(readable(), "deferred");
}
