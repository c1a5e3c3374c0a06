// HttpServer over real sockets on 127.0.0.1 with a scripted dispatcher.
#include "TestClient.h"

#include "http/HttpServer.h"
#include "http/ProtocolError.h"
#include "http/RequestBody.h"
#include "http/ServerRequest.h"
#include "http/ServerResponse.h"
#include "mt/BodyTooLarge.h"
#include "util/Completion.h"

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

using namespace mt::http;
using namespace mt::http::test;

namespace {

class FnDispatcher : public Dispatcher
{
public:
    std::function<void(ServerRequest&, ServerResponse&)> fn;
    void dispatch(ServerRequest& req, ServerResponse& resp) override { fn(req, resp); }
};

class CountingChannel : public Poco::Channel
{
public:
    void log(const Poco::Message& msg) override
    {
        std::lock_guard<std::mutex> lock(mutex);
        if (msg.getPriority() <= Poco::Message::PRIO_ERROR) errors.push_back(msg.getText());
    }
    std::vector<std::string> snapshot()
    {
        std::lock_guard<std::mutex> lock(mutex);
        return errors;
    }
    std::mutex mutex;
    std::vector<std::string> errors;
};

class Latch
{
public:
    void open()
    {
        std::lock_guard<std::mutex> lock(_m);
        _open = true;
        _cv.notify_all();
    }
    bool wait(int timeoutMs = 10000)
    {
        std::unique_lock<std::mutex> lock(_m);
        return _cv.wait_for(lock, std::chrono::milliseconds(timeoutMs), [this] { return _open; });
    }

private:
    std::mutex _m;
    std::condition_variable _cv;
    bool _open = false;
};

/// Polls `cond` until true or the deadline; no fixed sleeps stand in for synchronisation.
template <class F>
bool eventually(F cond, int timeoutMs = 5000)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (std::chrono::steady_clock::now() < deadline)
    {
        if (cond()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return cond();
}

/// A client that uploads without waiting: it sends and reads at once, as
/// curl or a balancer does, over a non-blocking socket.
class Uploader
{
public:
    explicit Uploader(unsigned short port)
    {
        _fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::connect(_fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    ~Uploader() { ::close(_fd); }
    Uploader(const Uploader&) = delete;
    Uploader& operator=(const Uploader&) = delete;

    /// Sends `head` and then body bytes until the answer has come whole
    /// (status line, headers, Content-Length body) or `deadlineMs` passed.
    /// False if a send or a read failed first.
    bool sendUntilAnswered(const std::string& head, int deadlineMs)
    {
        std::string out = head;
        const std::string chunk(64 * 1024, 'u');
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadlineMs);
        while (!answered() && std::chrono::steady_clock::now() < deadline)
        {
            if (out.empty()) out = chunk;
            pollfd p{_fd, POLLIN | POLLOUT, 0};
            ::poll(&p, 1, 100);
            if ((p.revents & POLLIN) && !readSome()) return answered();
            if ((p.revents & POLLOUT) && !answered())
            {
                const ssize_t n = ::send(_fd, out.data(), out.size(), MSG_NOSIGNAL);
                if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return error("send");
                if (n > 0)
                {
                    out.erase(0, std::size_t(n));
                    _sent += std::size_t(n);
                }
            }
        }
        return answered();
    }

    /// Sends `bytes` more body, as a client that has not yet noticed the
    /// answer; false (and why in failure()) if the server refused them.
    bool sendMore(std::size_t bytes, int deadlineMs)
    {
        const std::string chunk(64 * 1024, 'v');
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadlineMs);
        std::size_t left = bytes;
        while (left > 0 && std::chrono::steady_clock::now() < deadline)
        {
            pollfd p{_fd, POLLOUT, 0};
            ::poll(&p, 1, 100);
            const ssize_t n = ::send(_fd, chunk.data(), std::min(left, chunk.size()), MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return error("send after the answer");
            if (n > 0)
            {
                left -= std::size_t(n);
                _sent += std::size_t(n);
            }
        }
        return left == 0 || error("send after the answer: timed out");
    }

    /// Ends the upload; true once the server's end of stream is read, false
    /// on a reset (or nothing within `deadlineMs`).
    bool finishAndSeeEof(int deadlineMs)
    {
        ::shutdown(_fd, SHUT_WR);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadlineMs);
        while (std::chrono::steady_clock::now() < deadline)
        {
            pollfd p{_fd, POLLIN, 0};
            ::poll(&p, 1, 100);
            char buf[4096];
            const ssize_t n = ::recv(_fd, buf, sizeof buf, 0);
            if (n == 0) return true;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return error("read after the answer");
        }
        return error("no end of stream");
    }

    /// Keeps sending until a send fails (the server ended the connection);
    /// false if none did within `deadlineMs`.
    bool sendUntilCutOff(int deadlineMs)
    {
        const std::string chunk(64 * 1024, 'w');
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadlineMs);
        while (std::chrono::steady_clock::now() < deadline)
        {
            pollfd p{_fd, POLLOUT, 0};
            ::poll(&p, 1, 100);
            const ssize_t n = ::send(_fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return true;
            if (n > 0) _sent += std::size_t(n);
        }
        return false;
    }

    bool answered() const
    {
        const auto end = _in.find("\r\n\r\n");
        if (end == std::string::npos) return false;
        const auto at = _in.find("Content-Length: ");
        if (at == std::string::npos || at > end) return true;
        return _in.size() >= end + 4 + std::stoul(_in.substr(at + 16));
    }
    const std::string& received() const { return _in; }
    std::size_t sent() const { return _sent; }
    const std::string& failure() const { return _failure; }

private:
    bool readSome()
    {
        char buf[4096];
        const ssize_t n = ::recv(_fd, buf, sizeof buf, 0);
        if (n > 0) _in.append(buf, std::size_t(n));
        if (n == 0) return false;
        return n > 0 || errno == EAGAIN || errno == EWOULDBLOCK || error("read");
    }
    bool error(const char* what)
    {
        _failure = std::string(what) + ": " + std::strerror(errno);
        return false;
    }

    int _fd = -1;
    std::string _in;
    std::size_t _sent = 0;
    std::string _failure;
};

class HttpServerTest : public ::testing::Test
{
protected:
    HttpServerTest(): logger(Poco::Logger::get("http-test"))
    {
        logger.setChannel(channel);
        logger.setLevel(Poco::Message::PRIO_WARNING);
        limits.host = "127.0.0.1";
        limits.port = 0;
        limits.threads = 4;
        dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) {
            resp.sendBody("path=" + req.path(), "text/plain");
        };
    }

    void start()
    {
        server = std::make_unique<HttpServer>(limits, dispatcher, logger);
        server->setAccessLog([this](const AccessRecord& r) {
            std::lock_guard<std::mutex> lock(logMutex);
            accessLog.push_back(r);
        });
        server->start();
        ASSERT_NE(server->port(), 0);
    }

    unsigned short port() const { return server->port(); }

    std::vector<AccessRecord> records()
    {
        std::lock_guard<std::mutex> lock(logMutex);
        return accessLog;
    }

    ServerLimits limits;
    FnDispatcher dispatcher;
    Poco::AutoPtr<CountingChannel> channel{new CountingChannel};
    Poco::Logger& logger;
    std::mutex logMutex;
    std::vector<AccessRecord> accessLog;
    std::unique_ptr<HttpServer> server; // last: destroyed first, while the access log still exists
};

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection)
{
    start();
    TestClient c(port());
    for (int i = 0; i < 100; ++i)
    {
        Reply r = c.roundTrip(get("/n/" + std::to_string(i)));
        ASSERT_TRUE(r.ok) << i;
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.body, "path=/n/" + std::to_string(i));
        EXPECT_EQ(r.header("connection"), "");
        EXPECT_FALSE(r.header("date").empty());
        EXPECT_EQ(r.header("server"), "MicroTomcat");
    }
    // Counted before each response leaves (AnAnswerIsCountedAsItStartsToLeave).
    EXPECT_EQ(server->stats().requests, 100u);
    EXPECT_EQ(server->stats().openConnections, 1);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder)
{
    start();
    TestClient c(port());
    c.send(get("/first") + get("/second") + get("/third"));
    EXPECT_EQ(c.read().body, "path=/first");
    EXPECT_EQ(c.read().body, "path=/second");
    EXPECT_EQ(c.read().body, "path=/third");
}

TEST_F(HttpServerTest, ManyKeepAliveConnectionsDoNotStarveFewWorkers)
{
    limits.threads = 4;
    start();
    const int n = 200;
    std::vector<std::unique_ptr<TestClient>> clients;
    for (int i = 0; i < n; ++i)
    {
        clients.push_back(std::make_unique<TestClient>(port(), 5000));
        ASSERT_TRUE(clients.back()->connected());
    }
    // Two rounds: the second proves that kept-alive connections from round one
    // were handed back instead of holding the 4 workers.
    for (int round = 0; round < 2; ++round)
    {
        for (int i = 0; i < n; ++i) clients[i]->send(get("/c/" + std::to_string(i)));
        for (int i = 0; i < n; ++i)
        {
            Reply r = clients[i]->read();
            ASSERT_TRUE(r.ok) << "round " << round << " client " << i;
            EXPECT_EQ(r.body, "path=/c/" + std::to_string(i));
        }
    }
    EXPECT_TRUE(eventually([&] { return server->stats().openConnections == n; }));
}

TEST_F(HttpServerTest, Http10ClosesUnlessKeepAliveAsked)
{
    start();
    {
        TestClient c(port());
        Reply r = c.roundTrip("GET /old HTTP/1.0\r\n\r\n");
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.body, "path=/old");
        EXPECT_EQ(r.header("connection"), "close");
        EXPECT_TRUE(c.waitClosed());
    }
    {
        TestClient c(port());
        Reply r = c.roundTrip("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        EXPECT_EQ(r.header("connection"), "keep-alive");
        EXPECT_EQ(c.roundTrip("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").body, "path=/b");
    }
}

TEST_F(HttpServerTest, Http10StreamedBodyIsCloseDelimited)
{
    dispatcher.fn = [](ServerRequest&, ServerResponse& resp) { resp.send() << "streamed"; };
    start();
    TestClient c(port());
    c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    std::string all = c.readAll();
    EXPECT_NE(all.find("Connection: close"), std::string::npos);
    EXPECT_EQ(all.find("Transfer-Encoding"), std::string::npos);
    EXPECT_EQ(all.substr(all.size() - 8), "streamed");
}

TEST_F(HttpServerTest, HeadKeepsContentLengthButSendsNoBody)
{
    start();
    TestClient c(port());
    Reply r = c.roundTrip("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n", true);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-length"), "7");
    // Had body bytes been sent, they would be parsed as the next status line.
    Reply next = c.roundTrip(get("/after"));
    EXPECT_EQ(next.status, 200);
    EXPECT_EQ(next.body, "path=/after");
}

TEST_F(HttpServerTest, ChunkedResponseAndChunkedRequestBody)
{
    dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) {
        std::string body = req.readBody();
        std::ostream& out = resp.send();
        out << "got:" << body;
    };
    start();
    TestClient c(port());
    Reply r = c.roundTrip("POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: t\r\n\r\n");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("transfer-encoding"), "chunked");
    EXPECT_EQ(r.body, "got:hello, world");
    EXPECT_EQ(c.roundTrip(get("/next")).status, 200);
}

TEST_F(HttpServerTest, ChunkLinesEndInCrlfAndCarryNoControlCharacters)
{
    // RFC 9112 7.1: a front end that ends these lines at a bare LF, or reads
    // a bare CR as an end, frames the body differently: the rest would be
    // another request to one of the two (smuggling). Refused, and closed.
    dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) { resp.sendBody("got:" + req.readBody()); };
    start();
    const std::string head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::vector<std::pair<std::string, std::string>> refused = {
        {"3\r\nabc\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", "bare LF"},
        {"3\nabc\r\n0\r\n\r\n", "bare LF"},
        {"5;a\rb\r\nhello\r\n0\r\n\r\n", "control character"},
        {"5;a\x01\r\nhello\r\n0\r\n\r\n", "control character"},
        {"0\r\nX-Trailer: t\n\r\n", "bare LF"},
    };
    for (const auto& [body, reason] : refused)
    {
        TestClient c(port());
        Reply r = c.roundTrip(head + body);
        EXPECT_EQ(r.status, 400) << body;
        EXPECT_NE(r.body.find(reason), std::string::npos) << body << " -> " << r.body;
        EXPECT_TRUE(c.waitClosed()) << body;
    }
    TestClient c(port());
    Reply r = c.roundTrip(head + "5;name=\"quoted value\"\t;x\r\nhello\r\n0\r\n\r\n");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "got:hello") << "extensions with spaces and tabs are fine";
}

TEST_F(HttpServerTest, ChunkExtensionsCountAgainstALimitAsTrailersDo)
{
    // Extension bytes are not body bytes: without a bound of their own, 4 KB
    // of them per data byte would pass under any body limit.
    dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) { resp.sendBody("got:" + req.readBody()); };
    start();
    const std::string head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    std::string body;
    for (int i = 0; i < 5; ++i) body += "1;" + std::string(4000, 'e') + "\r\na\r\n";
    TestClient c(port());
    Reply r = c.roundTrip(head + body + "0\r\n\r\n");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("chunk extensions too long"), std::string::npos) << r.body;
    TestClient under(port());
    body.clear();
    for (int i = 0; i < 3; ++i) body += "1;" + std::string(4000, 'e') + "\r\na\r\n";
    EXPECT_EQ(under.roundTrip(head + body + "0\r\n\r\n").body, "got:aaa");
}

TEST_F(HttpServerTest, RepeatedTransferEncodingOrConnectionLinesAreOneList)
{
    start();
    TestClient c(port());
    EXPECT_EQ(c.roundTrip("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "0\r\n\r\n")
                  .status,
              501)
        << "gzip, chunked: a coding we do not apply is not dropped";
    TestClient twice(port());
    EXPECT_EQ(twice.roundTrip("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "0\r\n\r\n")
                  .status,
              501);
    TestClient closing(port());
    Reply r = closing.roundTrip("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nConnection: x-other\r\n\r\n");
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(closing.waitClosed()) << "close in the first Connection line still closes";
}

TEST_F(HttpServerTest, AChunkedHttp10RequestIsServedThenClosed)
{
    // RFC 9112 6.1: an HTTP/1.0 hop in between does not know chunked, so
    // what follows the body is not trusted to be the next request.
    dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) { resp.sendBody("got:" + req.readBody()); };
    start();
    TestClient c(port());
    Reply r = c.roundTrip("POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "3\r\nabc\r\n0\r\n\r\n");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "got:abc");
    EXPECT_TRUE(c.waitClosed());
    TestClient kept(port());
    EXPECT_EQ(kept.roundTrip("POST / HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc").body, "got:abc");
    EXPECT_EQ(kept.roundTrip("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").status, 200)
        << "a fixed-length 1.0 body keeps the connection";
}

TEST_F(HttpServerTest, AChunkedAnswerItsHandlerFailsIsNeverEndedAsWhole)
{
    // Once the head is out a status cannot change: the client learns of the
    // failure from the connection closing, and a chunked body must then lack
    // its last chunk, or the client takes the truncated body for all of it.
    dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) {
        std::ostream& out = resp.send();
        out << "partial" << std::flush;
        if (req.path() == "/throws") throw std::runtime_error("the handler failed half-way");
        resp.sendError(500, "too late for a status");
    };
    start();
    for (const char* path : {"/throws", "/late-error"})
    {
        TestClient c(port());
        c.send(get(path));
        const std::string raw = c.readAll();
        EXPECT_EQ(raw.rfind("HTTP/1.1 200", 0), 0u) << path << ": " << raw;
        EXPECT_NE(raw.find("7\r\npartial\r\n"), std::string::npos) << path << ": " << raw;
        EXPECT_EQ(raw.find("0\r\n\r\n"), std::string::npos) << path << ": the last chunk must not come: " << raw;
        EXPECT_EQ(raw.find("too late"), std::string::npos) << path << ": " << raw;
    }
}

TEST_F(HttpServerTest, BodyStreamReadsFixedLength)
{
    dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) {
        std::string word, all;
        while (req.body() >> word) all += "[" + word + "]";
        resp.sendBody(all);
    };
    start();
    TestClient c(port());
    Reply r = c.roundTrip("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world");
    EXPECT_EQ(r.body, "[hello][world]");
}

TEST_F(HttpServerTest, QueryAndFormParameters)
{
    dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) {
        resp.sendBody(req.parameter("q") + "|" + req.parameter("name") + "|" + req.parameter("missing", "fb") + "|" +
                      (req.hasParameter("flag") ? "yes" : "no"));
    };
    start();
    TestClient c(port());
    std::string form = "name=J%C3%BCrgen+X&flag=";
    Reply r = c.roundTrip("POST /f?q=a%26b HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
                          "Content-Length: " + std::to_string(form.size()) + "\r\n\r\n" + form);
    EXPECT_EQ(r.body, "a&b|J\xC3\xBCrgen X|fb|yes");
}

TEST_F(HttpServerTest, RequestAccessors)
{
    dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) {
        std::string s = req.method() + " " + req.version() + " ctx='" + req.contextPath() + "' info=" + req.pathInfo() +
            " sid=" + req.pathSessionId() + " raw=" + req.rawPath() + " q=" + req.query() +
            " h=" + req.header("x-test") + " client=" + req.clientAddress().host().toString() +
            " server=" + std::to_string(req.serverAddress().port());
        req.setContext("/app", "/rest");
        s += " after=" + req.contextPath() + req.pathInfo() + " session=" + (req.session() ? "yes" : "null");
        try
        {
            req.changeSessionId();
        }
        catch (const std::logic_error&)
        {
            s += " nochange";
        }
        resp.sendBody(s);
    };
    start();
    TestClient c(port());
    Reply r = c.roundTrip(get("/app/rest%21;jsessionid=S1?k=v", "X-Test: yes\r\n"));
    EXPECT_EQ(r.body, "GET HTTP/1.1 ctx='' info=/app/rest! sid=S1 raw=/app/rest%21 q=k=v h=yes client=127.0.0.1 server=" +
                          std::to_string(port()) + " after=/app/rest session=null nochange");
}

TEST_F(HttpServerTest, TooManyHeaderFieldsIs431)
{
    limits.maxHeaderFields = 10;
    start();
    std::string extra;
    for (int i = 0; i < 11; ++i) extra += "X-H" + std::to_string(i) + ": v\r\n";
    TestClient c(port());
    Reply r = c.roundTrip(get("/", extra));
    EXPECT_EQ(r.status, 431);
    EXPECT_EQ(r.header("connection"), "close");
    EXPECT_TRUE(c.waitClosed());
    EXPECT_TRUE(eventually([&] { return server->stats().rejected == 1u; }));
}

TEST_F(HttpServerTest, HeadersTooBigIs431)
{
    limits.maxHeaderBytes = 1024;
    start();
    TestClient c(port());
    Reply r = c.roundTrip(get("/", "X-Big: " + std::string(2000, 'a') + "\r\n"));
    EXPECT_EQ(r.status, 431);
    EXPECT_TRUE(c.waitClosed());
}

TEST_F(HttpServerTest, UriTooLongIs414)
{
    limits.maxHeaderBytes = 1024;
    start();
    TestClient c(port());
    Reply r = c.roundTrip(get("/" + std::string(3000, 'u')));
    EXPECT_EQ(r.status, 414);
    EXPECT_TRUE(c.waitClosed());
    ASSERT_TRUE(eventually([&] { return records().size() == 1u; }));
    auto log = records();
    EXPECT_EQ(log[0].status, 414);
    EXPECT_EQ(log[0].method, "-");
}

TEST_F(HttpServerTest, ContentLengthOverLimitIs413BeforeReadingBody)
{
    limits.maxBodyBytes = 100;
    bool called = false;
    dispatcher.fn = [&](ServerRequest&, ServerResponse& resp) { called = true; resp.sendBody("x"); };
    start();
    TestClient c(port());
    // Headers only: the answer must not wait for the 1 MB that never comes.
    Reply r = c.roundTrip("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(r.header("connection"), "close");
    EXPECT_TRUE(c.waitClosed());
    EXPECT_FALSE(called);
}

TEST_F(HttpServerTest, ChunkedBodyGrowingPastLimitIs413)
{
    limits.maxBodyBytes = 100;
    std::atomic<bool> sawTooLarge{false};
    dispatcher.fn = [&](ServerRequest& req, ServerResponse& resp) {
        try
        {
            req.readBody();
        }
        catch (const mt::BodyTooLarge&)
        {
            sawTooLarge = true;
            throw;
        }
        resp.sendBody("unexpected");
    };
    start();
    TestClient c(port());
    std::string chunk = std::string(60, 'z');
    Reply r = c.roundTrip("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3c\r\n" + chunk + "\r\n3c\r\n" + chunk +
                          "\r\n0\r\n\r\n");
    EXPECT_EQ(r.status, 413);
    EXPECT_TRUE(sawTooLarge);
    EXPECT_TRUE(c.waitClosed());
}

TEST_F(HttpServerTest, StalledHeadIs408)
{
    limits.readTimeoutMs = 300;
    start();
    TestClient c(port());
    auto t0 = std::chrono::steady_clock::now();
    c.send("GET /slow HTTP/1.1\r\nHost: x\r\n");
    Reply r = c.read();
    EXPECT_EQ(r.status, 408);
    EXPECT_TRUE(c.waitClosed());
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(250));
}

TEST_F(HttpServerTest, ABodyTrickledSlowerThanTheMinimumRateIs408)
{
    // Every piece comes well within the read timeout, so only the rate over
    // the whole body can end it: 100 bytes/s against a minimum of 1000.
    limits.readTimeoutMs = 5000;
    limits.minBodyRate = 1000;
    limits.minBodyRateGraceMs = 300;
    dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) { resp.sendBody(std::to_string(req.readBody().size())); };
    start();
    TestClient c(port());
    c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
    std::atomic<bool> answered{false};
    std::thread trickle([&] {
        for (int i = 0; i < 50 && !answered; ++i) // at most 5 s
        {
            c.send(std::string(10, 't'));
            std::this_thread::sleep_for(std::chrono::milliseconds(100)); // the client's pace
        }
    });
    const auto t0 = std::chrono::steady_clock::now();
    Reply r = c.read();
    answered = true;
    trickle.join();
    EXPECT_EQ(r.status, 408);
    EXPECT_NE(r.body.find("slower than 1000 bytes/s"), std::string::npos) << r.body;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3)) << "the rate, not the 5 s of trickling, ended it";

    // The same body at full speed is served.
    TestClient fast(port());
    Reply whole = fast.roundTrip("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + std::string(100000, 'f'));
    EXPECT_EQ(whole.status, 200);
    EXPECT_EQ(whole.body, "100000");
}

TEST_F(HttpServerTest, ASmallBodyCutShortByAHalfCloseIs400SayingSo)
{
    // The client stopped sending 5 bytes short but still reads: it gets the
    // reason, as the sender of a large body cut short does.
    dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) { resp.sendBody(req.readBody()); };
    start();
    for (const std::string size : {"10", "100000"})
    {
        TestClient c(port());
        c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + size + "\r\n\r\nabcde");
        c.shutdownWrite();
        Reply r = c.read();
        EXPECT_EQ(r.status, 400) << size;
        EXPECT_NE(r.body.find("connection closed inside the request body"), std::string::npos) << size << ": " << r.body;
    }
}

TEST_F(HttpServerTest, StalledBodyIs408)
{
    limits.readTimeoutMs = 300;
    dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) { resp.sendBody(req.readBody()); };
    start();
    TestClient c(port());
    Reply r = c.roundTrip("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    EXPECT_EQ(r.status, 408);
    EXPECT_TRUE(c.waitClosed());
}

TEST_F(HttpServerTest, AnUnreadBodyUpToTheSwallowLimitIsDroppedAndTheConnectionKept)
{
    // The application answers an upload without reading it (a 403, a
    // redirect): the server reads the rest and drops it, so the client (or a
    // balancer) that is still sending gets the answer, not a reset.
    dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) { resp.sendBody("path=" + req.path()); };
    start();
    TestClient c(port());
    const std::string body(1024 * 1024, 'u');
    Reply r = c.roundTrip("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                          "\r\n\r\n" + body);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "path=/upload");
    Reply next = c.roundTrip("GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(next.status, 200) << "the same connection, after the dropped megabyte";
    EXPECT_EQ(next.body, "path=/next");

    TestClient big(port());
    const std::string tooBig(kMaxSwallowBytes + 1, 'u');
    Reply closed = big.roundTrip("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(tooBig.size()) +
                                 "\r\n\r\n" + tooBig.substr(0, 4096));
    EXPECT_EQ(closed.status, 200);
    EXPECT_EQ(closed.header("connection"), "close") << "more than it would read: said, then closed";
}

TEST_F(HttpServerTest, AnAnswerIsCountedAsItStartsToLeave)
{
    // A monitor read right after a response (a test, a scrape following a
    // request) must find it counted, whatever the server still does after the
    // send: drop the rest of an upload the handler did not read, or run a
    // handler that sent its whole answer and goes on working.
    Latch release;
    dispatcher.fn = [&](ServerRequest& req, ServerResponse& resp) {
        if (req.path() == "/upload") return resp.sendBody("path=/upload");
        if (req.path() == "/continue")
        {
            req.readBody();
            resp.setStatus(500);
            return resp.sendBody("no");
        }
        if (req.path() == "/big")
        {
            resp.setStatus(503);
            resp.sendBody(std::string(64 * 1024, 'b')); // large: sent at once, not copied
        }
        else
        {
            resp.setContentLength(5);
            resp.send() << "small" << std::flush;
        }
        release.wait();
    };
    start();
    TestClient upload(port());
    const std::size_t length = 1024 * 1024;
    const std::size_t sent = 4096;
    Reply r = upload.roundTrip("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(length) +
                               "\r\n\r\n" + std::string(sent, 'u'));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(server->stats().requests, 1u) << "answered, while the server waits for the rest of the body";

    TestClient big(port());
    r = big.roundTrip(get("/big"));
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.body.size(), 64u * 1024);
    EXPECT_EQ(server->stats().requests, 2u) << "answered, while its handler still runs";
    EXPECT_EQ(server->stats().errors, 1u);

    TestClient streamed(port());
    r = streamed.roundTrip(get("/streamed"));
    EXPECT_EQ(r.body, "small");
    EXPECT_EQ(server->stats().requests, 3u) << "answered, while its handler still runs";
    release.open();

    TestClient asks(port());
    asks.send("PUT /continue HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    EXPECT_EQ(asks.read().status, 100);
    EXPECT_EQ(server->stats().requests, 3u) << "a 100 Continue is not the answer";
    asks.send("data");
    EXPECT_EQ(asks.read().status, 500);
    EXPECT_EQ(server->stats().requests, 4u);
    EXPECT_EQ(server->stats().errors, 2u) << "counted with the status it answered";

    upload.send(std::string(length - sent, 'u'));
    EXPECT_EQ(upload.roundTrip(get("/upload")).body, "path=/upload") << "the same connection, the upload dropped";
    EXPECT_EQ(server->stats().requests, 5u);
    EXPECT_EQ(server->stats().errors, 2u);
}

TEST_F(HttpServerTest, AClientThatLeavesMidAnswerIsStillLoggedAndCounted)
{
    const std::size_t size = 32 * 1024 * 1024;
    dispatcher.fn = [&](ServerRequest&, ServerResponse& resp) { resp.sendBody(std::string(size, 'x')); };
    start();
    {
        TestClient c(port());
        c.send(get("/big"));
        // Counted as its answer starts to leave; the client then goes without reading it.
        ASSERT_TRUE(eventually([&] { return server->stats().requests == 1u; }));
    }
    ASSERT_TRUE(eventually([&] { return records().size() == 1u; })) << "no access-log line for the request";
    auto log = records();
    EXPECT_EQ(log[0].uri, "/big");
    EXPECT_EQ(log[0].status, 200);
    EXPECT_EQ(server->stats().requests, 1u);
}

TEST_F(HttpServerTest, AnAnswerToAnUploadItWillNotReadIsNotLostToAReset)
{
    // Past what it swallows, the server answers an upload it does not read
    // and closes. Closed at once, with the client's bytes unread, the socket
    // would answer them with a reset: a client still sending fails (curl:
    // "Send failure: Connection reset by peer") and may never read the
    // answer. Instead the server ends its output after the answer and reads
    // and drops what still comes, until the client closes.
    limits.maxBodyBytes = 64 * 1024 * 1024;
    dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) { resp.sendBody("path=" + req.path()); };
    start();
    Uploader client(port());
    ASSERT_TRUE(client.sendUntilAnswered("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n", 10000))
        << client.failure() << " after " << client.sent() << " bytes; got: " << client.received();
    EXPECT_NE(client.received().find("HTTP/1.1 200"), std::string::npos) << client.received();
    EXPECT_NE(client.received().find("path=/upload"), std::string::npos);
    EXPECT_NE(client.received().find("Connection: close"), std::string::npos);
    // The answer leaves before the server swallows the body: the client
    // goes on sending, past what the server swallows, before it notices.
    EXPECT_TRUE(client.sendMore(4 * 1024 * 1024, 5000)) << client.failure();
    EXPECT_GT(client.sent(), kMaxSwallowBytes);
    EXPECT_TRUE(client.finishAndSeeEof(5000)) << client.failure();
}

TEST_F(HttpServerTest, ARefusedUploadIsAnsweredAndAClientThatNeverStopsSendingIsCutOff)
{
    // A 413 for a declared length over the limit: the body is on its way
    // all the same. Read and dropped while the client takes the answer, but
    // not for ever: a client that goes on sending is cut off after the
    // linger time (2 s, checked as the server reads it; one that sends
    // nothing more but never closes is cut off by the idle scan).
    limits.maxBodyBytes = 1000;
    start();
    Uploader client(port());
    ASSERT_TRUE(client.sendUntilAnswered("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n", 10000))
        << client.failure() << " after " << client.sent() << " bytes; got: " << client.received();
    EXPECT_NE(client.received().find("HTTP/1.1 413"), std::string::npos) << client.received();
    EXPECT_TRUE(client.sendMore(1024 * 1024, 5000)) << client.failure();
    EXPECT_TRUE(client.sendUntilCutOff(8000)) << "still taking bytes after " << client.sent();
}

TEST_F(HttpServerTest, HalfSentRequestsHoldNoWorkerSoOthersAreServed)
{
    // Slowloris: many more clients than workers each send part of a request
    // and stop. They wait parked; everyone else is served at once, and a
    // half-sent request that goes on is served too.
    limits.readTimeoutMs = 30000;
    dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) { resp.sendBody("got " + req.readBody()); };
    start();
    std::vector<std::unique_ptr<TestClient>> stalled;
    for (int i = 0; i < 3 * limits.threads; ++i)
    {
        stalled.push_back(std::make_unique<TestClient>(port()));
        stalled.back()->send(i % 2 ? "GET / HTTP/1.1\r\nHost: x\r\nX-Part" : "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    }
    for (int i = 0; i < 2 * limits.threads; ++i)
    {
        TestClient other(port(), 3000); // far below the read timeout: served now, or not at all
        Reply r = other.roundTrip("GET /other HTTP/1.1\r\nHost: x\r\n\r\n");
        ASSERT_EQ(r.status, 200) << "request " << i << " waited behind the half-sent ones";
    }
    stalled[0]->send("defghij");
    Reply body = stalled[0]->read();
    EXPECT_EQ(body.status, 200);
    EXPECT_EQ(body.body, "got abcdefghij");
    stalled[1]->send(": 1\r\n\r\n");
    EXPECT_EQ(stalled[1]->read().status, 200);
}

TEST_F(HttpServerTest, AnHttp11RequestNeedsExactlyOneHost)
{
    // RFC 9112 3.2. A proxy in front that reads the first Host and an
    // application that reads the last would disagree on the site.
    start();
    TestClient none(port());
    EXPECT_EQ(none.roundTrip("GET / HTTP/1.1\r\n\r\n").status, 400);
    EXPECT_TRUE(none.waitClosed());
    TestClient two(port());
    EXPECT_EQ(two.roundTrip("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status, 400);
    TestClient twoOld(port());
    EXPECT_EQ(twoOld.roundTrip("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n").status, 400);
    TestClient old(port());
    EXPECT_EQ(old.roundTrip("GET /old HTTP/1.0\r\n\r\n").status, 200) << "HTTP/1.0 may leave it out";
    TestClient one(port());
    EXPECT_EQ(one.roundTrip("GET / HTTP/1.1\r\nHost: a\r\n\r\n").status, 200);
    TestClient longest(port());
    EXPECT_EQ(longest.roundTrip("GET / HTTP/1.1\r\nHost: " + std::string(253, 'h') + ":65535\r\n\r\n").status, 200)
        << "the longest DNS name and port";
    TestClient tooLong(port());
    EXPECT_EQ(tooLong.roundTrip("GET / HTTP/1.1\r\nHost: " + std::string(254, 'h') + ":65535\r\n\r\n").status, 400);
}

TEST_F(HttpServerTest, GarbageIs400)
{
    start();
    TestClient c(port());
    Reply r = c.roundTrip("\x16\x03\x01 garbage garbage\r\n\r\n");
    EXPECT_EQ(r.status, 400);
    EXPECT_TRUE(c.waitClosed());
    TestClient c2(port());
    EXPECT_EQ(c2.roundTrip(get("/bad%2")).status, 400);
    TestClient c3(port());
    EXPECT_EQ(c3.roundTrip("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n").status, 400);
}

TEST_F(HttpServerTest, BytesThatCannotBeginAnHttpRequestAre400AtOnceNotAtTheReadTimeout)
{
    // Clients at the wrong port, whose bytes never end a head: a read timeout
    // beyond the client's patience (5 s), so only an early answer passes.
    limits.readTimeoutMs = 60000;
    start();
    const std::vector<std::pair<std::string, int>> wrongPort = {
        {"*1\r\n$4\r\nPING\r\n", 400},                 // a Redis client
        {std::string("\x16\x03\x01\x02\x00\x01", 6), 400}, // a TLS ClientHello, no line end in it
        {"GET / HTTP/2.0\r\n", 505},                      // a whole line: the version is known
        {" GET / HTTP/1.1\r\n", 400},
    };
    for (const auto& [bytes, status] : wrongPort)
    {
        TestClient c(port());
        c.send(bytes);
        EXPECT_EQ(c.read().status, status) << bytes;
        EXPECT_TRUE(c.waitClosed()) << bytes;
    }
    // A well-formed start that arrives in pieces is waited for, not judged early.
    TestClient c(port());
    for (const char* piece : {"GE", "T /spl", "it HTTP/1", ".1\r\nHo", "st: x\r\n", "\r\n"}) c.send(piece);
    Reply r = c.read();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "path=/split");
}

TEST_F(HttpServerTest, UnsupportedTransferEncodingIs501)
{
    start();
    TestClient c(port());
    EXPECT_EQ(c.roundTrip("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").status, 501);
}

TEST_F(HttpServerTest, ExpectContinueIsAnsweredOnFirstRead)
{
    dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) { resp.sendBody("body=" + req.readBody()); };
    start();
    TestClient c(port());
    c.send("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    Reply interim = c.read();
    EXPECT_EQ(interim.status, 100);
    c.send("data");
    Reply r = c.read();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "body=data");
}

TEST_F(HttpServerTest, UnreadBodyIsDrainedBeforeNextRequest)
{
    dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) { resp.sendBody("path=" + req.path()); };
    start();
    TestClient c(port());
    Reply r = c.roundTrip("POST /ignored HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789");
    EXPECT_EQ(r.body, "path=/ignored");
    EXPECT_EQ(r.header("connection"), "");
    EXPECT_EQ(c.roundTrip(get("/next")).body, "path=/next");
}

TEST_F(HttpServerTest, BeforeCommitHookRunsExactlyOnce)
{
    std::atomic<int> hookCalls{0};
    dispatcher.fn = [&](ServerRequest& req, ServerResponse& resp) {
        resp.setBeforeCommit([&resp, &hookCalls] {
            ++hookCalls;
            resp.setHeader("X-Hook", "ran");
        });
        if (req.path() == "/send")
            resp.sendBody("body");
        else if (req.path() == "/stream")
            resp.send() << "streamed";
        else
            resp.setStatus(201); // sends nothing: the connection answers
    };
    start();
    TestClient c(port());
    for (const char* path : {"/send", "/stream", "/nothing"})
    {
        hookCalls = 0;
        Reply r = c.roundTrip(get(path));
        EXPECT_EQ(hookCalls.load(), 1) << path;
        EXPECT_EQ(r.header("x-hook"), "ran") << path;
    }
    Reply r = c.roundTrip(get("/nothing"));
    EXPECT_EQ(r.status, 201);
    EXPECT_EQ(r.header("content-length"), "0");
}

// The session write a response rests on fails (KernelDispatcher's commit
// hook): while none of the answer left, the client gets the 503 with
// Retry-After, and the cookie of the session the store already acted on.
TEST_F(HttpServerTest, AFailedSessionWriteIs503WithTheSessionCookieWhateverTheBodyLeft)
{
    dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) {
        resp.addHeader("Set-Cookie", "JSESSIONID=renamed.n1; Path=/");
        resp.setBeforeCommit([&resp] {
            auto write = std::make_shared<mt::Completion>();
            write->complete("redis down");
            resp.awaitBeforeSending(write);
        });
        if (req.path() == "/read") req.readBody();
        resp.sendBody("saved");
    };
    start();
    const std::string body = "0123456789";
    const std::pair<const char*, std::string> requests[] = {
        {"a body the handler left unread", "POST /unread HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n" + body},
        {"a body read to its end", "POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n" + body},
        {"a GET (the answer waits off the worker)", get("/get")},
    };
    for (const auto& [what, request] : requests)
    {
        TestClient c(port());
        Reply r = c.roundTrip(request);
        EXPECT_EQ(r.status, 503) << what;
        EXPECT_EQ(r.header("retry-after"), "5") << what;
        EXPECT_EQ(r.header("set-cookie"), "JSESSIONID=renamed.n1; Path=/") << what;
        EXPECT_NE(r.body.find("session store unavailable"), std::string::npos) << what << ": " << r.body;
    }
    // A 100 Continue left before the handler read the body: still none of the answer.
    TestClient c(port());
    c.send("POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
    EXPECT_EQ(c.read().status, 100);
    c.send(body);
    Reply r = c.read();
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.header("retry-after"), "5");
    EXPECT_EQ(r.header("set-cookie"), "JSESSIONID=renamed.n1; Path=/");
}

TEST_F(HttpServerTest, ACommitRefusedByTheStoreKeepsTheSessionCookie)
{
    dispatcher.fn = [](ServerRequest&, ServerResponse& resp) {
        resp.addHeader("Set-Cookie", "JSESSIONID=renamed.n1; Path=/");
        resp.setHeader("X-App", "dropped");
        resp.setBeforeCommit([] { throw CommitRefused(503, "session store unavailable: test", 5); });
        resp.sendBody("saved");
    };
    start();
    TestClient c(port());
    Reply r = c.roundTrip(get("/"));
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.header("retry-after"), "5");
    EXPECT_EQ(r.header("set-cookie"), "JSESSIONID=renamed.n1; Path=/");
    EXPECT_EQ(r.header("x-app"), "");
}

TEST_F(HttpServerTest, ThrowingHookGives500AndClose)
{
    dispatcher.fn = [](ServerRequest&, ServerResponse& resp) {
        resp.setBeforeCommit([] { throw std::runtime_error("session store down"); });
        resp.sendBody("never");
    };
    start();
    TestClient c(port());
    Reply r = c.roundTrip(get("/"));
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.header("connection"), "close");
    EXPECT_TRUE(c.waitClosed());
}

TEST_F(HttpServerTest, HandlerExceptionIs500AndServerKeepsWorking)
{
    dispatcher.fn = [](ServerRequest& req, ServerResponse& resp) {
        if (req.path() == "/boom") throw std::runtime_error("kaboom");
        resp.sendBody("fine");
    };
    start();
    for (int i = 0; i < 3; ++i)
    {
        TestClient c(port());
        Reply r = c.roundTrip(get("/boom"));
        EXPECT_EQ(r.status, 500);
        EXPECT_TRUE(c.waitClosed());
    }
    TestClient c(port());
    EXPECT_EQ(c.roundTrip(get("/ok")).body, "fine");
    auto errors = channel->snapshot();
    ASSERT_EQ(errors.size(), 3u);
    EXPECT_NE(errors[0].find("GET /boom"), std::string::npos);
    EXPECT_TRUE(eventually([&] { return server->stats().errors == 3u; }));
}

TEST_F(HttpServerTest, ExceptionAfterCommitClosesConnection)
{
    dispatcher.fn = [](ServerRequest&, ServerResponse& resp) {
        resp.send() << "partial";
        throw std::runtime_error("late failure");
    };
    start();
    TestClient c(port());
    c.send(get("/"));
    std::string all = c.readAll(); // ends because the server closes
    EXPECT_NE(all.find("200 OK"), std::string::npos);
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosedAfterTimeout)
{
    limits.keepAliveTimeoutMs = 200;
    start();
    TestClient c(port());
    EXPECT_EQ(c.roundTrip(get("/")).status, 200);
    EXPECT_TRUE(c.waitClosed(3000));
    EXPECT_TRUE(eventually([&] { return server->stats().openConnections == 0; }));
}

TEST_F(HttpServerTest, MaxKeepAliveRequestsClosesAfterLimit)
{
    limits.maxKeepAliveRequests = 2;
    start();
    TestClient c(port());
    EXPECT_EQ(c.roundTrip(get("/1")).header("connection"), "");
    EXPECT_EQ(c.roundTrip(get("/2")).header("connection"), "close");
    EXPECT_TRUE(c.waitClosed());
}

TEST_F(HttpServerTest, MaxConnectionsRefusesExcess)
{
    limits.maxConnections = 2;
    start();
    TestClient a(port()), b(port());
    EXPECT_EQ(a.roundTrip(get("/a")).status, 200);
    EXPECT_EQ(b.roundTrip(get("/b")).status, 200);
    TestClient c(port());
    EXPECT_TRUE(c.waitClosed());
    EXPECT_EQ(a.roundTrip(get("/a")).status, 200);
}

TEST_F(HttpServerTest, StopDrainsInFlightRequest)
{
    Latch entered, release;
    dispatcher.fn = [&](ServerRequest&, ServerResponse& resp) {
        entered.open();
        release.wait();
        resp.sendBody("finished");
    };
    start();
    unsigned short p = port();
    TestClient idle(p);
    TestClient c(p);
    c.send(get("/slow"));
    ASSERT_TRUE(entered.wait());
    auto stopped = std::async(std::launch::async, [&] { return server->stop(5000); });
    // The listener closes first; only then let the handler finish.
    ASSERT_TRUE(eventually([&] { return !TestClient(p).connected(); }));
    EXPECT_TRUE(idle.waitClosed());
    release.open();
    Reply r = c.read();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "finished");
    EXPECT_EQ(r.header("connection"), "close");
    EXPECT_EQ(stopped.get(), 0);
    EXPECT_EQ(server->stop(100), 0); // idempotent
}

TEST_F(HttpServerTest, StopCutsOffRequestExceedingDrainTime)
{
    Latch entered, release;
    dispatcher.fn = [&](ServerRequest&, ServerResponse& resp) {
        entered.open();
        release.wait();
        resp.sendBody("too late");
    };
    start();
    TestClient c(port());
    c.send(get("/stuck"));
    ASSERT_TRUE(entered.wait());
    EXPECT_EQ(server->stop(200), 1);
    EXPECT_TRUE(c.waitClosed());
    release.open();
    server.reset(); // joins the worker once the handler returns
}

TEST_F(HttpServerTest, StartFailureNamesHostAndPort)
{
    start();
    ServerLimits clash = limits;
    clash.port = port();
    HttpServer second(clash, dispatcher, logger);
    try
    {
        // Same port without SO_REUSEPORT: bind must fail.
        second.start();
        FAIL() << "expected bind failure";
    }
    catch (const Poco::Exception& e)
    {
        EXPECT_NE(e.displayText().find("127.0.0.1:" + std::to_string(port())), std::string::npos) << e.displayText();
    }
}

} // namespace
