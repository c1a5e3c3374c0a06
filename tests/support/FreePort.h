#pragma once
// A loopback TCP port that a test's server binds a moment later.
//
// Not bind(port 0): that hands out a port of the kernel's ephemeral range
// (ip_local_port_range), from which every outgoing connection also takes its
// local port, so between this call and the server's bind any client socket
// (a test's own nodes connecting to each other included) can take it. Ports
// below that range are never handed out that way: one is picked there at
// random and checked to be free. Another test picking the same one at the same
// moment is left possible, and rare. Thread-safe.

#include <algorithm>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mt::test {

namespace detail {

/// Binds 127.0.0.1:`port` (0: the kernel's choice) and closes; the port bound, or 0.
inline unsigned short tryBind(unsigned short port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    socklen_t length = sizeof address;
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                       ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    ::close(fd);
    return bound ? ntohs(address.sin_port) : 0;
}

} // namespace detail

inline unsigned short freePort()
{
    static std::mutex mutex;
    static std::mt19937 random{std::random_device{}()};
    int ephemeralLow = 32768; // Linux's default, if /proc says nothing
    std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeralLow;
    const int first = std::max(1024, ephemeralLow - 10000), last = ephemeralLow - 1;
    for (int attempt = 0; attempt < 100 && first < last; ++attempt)
    {
        int port;
        {
            std::lock_guard<std::mutex> lock(mutex);
            port = std::uniform_int_distribution<int>(first, last)(random);
        }
        if (detail::tryBind(static_cast<unsigned short>(port))) return static_cast<unsigned short>(port);
    }
    // No room below the ephemeral range, or nothing free there.
    if (unsigned short port = detail::tryBind(0)) return port;
    throw std::runtime_error("freePort: cannot bind a loopback port");
}

} // namespace mt::test
