#include "TransportTestSupport.h"

#include "cluster/FrameCodec.h"
#include "cluster/TcpClusterTransport.h"

#include <Poco/AutoPtr.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

using namespace mt;
using namespace mt::test;
using namespace std::chrono_literals;
using Error = FrameCodec::Error;

namespace {

std::atomic<int> loggerCount{0};

// One transport under test with its own captured log.
struct Node
{
    Node(const ClusterConfig& config, TcpTransportOptions options = {})
        : channel(new CapturingChannel),
          logger(Poco::Logger::get("test.transport." + std::to_string(++loggerCount)))
    {
        logger.setChannel(channel);
        logger.setLevel(Poco::Message::PRIO_INFORMATION);
        transport = std::make_unique<TcpClusterTransport>(config, logger, options);
        transport->setReceiver(inbox.receiver());
        std::vector<ClusterNode> peers;
        for (const auto& n : config.nodes)
            if (n.name != config.localNode) peers.push_back(n);
        transport->setPeers(peers);
    }

    bool warned(const std::string& a, const std::string& b) const
    {
        for (const auto& line : channel->lines(Poco::Message::PRIO_WARNING))
            if (line.find(a) != std::string::npos && line.find(b) != std::string::npos) return true;
        return false;
    }

    Poco::AutoPtr<CapturingChannel> channel;
    Poco::Logger& logger;
    Inbox inbox;
    std::unique_ptr<TcpClusterTransport> transport;
};

ClusterMessage heartbeat(std::uint64_t n, const std::string& payload = "")
{
    ClusterMessage m;
    m.type = MessageType::Heartbeat;
    m.incarnation = n;
    m.payload = payload;
    return m;
}

/// Node "a" of a cluster of one, started, with the given idle timeout.
std::unique_ptr<Node> startedAlone(int idleTimeoutMs)
{
    TcpTransportOptions options;
    options.idleTimeoutMs = idleTimeoutMs;
    auto a = std::make_unique<Node>(config("a", {node("a", freePort())}), options);
    a->transport->start();
    return a;
}

} // namespace

TEST(TcpClusterTransport, TwoNodesExchangeMessagesBothWaysInOrder)
{
    std::vector<ClusterNode> nodes = {node("a", freePort()), node("b", freePort())};
    Node a(config("a", nodes)), b(config("b", nodes));
    a.transport->start();
    b.transport->start();
    const int count = 200;
    for (int i = 0; i < count; ++i)
    {
        a.transport->send("b", heartbeat(i, "from a"));
        b.transport->send("a", heartbeat(i, "from b"));
    }
    ASSERT_TRUE(eventually([&] { return a.inbox.size() == count && b.inbox.size() == count; }))
        << a.inbox.size() << " " << b.inbox.size() << "\n" << a.transport->statsJson();
    auto atB = b.inbox.messages();
    for (int i = 0; i < count; ++i)
    {
        EXPECT_EQ(atB[i].incarnation, static_cast<std::uint64_t>(i));
        EXPECT_EQ(atB[i].sender, "a");
        EXPECT_EQ(atB[i].cluster, "testcluster");
        EXPECT_EQ(atB[i].payload, "from a");
    }
    EXPECT_EQ(a.inbox.messages().back().sender, "b");
    auto stats = a.transport->stats();
    EXPECT_EQ(stats.sent, static_cast<std::uint64_t>(count));
    EXPECT_EQ(stats.received, static_cast<std::uint64_t>(count));
    EXPECT_EQ(stats.connectedPeers, 1u);

    Poco::JSON::Parser parser;
    auto json = parser.parse(a.transport->statsJson()).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(json->getValue<int>("sent"), count);
    EXPECT_EQ(json->getObject("rejected")->getValue<int>("bad_signature"), 0);
    EXPECT_EQ(json->getValue<int>("connected_peers"), 1);
}

TEST(TcpClusterTransport, PeerStartingLaterIsReachedAfterReconnectAndTheQueueDropsTheOldest)
{
    std::vector<ClusterNode> nodes = {node("a", freePort()), node("b", freePort())};
    TcpTransportOptions small;
    small.queueCapacity = 4;
    Node a(config("a", nodes), small);
    a.transport->start();
    ASSERT_TRUE(eventually([&] { return a.transport->stats().connectFailures >= 2; }));
    for (int i = 0; i < 10; ++i) a.transport->send("b", heartbeat(i));
    EXPECT_EQ(a.transport->stats().droppedQueueFull, 6u);

    Node b(config("b", nodes));
    b.transport->start();
    ASSERT_TRUE(eventually([&] { return b.inbox.size() == 4; })) << a.transport->statsJson();
    auto got = b.inbox.messages();
    for (int i = 0; i < 4; ++i) EXPECT_EQ(got[i].incarnation, static_cast<std::uint64_t>(6 + i));
    EXPECT_GE(a.transport->stats().reconnects, 1u);

    // The peer restarts: the connection is re-established and traffic resumes.
    b.transport.reset();
    Node b2(config("b", nodes));
    b2.transport->start();
    ASSERT_TRUE(eventually([&] {
        a.transport->send("b", heartbeat(99));
        return b2.inbox.size() > 0;
    }));
    EXPECT_GE(a.transport->stats().reconnects, 2u);
}

class TcpRejection : public ::testing::Test
{
protected:
    void SetUp() override
    {
        nodes = {node("a", freePort()), node("b", freePort())};
        a = std::make_unique<Node>(config("a", nodes));
        b = std::make_unique<Node>(config("b", nodes));
        a->transport->start();
        b->transport->start();
        codec = std::make_unique<FrameCodec>("testcluster", "s3cret", 1 << 20);
    }

    std::string goodFrame(std::uint64_t n)
    {
        ClusterMessage m = heartbeat(n);
        m.cluster = "testcluster";
        m.sender = "raw";
        m.sentAtMs = ++stamp; // newer than the last: not a replay
        return codec->encode(m);
    }

    // Sends `bytes` from a raw client, expects the refusal counted, logged and
    // the connection closed, then checks the node still accepts good frames.
    void expectRejected(const std::string& bytes, Error reason, bool closeAfterWriting = false)
    {
        auto before = b->transport->stats().rejectedFor(reason);
        {
            RawClient client(b->transport->listenPort());
            client.write(bytes);
            if (closeAfterWriting) client.close();
            else EXPECT_TRUE(client.closedByServer()) << FrameCodec::toString(reason);
            ASSERT_TRUE(eventually([&] { return b->transport->stats().rejectedFor(reason) == before + 1; }))
                << FrameCodec::toString(reason) << "\n" << b->transport->statsJson();
        }
        EXPECT_TRUE(b->warned("127.0.0.1:", FrameCodec::toString(reason)));

        std::size_t received = b->inbox.size();
        RawClient good(b->transport->listenPort());
        good.write(goodFrame(received));
        ASSERT_TRUE(eventually([&] { return b->inbox.size() == received + 1; }));
        a->transport->send("b", heartbeat(1000));
        ASSERT_TRUE(eventually([&] { return b->inbox.size() == received + 2; }));
    }

    std::vector<ClusterNode> nodes;
    std::unique_ptr<Node> a, b;
    std::unique_ptr<FrameCodec> codec;
    std::uint64_t stamp = 0;
};

TEST_F(TcpRejection, TruncatedFrameThenClose)
{
    expectRejected(goodFrame(1).substr(0, 20), Error::Truncated, true);
}

TEST_F(TcpRejection, OversizedHeader)
{
    std::string header("MTCF\x01\x01\x00\x00\x00\x4c\x4b\x40", 12); // body of 5,000,000 bytes
    expectRejected(header + std::string(1000, 'x'), Error::Oversized);
    EXPECT_TRUE(b->warned("exceeds the limit of 1048576", "127.0.0.1:"));
}

TEST_F(TcpRejection, WrongVersion)
{
    std::string frame = goodFrame(1);
    frame[4] = 7;
    expectRejected(frame, Error::UnsupportedVersion);
}

TEST_F(TcpRejection, WronglySigned)
{
    FrameCodec intruder("testcluster", "guessed-secret", 1 << 20);
    ClusterMessage m = heartbeat(1);
    m.cluster = "testcluster";
    m.sender = "intruder";
    expectRejected(intruder.encode(m), Error::BadSignature);
}

TEST_F(TcpRejection, BadMagicAfterAGoodFrame)
{
    std::size_t before = b->inbox.size();
    expectRejected(goodFrame(1) + "GET / HTTP/1.1\r\n\r\n", Error::BadMagic);
    EXPECT_GE(b->inbox.size(), before + 1);
}

TEST_F(TcpRejection, WrongClusterAndUnknownType)
{
    ClusterMessage m = heartbeat(1);
    m.cluster = "othercluster";
    m.sender = "stranger";
    expectRejected(codec->encode(m), Error::WrongCluster);
    std::string good = goodFrame(1);
    std::string body = good.substr(FrameCodec::HeaderSize, good.size() - FrameCodec::HeaderSize - FrameCodec::MacSize);
    expectRejected(codec->frameRawBody(200, body), Error::UnknownType);
}

TEST(TcpClusterTransport, SilentInboundConnectionsAreClosed)
{
    auto lone = startedAlone(150);
    Node& a = *lone;
    RawClient silent(a.transport->listenPort());
    EXPECT_TRUE(silent.closedByServer(3s));
    EXPECT_EQ(a.transport->stats().idleTimeouts, 1u);
    EXPECT_TRUE(eventually([&] { return a.transport->stats().inboundOpen == 0; }));
}

TEST(TcpClusterTransport, TopologyChangesConnectAndDisconnect)
{
    std::vector<ClusterNode> nodes = {node("a", freePort()), node("b", freePort()), node("c", freePort())};
    Node a(config("a", {nodes[0], nodes[1]}));
    Node b(config("b", {nodes[1]})), c(config("c", {nodes[2]})); // listeners only
    a.transport->start();
    b.transport->start();
    c.transport->start();
    ASSERT_TRUE(eventually([&] { return a.transport->stats().connectedPeers == 1; }));

    a.transport->send("c", heartbeat(1));
    EXPECT_EQ(a.transport->stats().droppedUnknownPeer, 1u);

    a.transport->setPeers({nodes[2]}); // b removed, c added
    ASSERT_TRUE(eventually([&] { return b.transport->stats().inboundOpen == 0; }));
    a.transport->send("c", heartbeat(2));
    ASSERT_TRUE(eventually([&] { return c.inbox.size() == 1; })) << a.transport->statsJson() << "\n" << c.transport->statsJson();
    EXPECT_EQ(a.transport->stats().connectedPeers, 1u);
    a.transport->send("b", heartbeat(3));
    EXPECT_EQ(a.transport->stats().droppedUnknownPeer, 2u);
}

TEST(TcpClusterTransport, StopIsPromptAndIdempotent)
{
    std::vector<ClusterNode> nodes = {node("a", freePort()), node("b", freePort()), node("gone", freePort())};
    Node a(config("a", nodes)), b(config("b", nodes));
    a.transport->start();
    b.transport->start();
    ASSERT_TRUE(eventually([&] { return a.transport->stats().connectedPeers == 1; }));
    RawClient idle(a.transport->listenPort());
    for (int i = 0; i < 1000; ++i) a.transport->send("gone", heartbeat(i)); // never deliverable

    a.transport->send("b", heartbeat(7)); // queued just before stop: flushed, not lost
    auto started = std::chrono::steady_clock::now();
    a.transport->stop();
    auto took = std::chrono::steady_clock::now() - started;
    EXPECT_LT(took, 1s);
    a.transport->stop();
    EXPECT_TRUE(eventually([&] { return b.inbox.size() == 1; }));
    EXPECT_TRUE(idle.closedByServer(1s));
    a.transport->send("b", heartbeat(8)); // after stop: dropped, no crash
}

TEST(TcpClusterTransport, StartFailsClearlyWhenThePortIsTaken)
{
    std::vector<ClusterNode> nodes = {node("a", freePort())};
    Node first(config("a", nodes)), second(config("a", nodes));
    first.transport->start();
    try
    {
        second.transport->start();
        FAIL() << "second listener on the same port started";
    }
    catch (const Poco::IOException& e)
    {
        EXPECT_NE(e.message().find("127.0.0.1:" + std::to_string(nodes[0].clusterPort)), std::string::npos)
            << e.message();
    }
}

TEST(TcpClusterTransport, AFrameTrickledAByteAtATimeMustStillBeWholeWithinTheIdleTimeout)
{
    // Each byte resets the idle timer; the frame's own deadline does not
    // move, or one client per slot could hold every slot for ever.
    auto lone = startedAlone(300);
    Node& a = *lone;
    RawClient slow(a.transport->listenPort());
    std::string header("MTCF\x01\x01\x00\x00\x00\x00\x10\x00", 12); // a 4 KB body to come
    slow.write(header);
    std::atomic<bool> closed{false};
    std::thread trickle([&] {
        for (int i = 0; i < 40 && !closed; ++i) // at most 4 s
        {
            slow.write("x");
            std::this_thread::sleep_for(100ms); // the client's pace, well inside the idle timeout
        }
    });
    const auto start = std::chrono::steady_clock::now();
    const bool closedInTime = slow.closedByServer(3s);
    closed = true;
    trickle.join();
    EXPECT_TRUE(closedInTime);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_EQ(a.transport->stats().rejectedFor(Error::Truncated), 1u);
    EXPECT_EQ(a.transport->stats().idleTimeouts, 0u) << "it was never idle";
    EXPECT_TRUE(a.warned("not completed within 300 ms", "127.0.0.1:"));
}

TEST(TcpClusterTransport, AtTheConnectionLimitAConnectionThatNeverAuthenticatedMakesRoomForAPeer)
{
    std::vector<ClusterNode> nodes = {node("a", freePort()), node("b", freePort())};
    TcpTransportOptions options;
    options.maxInboundConnections = 3;
    options.idleTimeoutMs = 10000; // the squatters are not timed out during the test
    Node b(config("b", nodes), options);
    b.transport->start();
    std::vector<std::unique_ptr<RawClient>> squatters;
    for (int i = 0; i < 3; ++i) squatters.push_back(std::make_unique<RawClient>(b.transport->listenPort()));
    ASSERT_TRUE(eventually([&] { return b.transport->stats().inboundOpen == 3; }));

    // The peer's connection takes the oldest squatter's slot, and its
    // heartbeat arrives. Its own idle timeout is as long, so that it keeps
    // that connection (and slot) for the rest of the test.
    Node a(config("a", nodes), options);
    a.transport->start();
    a.transport->send("b", heartbeat(7));
    ASSERT_TRUE(eventually([&] { return b.inbox.size() == 1; })) << b.transport->statsJson();
    EXPECT_TRUE(squatters[0]->closedByServer(2s));
    EXPECT_TRUE(b.warned("no authenticated frame yet", "to make room"));

    // Authenticated connections are never evicted: with every slot taken by
    // one, a newcomer is refused instead.
    FrameCodec codec("testcluster", "s3cret", 1 << 20);
    ClusterMessage m = heartbeat(8);
    m.cluster = "testcluster";
    m.sender = "a";
    for (std::size_t i = 1; i < squatters.size(); ++i)
    {
        m.sentAtMs = i; // each newer than the last: not replays
        squatters[i]->write(codec.encode(m));
    }
    ASSERT_TRUE(eventually([&] { return b.inbox.size() == 3; }));
    const auto refusedBefore = b.transport->stats().inboundRefused;
    RawClient late(b.transport->listenPort());
    EXPECT_TRUE(late.closedByServer(2s));
    EXPECT_EQ(b.transport->stats().inboundRefused, refusedBefore + 1);
    a.transport->send("b", heartbeat(9));
    EXPECT_TRUE(eventually([&] { return b.inbox.size() == 4; })) << "the peer keeps its slot";
}

TEST(TcpClusterTransport, ARecordedFrameSentAgainIsDroppedAndEarnsItsConnectionNoSlot)
{
    // A copy of a frame is as well signed as the original: an attacker who
    // recorded a dead node's heartbeat could keep it UP by sending it again,
    // or hold slots with it that are never evicted.
    std::vector<ClusterNode> nodes = {node("a", freePort()), node("b", freePort())};
    TcpTransportOptions options;
    options.maxInboundConnections = 2;
    options.idleTimeoutMs = 10000;
    Node b(config("b", nodes), options);
    b.transport->start();
    FrameCodec codec("testcluster", "s3cret", 1 << 20);
    ClusterMessage m = heartbeat(5);
    m.cluster = "testcluster";
    m.sender = "a";
    m.sentAtMs = 1000;
    const std::string recorded = codec.encode(m);

    RawClient original(b.transport->listenPort());
    original.write(recorded);
    ASSERT_TRUE(eventually([&] { return b.inbox.size() == 1; }));
    RawClient replaying(b.transport->listenPort());
    for (int i = 0; i < 3; ++i) replaying.write(recorded);
    ASSERT_TRUE(eventually([&] { return b.transport->stats().replayed == 3; })) << b.transport->statsJson();
    EXPECT_EQ(b.inbox.size(), 1u);
    EXPECT_TRUE(b.warned("a replay; 1 so far", "claiming to be a"));

    // Full: the replaying connection, never authenticated, makes room; the original keeps its slot.
    RawClient newcomer(b.transport->listenPort());
    EXPECT_TRUE(replaying.closedByServer(2s));
    m.sentAtMs = 1001;
    original.write(codec.encode(m));
    EXPECT_TRUE(eventually([&] { return b.inbox.size() == 2; })) << "a newer frame is taken";
    // A new life of the sender starts over with its own clock.
    m.incarnation = 6;
    m.sentAtMs = 1;
    original.write(codec.encode(m));
    EXPECT_TRUE(eventually([&] { return b.inbox.size() == 3; }));
}

TEST(TcpClusterTransport, FramesLeaveStampedInTheOrderTheyAreQueued)
{
    // Messages made on two threads may be queued in the other order than
    // they were stamped by their makers; the receiver must take them all.
    std::vector<ClusterNode> nodes = {node("a", freePort()), node("b", freePort())};
    Node a(config("a", nodes));
    Node b(config("b", nodes));
    a.transport->start();
    b.transport->start();
    for (std::uint64_t sentAt : {500u, 400u, 400u, 0u}) // as a late stamp from another thread would arrive
    {
        ClusterMessage m = heartbeat(1);
        m.sentAtMs = sentAt;
        a.transport->send("b", m);
    }
    ASSERT_TRUE(eventually([&] { return b.inbox.size() == 4; })) << b.transport->statsJson();
    EXPECT_EQ(b.transport->stats().replayed, 0u);
    auto got = b.inbox.messages();
    for (std::size_t i = 1; i < got.size(); ++i) EXPECT_GT(got[i].sentAtMs, got[i - 1].sentAtMs);
}
