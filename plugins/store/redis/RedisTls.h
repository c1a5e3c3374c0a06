#pragma once
// TLS to Redis (redis.conf's tls-port): what managed Redis services require.
// One TlsClient per store holds the OpenSSL context made from the settings
// (the CA to trust, an optional client certificate for tls-auth-clients),
// and runs the handshake of every connection: TLS 1.2 or later, the server's
// certificate verified against the CA and against the name expected (a DNS
// name, with SNI, or an IP address).
//
// Thread-safety: const after construction; handshake() may be called from
// any thread (each call makes its own SSL object). The steps of concurrent
// handshakes run one at a time (never while one waits for the network):
// OpenSSL 3.0's certificate store has had races between handshakes that
// verify against it (openssl/openssl#25202, #30310), and ThreadSanitizer
// reports one here.

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

struct bio_method_st;
struct ssl_ctx_st;
struct ssl_st;

namespace mt::redis {

/// A setting that cannot be used, with the key it came from.
class TlsSetupError : public std::runtime_error
{
public:
    TlsSetupError(std::string key, const std::string& message) : std::runtime_error(message), _key(std::move(key)) {}
    const std::string& key() const { return _key; }

private:
    std::string _key;
};

struct TlsOptions
{
    std::string caFile;     ///< PEM CA bundle trusted for the server; empty: the system's trust store
    std::string certFile;   ///< PEM client certificate (tls-auth-clients yes); needs keyFile
    std::string keyFile;    ///< its private key
    /// The name every certificate must carry: a DNS name or an IP address;
    /// empty: the host each connection goes to (behind sentinels: each
    /// sentinel's, and the master's address they name).
    std::string serverName;
};

class TlsClient
{
public:
    /// Loads the files now: throws TlsSetupError naming the option's key
    /// ("tlsCaFile", ...) and OpenSSL's reason.
    explicit TlsClient(TlsOptions options);
    ~TlsClient();

    TlsClient(const TlsClient&) = delete;
    TlsClient& operator=(const TlsClient&) = delete;

    const std::string& serverName() const { return _options.serverName; }

    /// The handshake on a socket connected to `host`, non-blocking, within
    /// the deadline; the certificate must name serverName(), or `host` when
    /// that is empty. Returns the SSL object (the caller frees it); throws
    /// RedisSocketError saying why (e.g. "TLS handshake: certificate verify
    /// failed: ...").
    ssl_st* handshake(int fd, const std::string& host, std::chrono::steady_clock::time_point deadline) const;
    /// After handshake(): did Redis ask for a client certificate this client
    /// does not have? (tls-auth-clients yes then closes the connection at the
    /// first command, which a caller sees as a reset or an alert.)
    static bool certificateWanted(ssl_st* ssl);

private:
    TlsOptions _options;
    ssl_ctx_st* _context = nullptr;
    bio_method_st* _socketMethod = nullptr; // OpenSSL's socket BIO, sending with MSG_NOSIGNAL
    mutable std::mutex _handshakeSteps;
};

/// OpenSSL's reasons queued on this thread, joined, then cleared ("" if none).
std::string openSslErrors();

} // namespace mt::redis
