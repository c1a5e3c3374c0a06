#pragma once
// The connection steps shared by the pipelined connection and the
// invalidation subscriber, each bounded by a deadline: connect (TCP or a Unix
// socket, then TLS when configured), send all, receive, and a synchronous
// exchange (for AUTH, SELECT and the like before a connection is handed to
// its reader thread).
//
// Errors throw RedisSocketError with a message naming the step; the caller
// adds the address and turns it into mt::StoreUnavailable.

#include "RedisSettings.h"
#include "Resp.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

struct ssl_st;

namespace mt::redis {

class MasterLocator;

class RedisSocketError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

/// Refused by TLS itself (an alert, a bad record): not a plain close, the
/// same will happen again on a new connection.
class RedisTlsError : public RedisSocketError
{
public:
    using RedisSocketError::RedisSocketError;
};

using Deadline = std::chrono::steady_clock::time_point;

/// Milliseconds until `deadline`, for poll(): 0 once it has passed, never negative.
int msLeft(Deadline deadline);

/// Waits for `events` (poll's) on fd until the deadline; false on timeout.
bool waitFor(int fd, short events, Deadline deadline);

/// One connection to Redis, plain or TLS, on a non-blocking socket.
///
/// Thread-safety: one thread may send while another receives (the
/// pipeline's callers and its reader). A TLS connection serializes its
/// OpenSSL calls inside and never waits while holding that lock. shutdown()
/// may be called from any thread. The destructor closes the socket: nobody
/// may be using the stream then. A write to a Redis that hung up is an
/// error, never SIGPIPE (plain or TLS).
class RedisStream
{
public:
    enum class Received
    {
        Data,    ///< bytes went to the parser
        Nothing, ///< nothing to read now
        Closed,  ///< Redis closed the connection
    };

    /// Takes both: `ssl` may be null (plain). `failureHint` is added to
    /// every error this connection reports (what the handshake suggested);
    /// `peer` names the instance connected to.
    RedisStream(int fd, ssl_st* ssl, std::string failureHint = {}, std::string peer = {});
    ~RedisStream();

    RedisStream(const RedisStream&) = delete;
    RedisStream& operator=(const RedisStream&) = delete;

    /// For poll(): readable means receiveNow() has something (a TLS record
    /// may still be incomplete: then it says Nothing).
    int fd() const { return _fd; }
    /// The instance this connects to: the settings' address, or the
    /// master's "host:port" a locator (sentinels, cluster) named.
    const std::string& peer() const { return _peer; }
    /// Sends every byte or throws (timeout, reset, closed).
    void sendAll(const std::string& data, Deadline deadline);
    /// Feeds the parser whatever can be read without waiting; throws on an
    /// error (RedisTlsError when TLS refused it).
    Received receiveNow(RespParser& parser);
    /// Waits until the deadline for something and feeds the parser; throws
    /// on timeout, end of stream or error.
    void receiveInto(RespParser& parser, Deadline deadline);
    /// Ends both directions: a thread waiting in poll() on fd() wakes.
    void shutdown();
    /// `what` with what the handshake suggested, if anything (for errors
    /// the caller reports itself, such as a close).
    std::string explain(const std::string& what) const;

private:
    /// Throws E with `what` and the hint.
    template <typename E>
    [[noreturn]] void fail(const std::string& what) const;

    const int _fd;
    ssl_st* const _ssl;
    const std::string _failureHint;
    const std::string _peer;
    std::mutex _sslMutex; // OpenSSL calls on _ssl: one thread at a time
};

/// A TCP connection (TCP_NODELAY) to host and port, with the TLS handshake
/// when the settings' TLS is on, within the deadline; not logged in. `peer`
/// names it (RedisStream::peer()).
std::unique_ptr<RedisStream> connectStream(const RedisSettings& settings, const std::string& host, int port,
                                           const std::string& peer, Deadline deadline);
/// A connection to the settings' Redis, logged in: its Unix socket when set,
/// the master `locator` names when the settings call for one (sentinels, a
/// cluster; null: one of its own for sentinels, MasterLocator.h), else TCP to host and
/// port; then the TLS handshake when TLS is on, AUTH when a password is set,
/// and, with a locator or `mustBeMaster`, HELLO, whose role must be master
/// (Redis 6+).
std::unique_ptr<RedisStream> openStream(const RedisSettings& settings, Deadline deadline,
                                        MasterLocator* locator = nullptr, bool mustBeMaster = false);
/// Sends the commands and returns their replies, in order. An error reply
/// throws, naming the command: these are setup steps that must work.
std::vector<Reply> exchange(RedisStream& stream, RespParser& parser, const std::vector<std::vector<std::string>>& commands,
                            Deadline deadline);
/// The same, with error replies returned rather than thrown (Reply::isError()).
std::vector<Reply> exchangeAll(RedisStream& stream, RespParser& parser,
                               const std::vector<std::vector<std::string>>& commands, Deadline deadline);
/// The message of an error reply, or "".
std::string errorMessage(const Reply& reply);
/// A reply as it came (RESP), for an error message or a log line: line
/// breaks and other control bytes shown escaped, so the line stays one line,
/// cut after `max` characters.
std::string printableReply(const Reply& reply, std::size_t max = 80);

} // namespace mt::redis
