// Unit tests of the response body's framing and of when its bytes are sent,
// over a socket pair.
#include "http/ResponseBody.h"
#include "http/SocketOutput.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <ostream>
#include <string>

using namespace mt::http;

namespace {

class ResponseBodyTest : public ::testing::Test
{
protected:
    void SetUp() override { ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }
    void TearDown() override
    {
        ::close(fds[0]);
        ::close(fds[1]);
    }

    int fds[2] = {-1, -1};
};

} // namespace

TEST_F(ResponseBodyTest, ChunkedFramesEachWriteAndEndsWithTheLastChunk)
{
    SocketOutput out(fds[0]);
    ResponseBody body(out);
    std::ostream stream(&body);
    body.start(ResponseBody::Mode::Chunked, -1);
    stream << "hello" << std::flush;
    EXPECT_EQ(out.writes(), 1u) << "a flush sends";
    stream << std::string(20, 'x');
    body.finish();
    EXPECT_EQ(out.pending(), "14\r\n" + std::string(20, 'x') + "\r\n0\r\n\r\n");
    char got[64] = {};
    EXPECT_EQ(::read(fds[1], got, sizeof(got)), 10);
    EXPECT_EQ(std::string(got), "5\r\nhello\r\n");
}
