#include "TestClient.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mt::http::test {

TestClient::TestClient(unsigned short port, int timeoutMs): _timeoutMs(timeoutMs)
{
    _fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    {
        ::close(_fd);
        _fd = -1;
        return;
    }
    int one = 1;
    ::setsockopt(_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

TestClient::~TestClient()
{
    if (_fd >= 0) ::close(_fd);
}

void TestClient::send(const std::string& bytes)
{
    std::size_t off = 0;
    while (off < bytes.size())
    {
        ssize_t n = ::send(_fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return;
        off += static_cast<std::size_t>(n);
    }
}

void TestClient::shutdownWrite()
{
    ::shutdown(_fd, SHUT_WR);
}

bool TestClient::fill()
{
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(_deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd p{_fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char tmp[16384];
    ssize_t n = ::recv(_fd, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    _buf.append(tmp, static_cast<std::size_t>(n));
    return true;
}

bool TestClient::readLine(std::string& line)
{
    for (;;)
    {
        auto pos = _buf.find("\r\n");
        if (pos != std::string::npos)
        {
            line = _buf.substr(0, pos);
            _buf.erase(0, pos + 2);
            return true;
        }
        if (!fill()) return false;
    }
}

bool TestClient::readN(std::size_t n, std::string& out)
{
    while (_buf.size() < n)
        if (!fill()) return false;
    out.append(_buf, 0, n);
    _buf.erase(0, n);
    return true;
}

Reply TestClient::read(bool head)
{
    Reply r;
    _deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(_timeoutMs);
    std::string line;
    if (!readLine(line) || line.size() < 12) return r;
    r.status = std::atoi(line.c_str() + 9);
    for (;;)
    {
        if (!readLine(line)) return r;
        if (line.empty()) break;
        auto colon = line.find(':');
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        r.headers[name] = value;
    }
    if (head || r.status == 204 || r.status == 304 || r.status < 200)
    {
        r.ok = true;
        return r;
    }
    if (r.header("transfer-encoding") == "chunked")
    {
        for (;;)
        {
            if (!readLine(line)) return r;
            std::size_t size = std::stoul(line, nullptr, 16);
            if (size == 0)
            {
                while (readLine(line) && !line.empty()) {}
                break;
            }
            if (!readN(size, r.body) || !readLine(line)) return r;
        }
    }
    else if (!r.header("content-length").empty())
    {
        if (!readN(std::stoul(r.header("content-length")), r.body)) return r;
    }
    else
    {
        while (fill()) {}
        r.body = _buf;
        _buf.clear();
    }
    r.ok = true;
    return r;
}

Reply TestClient::roundTrip(const std::string& request, bool head)
{
    send(request);
    return read(head);
}

bool TestClient::waitClosed(int timeoutMs)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    for (;;)
    {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) return false;
        pollfd p{_fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
        char tmp[4096];
        ssize_t n = ::recv(_fd, tmp, sizeof(tmp), 0);
        if (n <= 0) return true;
        _buf.append(tmp, static_cast<std::size_t>(n));
    }
}

std::string TestClient::readAll()
{
    _deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(_timeoutMs);
    while (fill()) {}
    std::string all;
    all.swap(_buf);
    return all;
}

std::string get(const std::string& path, const std::string& extra)
{
    return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "\r\n";
}

} // namespace mt::http::test
