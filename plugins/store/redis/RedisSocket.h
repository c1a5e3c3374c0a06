#pragma once
// Blocking socket steps shared by the pipelined connection and the
// invalidation subscriber, each bounded by a deadline: connect, send all,
// and a synchronous exchange (for AUTH, SELECT and the like before a
// connection is handed to its reader thread).
//
// Errors throw RedisSocketError with a message naming the step and the
// address; the caller turns it into mt::StoreUnavailable.

#include "RedisSettings.h"
#include "Resp.h"

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace mt::redis {

class RedisSocketError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

using Deadline = std::chrono::steady_clock::time_point;

/// A connected socket (blocking, close-on-exec) to the settings' Redis:
/// its Unix socket when one is set, else TCP to host and port (TCP_NODELAY).
int connectTo(const RedisSettings& settings, Deadline deadline);
/// Sends every byte or throws (timeout, reset, closed).
void sendAll(int fd, const std::string& data, Deadline deadline);
/// Reads what is there (waiting until the deadline for something) into the
/// parser; throws on timeout, end of stream or error.
void receiveInto(int fd, RespParser& parser, Deadline deadline);
/// Sends the commands and returns their replies, in order. An error reply
/// throws, naming the command: these are setup steps that must work.
std::vector<Reply> exchange(int fd, RespParser& parser, const std::vector<std::vector<std::string>>& commands,
                            Deadline deadline);
/// The message of an error reply, or "".
std::string errorMessage(const Reply& reply);

} // namespace mt::redis
