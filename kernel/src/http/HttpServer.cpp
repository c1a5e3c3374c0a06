// Threading and ownership (see also Connection.h):
//  - acceptor thread: accept4(), refuses beyond maxConnections, registers the
//    connection and arms it in epoll ("parked");
//  - poller thread: epoll_wait with EPOLLONESHOT; a readable connection is
//    disarmed by the kernel and moved to the work queue; every scan interval
//    it shuts down connections parked longer than keepAliveTimeoutMs;
//  - workers: take a connection, serve every buffered request, then re-arm it
//    (park) or close it. Only the worker that owns a connection frees it;
//  - a response waiting for an asynchronous session write (Next::Defer) is
//    owned by that write's completion: it runs on the store's thread, sends
//    the response and parks, queues or closes the connection.
// The poller never frees a connection: it may be racing with a worker that is
// re-arming it, so it only shutdown()s the socket, which makes it readable and
// lets the next owner close it.
#include "http/HttpServer.h"

#include "http/Connection.h"
#include "http/ServerContext.h"
#include "mt/ThreadName.h"
#include "util/Clock.h"

#include <Poco/Exception.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fcntl.h>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <unordered_set>
#include <vector>

#if defined(__SANITIZE_THREAD__)
#define MT_THREAD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MT_THREAD_SANITIZER 1
#endif
#endif

namespace mt::http {
namespace {

// How long a closing connection keeps reading what its client still sends
// (Connection::lingerWanted), as Apache's lingering close: time for the
// client to read the answer and stop.
constexpr std::int64_t kLingerMs = 2000;

void signal(int eventFd)
{
    std::uint64_t one = 1;
    ssize_t r = ::write(eventFd, &one, sizeof(one));
    (void)r;
}

} // namespace

struct HttpServer::Impl
{
    Impl(const ServerLimits& limits, Dispatcher& dispatcher, Poco::Logger& logger):
        ctx(limits, dispatcher, logger)
    {
    }

    void acceptLoop();
    void accepted(int fd, const sockaddr_storage& peer, socklen_t peerLen);
    void pollLoop();
    void expireIdle(std::int64_t now);
    void workerLoop();
    /// Where a connection goes after run() / finishDeferred().
    void route(Connection* c, Connection::Next next);
    void defer(Connection* c);
    void enqueue(std::vector<Connection*>& batch);
    void park(Connection* c);
    int rearm(int fd, epoll_event& ev);
    void closeConnection(Connection* c);
    /// shutdown() every registered connection (only the parked ones if `parkedOnly`):
    /// their owner then sees end of stream or an I/O error and closes them.
    void shutdownConnections(bool parkedOnly);
    void joinWorkers();
    void deleteParked();

    ServerContext ctx;
    Poco::Net::ServerSocket listener;
    unsigned short port = 0;
    bool running = false;
    bool stopped = false;
    int epollFd = -1;
    int pollWake = -1;
    int acceptWake = -1;
    std::atomic<bool> pollerExit{false};
    std::thread acceptor;
    std::thread poller;
    std::vector<std::thread> workers;
    std::atomic<int> liveWorkers{0};

    std::mutex queueMutex;
    std::condition_variable queueReady;
    std::deque<Connection*> queue;
    int idleWorkers = 0;
    bool queueClosed = false;

    std::mutex registryMutex;
    std::unordered_set<Connection*> registry;
};

void HttpServer::Impl::acceptLoop()
{
    pollfd fds[2] = {{listener.impl()->sockfd(), POLLIN, 0}, {acceptWake, POLLIN, 0}};
    for (;;)
    {
        int r = ::poll(fds, 2, -1);
        if (r < 0)
        {
            if (errno == EINTR) continue;
            ctx.logger.error(std::string("accept poll failed: ") + std::strerror(errno));
            return;
        }
        if (fds[1].revents) return;
        if (!(fds[0].revents & POLLIN)) continue;
        for (int i = 0; i < 256; ++i)
        {
            sockaddr_storage peer{};
            socklen_t peerLen = sizeof(peer);
            int fd = ::accept4(fds[0].fd, reinterpret_cast<sockaddr*>(&peer), &peerLen, SOCK_CLOEXEC);
            if (fd < 0)
            {
                if (errno == EMFILE || errno == ENFILE)
                {
                    // Out of descriptors: back off instead of spinning on a readable listener.
                    ctx.logger.warning("accept: out of file descriptors");
                    ::poll(fds + 1, 1, 50);
                }
                break;
            }
            accepted(fd, peer, peerLen);
        }
    }
}

void HttpServer::Impl::accepted(int fd, const sockaddr_storage& peer, socklen_t peerLen)
{
    if (ctx.openConnections.load(std::memory_order_relaxed) >= ctx.limits.maxConnections)
    {
        ::close(fd);
        return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    timeval tv{ctx.limits.readTimeoutMs / 1000, (ctx.limits.readTimeoutMs % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_storage local{};
    socklen_t localLen = sizeof(local);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &localLen);

    Connection* c;
    try
    {
        c = new Connection(ctx, fd,
                           Poco::Net::SocketAddress(reinterpret_cast<const sockaddr*>(&peer), peerLen),
                           Poco::Net::SocketAddress(reinterpret_cast<const sockaddr*>(&local), localLen));
    }
    catch (const std::exception& e)
    {
        ctx.logger.error(std::string("accept: ") + e.what());
        ::close(fd);
        return;
    }
    {
        std::lock_guard<std::mutex> lock(registryMutex);
        registry.insert(c);
    }
    ctx.openConnections.fetch_add(1, std::memory_order_relaxed);
    // New connections wait in the poller like idle ones: a client that
    // connects and says nothing costs no worker.
    c->parkedSinceMs = steadyNowMs();
    c->parked = true;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.ptr = c;
    if (::epoll_ctl(epollFd, EPOLL_CTL_ADD, fd, &ev) != 0)
    {
        c->parked = false;
        closeConnection(c);
    }
}

void HttpServer::Impl::pollLoop()
{
    const int scanEveryMs = std::clamp(ctx.limits.keepAliveTimeoutMs / 4, 10, 1000);
    std::int64_t lastScan = steadyNowMs();
    epoll_event events[256];
    std::vector<Connection*> batch;
    batch.reserve(256);
    for (;;)
    {
        int n = ::epoll_wait(epollFd, events, 256, scanEveryMs);
        bool wake = false;
        for (int i = 0; i < n; ++i)
        {
            auto* c = static_cast<Connection*>(events[i].data.ptr);
            if (!c)
            {
                std::uint64_t v;
                ssize_t r = ::read(pollWake, &v, sizeof(v));
                (void)r;
                wake = true;
                continue;
            }
            c->parked.store(false, std::memory_order_relaxed);
            batch.push_back(c);
        }
        if (!batch.empty()) enqueue(batch);
        if (wake && pollerExit.load()) return;
        std::int64_t now = steadyNowMs();
        if (now - lastScan >= scanEveryMs)
        {
            lastScan = now;
            expireIdle(now);
        }
    }
}

void HttpServer::Impl::expireIdle(std::int64_t now)
{
    std::lock_guard<std::mutex> lock(registryMutex);
    const std::int64_t nowUs = now * 1000;
    for (Connection* c : registry)
    {
        if (!c->parked.load(std::memory_order_relaxed) || c->closeRequested.load(std::memory_order_relaxed)) continue;
        const std::int64_t lingerUntil = c->lingerUntilMs.load(std::memory_order_relaxed);
        if (lingerUntil != 0)
        {
            if (now > lingerUntil)
            {
                c->closeRequested = true;
                ::shutdown(c->fd(), SHUT_RDWR);
            }
            continue;
        }
        const std::int64_t partialSince = c->partialSinceUs.load(std::memory_order_relaxed);
        if (partialSince != 0)
        {
            // Half a request, parked past the read timeout: make it readable
            // (end of input), so that a worker runs it and answers 408.
            if (ctx.limits.readTimeoutMs > 0 && nowUs - partialSince > std::int64_t(ctx.limits.readTimeoutMs) * 1000)
                ::shutdown(c->fd(), SHUT_RD);
            continue;
        }
        if (now - c->parkedSinceMs.load(std::memory_order_relaxed) > ctx.limits.keepAliveTimeoutMs)
        {
            // Not closed here: a worker may be just re-arming it. shutdown()
            // makes it readable, and whoever runs it next closes it.
            c->closeRequested = true;
            ::shutdown(c->fd(), SHUT_RDWR);
        }
    }
}

void HttpServer::Impl::enqueue(std::vector<Connection*>& batch)
{
    int idle;
    {
        std::lock_guard<std::mutex> lock(queueMutex);
        queue.insert(queue.end(), batch.begin(), batch.end());
        idle = idleWorkers;
    }
    if (idle > 0)
    {
        if (static_cast<int>(batch.size()) >= idle)
            queueReady.notify_all();
        else
            for (std::size_t i = 0; i < batch.size(); ++i) queueReady.notify_one();
    }
    batch.clear();
}

void HttpServer::Impl::workerLoop()
{
    for (;;)
    {
        Connection* c;
        {
            std::unique_lock<std::mutex> lock(queueMutex);
            while (queue.empty() && !queueClosed)
            {
                ++idleWorkers;
                queueReady.wait(lock);
                --idleWorkers;
            }
            if (queue.empty()) break;
            c = queue.front();
            queue.pop_front();
        }
        route(c, c->run());
    }
    liveWorkers.fetch_sub(1);
}

void HttpServer::Impl::route(Connection* c, Connection::Next next)
{
    const bool stopping = ctx.stopping.load(std::memory_order_relaxed);
    switch (next)
    {
    case Connection::Next::Defer:
        defer(c);
        return;
    case Connection::Next::Park:
        if (!stopping) return park(c);
        break;
    case Connection::Next::Queue:
        if (!stopping)
        {
            std::vector<Connection*> one{c};
            return enqueue(one);
        }
        break;
    case Connection::Next::Close:
        if (!stopping && c->lingerWanted())
        {
            // The answer, then end of output: the client reads both, and
            // what it still sends is dropped (Connection::run) until it closes.
            ::shutdown(c->fd(), SHUT_WR);
            c->beginLinger(steadyNowMs() + kLingerMs);
            return park(c);
        }
        break;
    }
    closeConnection(c);
}

void HttpServer::Impl::defer(Connection* c)
{
    // From here the completion owns c: it runs at once if the write is
    // already done, else on the store's thread when it is.
    std::shared_ptr<Completion> completion = c->awaiting();
    completion->then([this, c](const std::string& error) {
        Connection::Next next = c->finishDeferred(error);
        route(c, next);
    });
}

int HttpServer::Impl::rearm(int fd, epoll_event& ev)
{
#ifdef MT_THREAD_SANITIZER
    // ThreadSanitizer orders what a thread did before EPOLL_CTL_ADD before
    // the epoll_wait that reports the fd, but knows nothing of a one-shot
    // registration re-armed by EPOLL_CTL_MOD: every connection one thread
    // parks and another picks up would be reported as a race. Its builds
    // re-register instead: the same to the kernel, and modelled by it.
    ::epoll_ctl(epollFd, EPOLL_CTL_DEL, fd, nullptr);
    return ::epoll_ctl(epollFd, EPOLL_CTL_ADD, fd, &ev);
#else
    return ::epoll_ctl(epollFd, EPOLL_CTL_MOD, fd, &ev);
#endif
}

void HttpServer::Impl::park(Connection* c)
{
    c->parkedSinceMs.store(steadyNowMs(), std::memory_order_relaxed);
    c->parked.store(true, std::memory_order_relaxed);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.ptr = c;
    // Once re-armed the poller owns c: do not touch it again.
    if (rearm(c->fd(), ev) != 0)
    {
        c->parked.store(false);
        closeConnection(c);
    }
}

void HttpServer::Impl::closeConnection(Connection* c)
{
    {
        std::lock_guard<std::mutex> lock(registryMutex);
        registry.erase(c);
    }
    ctx.openConnections.fetch_sub(1, std::memory_order_relaxed);
    delete c;
}

void HttpServer::Impl::shutdownConnections(bool parkedOnly)
{
    std::lock_guard<std::mutex> lock(registryMutex);
    for (Connection* c : registry)
    {
        if (parkedOnly && !c->parked.load()) continue;
        c->closeRequested = true;
        ::shutdown(c->fd(), SHUT_RDWR);
    }
}

void HttpServer::Impl::joinWorkers()
{
    for (auto& t : workers)
        if (t.joinable()) t.join();
    workers.clear();
}

void HttpServer::Impl::deleteParked()
{
    // Only called with the poller and all workers gone: parked connections
    // have no owner left. A deferred one still may (its write's completion):
    // cancel that first, so it cannot run into a deleted connection. Every
    // connection's last completion is cancelled, not only those still
    // waiting: one whose callback is running (between finishDeferred and
    // route's last touch of the connection) is waited for by cancel(); one
    // that ran long ago returns at once.
    std::vector<std::shared_ptr<Completion>> waiting;
    {
        std::lock_guard<std::mutex> lock(registryMutex);
        for (Connection* c : registry)
            if (auto completion = c->awaiting()) waiting.push_back(std::move(completion));
    }
    for (auto& completion : waiting) completion->cancel(); // waits for one that is running
    std::vector<Connection*> orphans;
    {
        std::lock_guard<std::mutex> lock(registryMutex);
        orphans.assign(registry.begin(), registry.end());
        registry.clear();
    }
    for (Connection* c : orphans)
    {
        ctx.openConnections.fetch_sub(1, std::memory_order_relaxed);
        delete c;
    }
}

HttpServer::HttpServer(const ServerLimits& limits, Dispatcher& dispatcher, Poco::Logger& logger):
    _impl(std::make_unique<Impl>(limits, dispatcher, logger))
{
}

HttpServer::~HttpServer()
{
    stop(0);
    _impl->joinWorkers();
    _impl->deleteParked();
    for (int fd : {_impl->epollFd, _impl->pollWake, _impl->acceptWake})
        if (fd >= 0) ::close(fd);
}

void HttpServer::setAccessLog(AccessLog sink)
{
    _impl->ctx.accessLog = std::move(sink);
}

void HttpServer::start()
{
    Impl& s = *_impl;
    if (s.running) return;
    if (s.stopped) throw Poco::InvalidAccessException("HttpServer cannot be restarted after stop()");
    const ServerLimits& l = s.ctx.limits;
    try
    {
        s.listener.bind(Poco::Net::SocketAddress(l.host, l.port), true, false); // no SO_REUSEPORT: a second server must fail
        s.listener.listen(1024);
    }
    catch (const Poco::Exception& e)
    {
        throw Poco::Net::NetException("cannot listen on " + l.host + ":" + std::to_string(l.port) + ": " + e.displayText());
    }
    s.port = s.listener.address().port();
    int lfd = s.listener.impl()->sockfd();
    ::fcntl(lfd, F_SETFL, ::fcntl(lfd, F_GETFL) | O_NONBLOCK);

    s.epollFd = ::epoll_create1(EPOLL_CLOEXEC);
    s.pollWake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s.acceptWake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s.epollFd < 0 || s.pollWake < 0 || s.acceptWake < 0)
        throw Poco::Net::NetException("cannot create epoll/eventfd for " + l.host + ":" + std::to_string(l.port));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    ::epoll_ctl(s.epollFd, EPOLL_CTL_ADD, s.pollWake, &ev);

    s.running = true;
    int threads = std::max(1, l.threads);
    s.liveWorkers = threads;
    for (int i = 0; i < threads; ++i)
        s.workers.emplace_back([&s, i] {
            nameThisThread(s.ctx.limits.name + "-w" + std::to_string(i));
            s.workerLoop();
        });
    s.poller = std::thread([&s] {
        nameThisThread(s.ctx.limits.name + "-poll");
        s.pollLoop();
    });
    s.acceptor = std::thread([&s] {
        nameThisThread(s.ctx.limits.name + "-accept");
        s.acceptLoop();
    });
}

unsigned short HttpServer::port() const
{
    return _impl->port;
}

int HttpServer::stop(int drainTimeoutMs)
{
    Impl& s = *_impl;
    if (!s.running) return 0;
    s.running = false;
    s.stopped = true;
    s.ctx.stopping = true;

    signal(s.acceptWake);
    s.acceptor.join();
    s.listener.close();
    s.shutdownConnections(true);

    const std::int64_t deadline = steadyNowMs() + std::max(0, drainTimeoutMs);
    while (s.ctx.activeRequests.load(std::memory_order_acquire) > 0 && steadyNowMs() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    int cut = static_cast<int>(s.ctx.activeRequests.load());
    // Unblocks in-flight reads and writes; their workers then close.
    s.shutdownConnections(false);

    s.pollerExit = true;
    signal(s.pollWake);
    s.poller.join();
    {
        std::lock_guard<std::mutex> lock(s.queueMutex);
        s.queueClosed = true;
    }
    s.queueReady.notify_all();

    // A handler that ignores the stop (blocked on something other than the
    // socket) keeps its worker; the destructor waits for it.
    const std::int64_t joinDeadline = steadyNowMs() + (cut == 0 ? 1000 : 100);
    while (s.liveWorkers.load() > 0 && steadyNowMs() < joinDeadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (s.liveWorkers.load() == 0)
    {
        s.joinWorkers();
        s.deleteParked();
    }
    return cut;
}

ServerStats HttpServer::stats() const
{
    const ServerContext& c = _impl->ctx;
    ServerStats st;
    st.requests = c.requests.load(std::memory_order_relaxed);
    st.errors = c.errors.load(std::memory_order_relaxed);
    st.rejected = c.rejected.load(std::memory_order_relaxed);
    st.openConnections = c.openConnections.load(std::memory_order_relaxed);
    st.activeRequests = c.activeRequests.load(std::memory_order_relaxed);
    st.processingTimeUs = c.processingTimeUs.load(std::memory_order_relaxed);
    return st;
}

} // namespace mt::http
