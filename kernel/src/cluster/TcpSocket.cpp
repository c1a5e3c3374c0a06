#include "cluster/TcpSocket.h"

#include <cerrno>
#include <cstring>
#include <system_error>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

namespace mt::tcp {

std::string resolve(const std::string& host, unsigned short port, bool passive, Address& out)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    addrinfo* result = nullptr;
    std::string service = std::to_string(port);
    // Numeric first: the common case needs no resolver and cannot block.
    hints.ai_flags |= AI_NUMERICHOST;
    int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &result);
    if (rc != 0)
    {
        hints.ai_flags &= ~AI_NUMERICHOST;
        rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &result);
    }
    if (rc != 0) return std::string("cannot resolve \"") + host + "\": " + gai_strerror(rc);
    std::memcpy(&out.storage, result->ai_addr, result->ai_addrlen);
    out.length = result->ai_addrlen;
    freeaddrinfo(result);
    return {};
}

std::string toString(const sockaddr* address, socklen_t length)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (address->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in)))
    {
        auto* in = reinterpret_cast<const sockaddr_in*>(address);
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        return std::string(host) + ":" + std::to_string(port);
    }
    if (address->sa_family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6)))
    {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        return "[" + std::string(host) + "]:" + std::to_string(port);
    }
    return "unknown address";
}

std::string errorText(int error)
{
    return std::system_category().message(error);
}

int openSocket(const Address& address)
{
    return ::socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

void closeFd(int& fd)
{
    if (fd >= 0) ::close(fd);
    fd = -1;
}

} // namespace mt::tcp
