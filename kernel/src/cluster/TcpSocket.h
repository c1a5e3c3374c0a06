#pragma once
// Thin POSIX socket helpers for TcpClusterTransport: non-blocking sockets,
// address resolution and printing. Errors come back as errno values or text,
// never as exceptions, because the I/O loop must keep running.

#include <string>

#include <sys/socket.h>

namespace mt::tcp {

struct Address
{
    sockaddr_storage storage{};
    socklen_t length = 0;
};

/// Resolves host:port (numeric hosts without DNS). Returns an error text, empty on success.
std::string resolve(const std::string& host, unsigned short port, bool passive, Address& out);
/// "127.0.0.1:7001", "[::1]:7001".
std::string toString(const sockaddr* address, socklen_t length);
std::string errorText(int error);
/// A non-blocking, close-on-exec stream socket for `address`'s family; -1 and errno on failure.
int openSocket(const Address& address);
/// Closes `fd` if open and sets it to -1.
void closeFd(int& fd);

} // namespace mt::tcp
