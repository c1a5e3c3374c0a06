// session-ceiling: the least a server can do for bench/counter.lua, with the
// session in memory or in Redis, as the reference for bench/sessions.sh.
//
// Every request reads its JSESSIONID cookie, increments the session's
// counter and answers {"count":N} (a new session gets a Set-Cookie). With
// --store redis the increment is the Redis store's cached write, command for
// command (see plugins/store/redis/CachedWrite.cpp): MULTI, HEXISTS created,
// HINCRBY version, HINCRBY vv:<node>, HSET accessed + attribute, EXEC; N is
// the new version. --write minimal drops the record check and the vv:<node>
// increment: MULTI, HINCRBY version, HSET,
// EXEC is the fewest commands that still change a version atomically with
// the write, as issue 4 requires: its ratio is about the most a compliant
// store reaches.
//
// What makes it the floor rather than a server: one epoll loop per thread
// owns its client connections and its own Redis connection, runs requests
// where they are read, sends all the Redis commands of one loop turn in one
// write and answers each request where its reply is read. No thread ever
// hands work to another, nothing is copied that need not be, and nothing a
// real server needs (limits, timeouts, bodies, logging, other paths) is done.
// So the ratio redis/memory it reaches is the most a server sending these
// commands can reach on this machine; the absolute numbers are not a target.
//
// usage: session-ceiling --port P --store memory|redis [--redis-port R] [--loops N]
//                        [--write store|minimal]
// Binds 127.0.0.1 only. A Redis error or disconnect ends the process (exit 2).
#include <arpa/inet.h>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <initializer_list>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <random>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace {

struct Options
{
    int port = 0;
    bool redis = false;
    int redisPort = 6379;
    int loops = 1;
    bool minimalWrite = false;
};

[[noreturn]] void fail(const std::string& what)
{
    std::fprintf(stderr, "session-ceiling: %s\n", what.c_str());
    std::exit(2);
}

int loopbackSocket(int port, bool listening)
{
    int fd = ::socket(AF_INET, listening ? SOCK_STREAM | SOCK_NONBLOCK : SOCK_STREAM, 0);
    if (fd < 0) fail(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(std::uint16_t(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listening)
    {
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one); // one listener per loop
        if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) || ::listen(fd, 1024))
            fail("cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
        return fd;
    }
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address))
        fail("cannot connect to redis at 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

void appendCommand(std::string& out, std::initializer_list<std::string_view> args)
{
    out += '*' + std::to_string(args.size()) + "\r\n";
    for (std::string_view arg : args)
    {
        out += '$' + std::to_string(arg.size()) + "\r\n";
        out.append(arg);
        out += "\r\n";
    }
}

// Unique is enough here: a benchmark's ids need not be unguessable (the
// server's come from a CSPRNG).
std::string newSessionId()
{
    thread_local std::mt19937_64 random{std::random_device{}()};
    char id[33];
    std::snprintf(id, sizeof id, "%016llx%016llx", static_cast<unsigned long long>(random()),
                  static_cast<unsigned long long>(random()));
    return id;
}

std::string cookieValue(std::string_view head)
{
    const std::size_t at = head.find("JSESSIONID=");
    if (at == std::string_view::npos) return {};
    const std::size_t begin = at + 11;
    const std::size_t end = head.find_first_of(";\r ", begin);
    return std::string(head.substr(begin, end - begin));
}

// Shared by the loops, as a memory store is shared by a server's threads.
std::mutex memoryMutex;
std::unordered_map<std::string, long long> memoryCounts;

struct Client
{
    int fd;
    std::string in;
    int awaiting = 0;   // requests whose Redis reply has not come yet
    bool closed = false; // by the peer: freed when nothing awaits
};

class Loop
{
public:
    explicit Loop(const Options& options) : _options(options) {}

    void run()
    {
        _epoll = ::epoll_create1(0);
        _listener = loopbackSocket(_options.port, true);
        watch(_listener, &_listener);
        if (_options.redis)
        {
            _redis = loopbackSocket(_options.redisPort, false);
            watch(_redis, &_redis);
        }
        epoll_event events[256];
        for (;;)
        {
            const int n = ::epoll_wait(_epoll, events, 256, -1);
            for (int i = 0; i < n; ++i)
            {
                void* tag = events[i].data.ptr;
                if (tag == &_listener) acceptAll();
                else if (tag == &_redis) readRedis();
                else readClient(static_cast<Client*>(tag));
            }
            flushRedis();
        }
    }

private:
    struct Waiting
    {
        Client* client;
        std::string id;
        bool created;
    };

    void watch(int fd, void* tag)
    {
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.ptr = tag;
        ::epoll_ctl(_epoll, EPOLL_CTL_ADD, fd, &event);
    }

    void acceptAll()
    {
        for (;;)
        {
            const int fd = ::accept4(_listener, nullptr, nullptr, SOCK_NONBLOCK);
            if (fd < 0) return;
            int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            watch(fd, new Client{fd, {}});
        }
    }

    void readClient(Client* client)
    {
        char buffer[16384];
        for (;;)
        {
            const ssize_t n = ::recv(client->fd, buffer, sizeof buffer, 0);
            if (n > 0)
            {
                client->in.append(buffer, std::size_t(n));
                if (std::size_t(n) < sizeof buffer) break;
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
            return drop(client);
        }
        std::size_t start = 0;
        for (std::size_t end; (end = client->in.find("\r\n\r\n", start)) != std::string::npos; start = end + 4)
            if (!serve(client, std::string_view(client->in).substr(start, end - start))) return drop(client);
        client->in.erase(0, start);
        if (client->in.size() > 16384) drop(client); // a head that large is not counter.lua's
    }

    void drop(Client* client)
    {
        ::epoll_ctl(_epoll, EPOLL_CTL_DEL, client->fd, nullptr);
        ::close(client->fd);
        client->closed = true;
        if (client->awaiting == 0) delete client;
    }

    /// False if the client is gone (its answer could not be sent).
    bool serve(Client* client, std::string_view head)
    {
        std::string id = cookieValue(head);
        const bool created = id.empty();
        if (created) id = newSessionId();
        if (!_options.redis)
        {
            long long count;
            {
                std::lock_guard<std::mutex> lock(memoryMutex);
                count = ++memoryCounts[id];
            }
            return respond(client, id, created, count);
        }
        const std::string key = "ceiling:" + id;
        const std::string accessed = std::to_string(std::time(nullptr) * 1000LL);
        appendCommand(_redisOut, {"MULTI"});
        if (!_options.minimalWrite) appendCommand(_redisOut, {"HEXISTS", key, "created"});
        appendCommand(_redisOut, {"HINCRBY", key, "version", "1"});
        if (!_options.minimalWrite) appendCommand(_redisOut, {"HINCRBY", key, "vv:ceiling", "1"});
        appendCommand(_redisOut, {"HSET", key, "accessed", accessed, "count", "0"});
        appendCommand(_redisOut, {"EXEC"});
        ++client->awaiting;
        _waiting.push_back({client, std::move(id), created});
        return true;
    }

    /// False if the answer could not be sent whole.
    bool respond(Client* client, const std::string& id, bool created, long long count)
    {
        const std::string body = "{\"count\":" + std::to_string(count) + "}\n";
        std::string response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n";
        if (created) response += "Set-Cookie: JSESSIONID=" + id + "; Path=/; HttpOnly\r\n";
        response += "\r\n" + body;
        // Responses are small and the client reads them before it asks again:
        // the socket buffer always has room, so no partial-send bookkeeping.
        return ::send(client->fd, response.data(), response.size(), MSG_NOSIGNAL) == ssize_t(response.size());
    }

    void flushRedis()
    {
        while (!_redisOut.empty())
        {
            const ssize_t n = ::send(_redis, _redisOut.data(), _redisOut.size(), MSG_NOSIGNAL);
            if (n < 0) fail(std::string("redis send: ") + std::strerror(errno));
            _redisOut.erase(0, std::size_t(n));
        }
    }

    void readRedis()
    {
        char buffer[65536];
        const ssize_t n = ::recv(_redis, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n == 0) fail("redis closed the connection");
        if (n < 0) return;
        _redisIn.append(buffer, std::size_t(n));
        std::size_t at = 0;
        for (std::size_t eol; (eol = _redisIn.find("\r\n", at)) != std::string::npos;)
        {
            const char type = _redisIn[at];
            const long long value = std::atoll(_redisIn.c_str() + at + 1);
            std::size_t next = eol + 2;
            if (type == '$' && value >= 0)
            {
                if (_redisIn.size() < next + std::size_t(value) + 2) break; // the bulk is not all here
                next += std::size_t(value) + 2;
            }
            if (type == '-') fail("redis error: " + _redisIn.substr(at, eol - at));
            at = next;
            reply(type, value);
        }
        _redisIn.erase(0, at);
    }

    /// One RESP element: a block's replies are +OK, one +QUEUED per command, then EXEC's
    /// array with the new version (after HEXISTS's answer, unless --write minimal).
    void reply(char type, long long value)
    {
        if (type == '*')
        {
            _arrayLeft = value;
            _arrayAt = 0;
            return;
        }
        if (_arrayLeft > 0)
        {
            if (_arrayAt++ == (_options.minimalWrite ? 0 : 1)) _version = value;
            if (--_arrayLeft > 0) return;
            Waiting done = std::move(_waiting.front());
            _waiting.pop_front();
            if (--done.client->awaiting == 0 && done.client->closed) delete done.client;
            else if (!done.client->closed && !respond(done.client, done.id, done.created, _version)) drop(done.client);
        }
    }

    const Options& _options;
    int _epoll = -1;
    int _listener = -1;
    int _redis = -1;
    std::string _redisOut;
    std::string _redisIn;
    std::deque<Waiting> _waiting;
    long long _arrayLeft = 0;
    int _arrayAt = 0;
    long long _version = 0;
};

Options parse(int argc, char** argv)
{
    Options options;
    std::string store;
    std::string write = "store";
    for (int i = 1; i + 1 < argc; i += 2)
    {
        const std::string name = argv[i], value = argv[i + 1];
        if (name == "--port") options.port = std::atoi(value.c_str());
        else if (name == "--store") store = value;
        else if (name == "--redis-port") options.redisPort = std::atoi(value.c_str());
        else if (name == "--loops") options.loops = std::atoi(value.c_str());
        else if (name == "--write") write = value;
        else fail("unknown option " + name);
    }
    if (argc % 2 == 0) fail("every option takes a value");
    if (store != "memory" && store != "redis") fail("--store must be memory or redis, got '" + store + "'");
    if (options.port <= 0 || options.port > 65535) fail("--port must be 1..65535");
    if (options.loops < 1 || options.loops > 64) fail("--loops must be 1..64");
    if (write != "store" && write != "minimal") fail("--write must be store or minimal, got '" + write + "'");
    options.redis = store == "redis";
    options.minimalWrite = write == "minimal";
    return options;
}

} // namespace

int main(int argc, char** argv)
{
    const Options options = parse(argc, argv);
    std::vector<std::thread> loops;
    for (int i = 0; i < options.loops; ++i) loops.emplace_back([&options] { Loop(options).run(); });
    for (auto& loop : loops) loop.join();
}
