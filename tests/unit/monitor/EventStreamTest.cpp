#include "cluster/ClusterRegistry.h"
#include "cluster/DefaultFailureDetector.h"
#include "cluster/NodeStatusManager.h"
#include "monitor/EventStream.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <gtest/gtest.h>

#include <functional>
#include <sstream>

using namespace mt;
using mt::monitor::EventStream;

namespace {

/// One SSE message: its fields (id, event, data) as written.
struct Message
{
    std::string id, event, data, comment;
};

std::vector<Message> parse(const std::string& text)
{
    std::vector<Message> out;
    std::size_t pos = 0;
    while (pos < text.size())
    {
        auto end = text.find("\n\n", pos);
        if (end == std::string::npos) end = text.size();
        std::istringstream block(text.substr(pos, end - pos));
        Message m;
        std::string line;
        while (std::getline(block, line))
        {
            if (line.rfind("id: ", 0) == 0) m.id = line.substr(4);
            else if (line.rfind("event: ", 0) == 0) m.event = line.substr(7);
            else if (line.rfind("data: ", 0) == 0) m.data = line.substr(6);
            else if (line.rfind(":", 0) == 0) m.comment = line.substr(1);
        }
        out.push_back(m);
        pos = end + 2;
    }
    return out;
}

std::vector<std::string> ids(const std::vector<Message>& messages)
{
    std::vector<std::string> out;
    for (const auto& m : messages)
        if (!m.id.empty()) out.push_back(m.id);
    return out;
}

class EventStreamTest : public ::testing::Test
{
protected:
    explicit EventStreamTest(std::size_t capacity = 10000)
        : registry(std::vector<ClusterNode>{}),
          detector(DefaultFailureDetector::Params{}),
          log(registry, detector, "self", Poco::Logger::get("test.monitor"), capacity)
    {
    }

    std::uint64_t record(const std::string& node, NodeStatus to)
    {
        NodeEvent e;
        e.time = 1'795'000'000'000;
        e.node = node;
        e.from = NodeStatus::Up;
        e.to = to;
        e.incarnation = 7;
        e.reason = "test \"quoted\"\nnewline";
        return log.recordEvent(e);
    }

    /// Runs a stream from `since`; `onPoll(n)` runs before poll n, and the stream stops before poll `polls`.
    std::string follow(std::uint64_t since, int polls, const std::function<void(int)>& onPoll = {},
                       EventStream::Options options = fastOptions())
    {
        std::ostringstream out;
        int n = 0;
        EventStream stream([this](std::uint64_t s, std::size_t limit) { return log.eventsSince(s, limit); },
                           [&] {
                               if (onPoll) onPoll(n);
                               return ++n > polls;
                           },
                           options);
        written = stream.run(out, since);
        return out.str();
    }

    static EventStream::Options fastOptions()
    {
        EventStream::Options o;
        o.pollMs = 1;
        o.keepAliveMs = 60000;
        return o;
    }

    ClusterRegistry registry;
    DefaultFailureDetector detector;
    NodeStatusManager log;
    std::uint64_t written = 0;
};

class SmallLogEventStreamTest : public EventStreamTest
{
protected:
    SmallLogEventStreamTest() : EventStreamTest(3) {}
};

/// A client that went away: every write fails.
class BrokenBuf : public std::streambuf
{
protected:
    int_type overflow(int_type) override { return traits_type::eof(); }
    std::streamsize xsputn(const char*, std::streamsize) override { return 0; }
    int sync() override { return -1; }
};

} // namespace

TEST_F(EventStreamTest, SendsTheEventsAfterSinceWithTheirSequenceAsId)
{
    record("node2", NodeStatus::Suspect);
    record("node2", NodeStatus::Down);
    record("node2", NodeStatus::Up);
    auto messages = parse(follow(1, 2));
    EXPECT_EQ(ids(messages), (std::vector<std::string>{"2", "3"}));
    EXPECT_EQ(written, 2u);
    ASSERT_GE(messages.size(), 2u);
    EXPECT_EQ(messages.front().comment.find(" events after 1"), 0u) << "the stream opens with retry and a comment";
    auto data = Poco::JSON::Parser().parse(messages[1].data).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(data->getValue<int>("sequence"), 2);
    EXPECT_EQ(data->getValue<std::string>("node"), "node2");
    EXPECT_EQ(data->getValue<std::string>("from"), "UP");
    EXPECT_EQ(data->getValue<std::string>("to"), "DOWN");
    EXPECT_EQ(data->getValue<std::string>("reason"), "test \"quoted\"\nnewline");
}

TEST_F(EventStreamTest, EventsRecordedWhileFollowingArriveOnceEachInOrder)
{
    record("node1", NodeStatus::Up);
    auto text = follow(0, 8, [this](int poll) {
        if (poll == 2) record("node2", NodeStatus::Down);
        if (poll == 4)
        {
            record("node2", NodeStatus::Up);
            record("node3", NodeStatus::Left);
        }
    });
    EXPECT_EQ(ids(parse(text)), (std::vector<std::string>{"1", "2", "3", "4"}));
}

TEST_F(EventStreamTest, ResumingFromTheLastIdGivesExactlyTheMissedEvents)
{
    for (int i = 0; i < 5; ++i) record("node2", i % 2 ? NodeStatus::Up : NodeStatus::Down);
    auto first = ids(parse(follow(0, 1)));
    ASSERT_EQ(first.size(), 5u);
    record("node2", NodeStatus::Down);
    record("node2", NodeStatus::Up);
    EXPECT_EQ(ids(parse(follow(3, 1))), (std::vector<std::string>{"4", "5", "6", "7"}));
    EXPECT_EQ(ids(parse(follow(7, 2))), std::vector<std::string>{});
}

TEST_F(EventStreamTest, MoreThanAPageIsSentWhole)
{
    for (int i = 0; i < 1234; ++i) record("n", NodeStatus::Up);
    auto got = ids(parse(follow(0, 4))); // pages of 500: three polls
    ASSERT_EQ(got.size(), 1234u);
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], std::to_string(i + 1));
}

TEST_F(SmallLogEventStreamTest, AClientBehindTheRetentionIsToldSoThenGetsWhatIsLeft)
{
    for (int i = 0; i < 5; ++i) record("node2", NodeStatus::Up); // the log keeps 3, 4, 5
    auto messages = parse(follow(1, 1));
    ASSERT_GE(messages.size(), 2u);
    const Message* truncated = nullptr;
    for (const auto& m : messages)
        if (m.event == "truncated") truncated = &m;
    ASSERT_NE(truncated, nullptr) << follow(1, 1);
    EXPECT_TRUE(truncated->id.empty()) << "the notice must not move the client's Last-Event-ID";
    auto data = Poco::JSON::Parser().parse(truncated->data).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(data->getValue<int>("since"), 1);
    EXPECT_EQ(data->getValue<int>("firstAvailable"), 3);
    EXPECT_EQ(data->getValue<int>("latest"), 5);
    EXPECT_EQ(ids(messages), (std::vector<std::string>{"3", "4", "5"}));
    // Caught up with the retention: no notice.
    EXPECT_EQ(follow(2, 1).find("truncated"), std::string::npos);
}

TEST_F(EventStreamTest, IdleStreamSendsKeepAliveComments)
{
    auto options = fastOptions();
    options.keepAliveMs = 0;
    auto text = follow(0, 3, {}, options);
    EXPECT_NE(text.find(": keep-alive\n\n"), std::string::npos);
}

TEST_F(EventStreamTest, EndsWhenTheClientIsGone)
{
    record("node2", NodeStatus::Down);
    BrokenBuf broken;
    std::ostream out(&broken);
    int polls = 0;
    EventStream stream([this](std::uint64_t s, std::size_t limit) { return log.eventsSince(s, limit); },
                       [&] { return ++polls > 1000; }, fastOptions());
    stream.run(out, 0);
    EXPECT_LT(polls, 5) << "a failed write must end the stream, not wait for the server to stop";
}

TEST(EventStreamFormat, TruncatedNoticeNamesTheGap)
{
    auto text = EventStream::formatTruncated(4, 10, 12);
    EXPECT_EQ(text.rfind("event: truncated\ndata: ", 0), 0u);
    EXPECT_NE(text.find("events 5..9 are no longer in the event log"), std::string::npos);
    EXPECT_EQ(text.substr(text.size() - 2), "\n\n");
}
