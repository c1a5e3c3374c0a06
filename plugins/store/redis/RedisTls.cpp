#include "RedisTls.h"

#include "RedisSocket.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>

namespace mt::redis {

namespace {

bool isIpAddress(const std::string& name)
{
    unsigned char buffer[sizeof(in6_addr)];
    return ::inet_pton(AF_INET, name.c_str(), buffer) == 1 || ::inet_pton(AF_INET6, name.c_str(), buffer) == 1;
}

/// Why a handshake step failed, in OpenSSL's words.
std::string handshakeFailure(SSL* ssl, int error)
{
    const long verify = SSL_get_verify_result(ssl);
    std::string queued = openSslErrors();
    if (verify != X509_V_OK)
        return "certificate verify failed: " + std::string(X509_verify_cert_error_string(verify));
    if (!queued.empty()) return queued;
    if (error == SSL_ERROR_SYSCALL) return errno != 0 ? std::strerror(errno) : "connection closed by redis";
    return "error " + std::to_string(error);
}

/// OpenSSL's socket BIO writes with write(2): to a Redis that hung up that
/// raises SIGPIPE, which would end a host process that does not ignore it.
/// The same BIO, writing with send(MSG_NOSIGNAL): EPIPE comes back as an error.
int sendWithoutSignal(BIO* bio, const char* data, int size)
{
    int fd = -1;
    BIO_get_fd(bio, &fd);
    BIO_clear_retry_flags(bio);
    const ssize_t sent = ::send(fd, data, std::size_t(std::max(size, 0)), MSG_NOSIGNAL);
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(bio);
    return int(sent);
}

BIO_METHOD* socketWithoutSignals()
{
    const BIO_METHOD* socket = BIO_s_socket();
    BIO_METHOD* method = BIO_meth_new(BIO_TYPE_SOCKET, "socket, send without SIGPIPE");
    if (!method) return nullptr;
    BIO_meth_set_write(method, &sendWithoutSignal);
    BIO_meth_set_read(method, BIO_meth_get_read(socket));
    BIO_meth_set_puts(method, BIO_meth_get_puts(socket));
    BIO_meth_set_ctrl(method, BIO_meth_get_ctrl(socket));
    BIO_meth_set_create(method, BIO_meth_get_create(socket));
    BIO_meth_set_destroy(method, BIO_meth_get_destroy(socket));
    return method;
}

/// Redis asked for a client certificate and none is configured: remember
/// it on the connection (app data) for the error that follows, send none.
int noClientCertificate(SSL* ssl, X509**, EVP_PKEY**)
{
    SSL_set_app_data(ssl, reinterpret_cast<void*>(1));
    return 0;
}

} // namespace

bool TlsClient::certificateWanted(ssl_st* ssl)
{
    return SSL_get_app_data(ssl) != nullptr;
}

std::string openSslErrors()
{
    std::string text;
    while (unsigned long code = ERR_get_error())
    {
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof buffer);
        if (!text.empty()) text += "; ";
        text += buffer;
    }
    return text;
}

TlsClient::TlsClient(TlsOptions options)
    : _options(std::move(options))
{
    ERR_clear_error();
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
    if (!context) throw TlsSetupError("tls", "cannot make a TLS context: " + openSslErrors());
    SSL_CTX_set_min_proto_version(context.get(), TLS1_2_VERSION);
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
    // Redis restarting (or CLIENT KILL) closes without close_notify: that is
    // the end of the connection, not an attack on it.
    SSL_CTX_set_options(context.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
    // sendAll() resumes a write where it stopped, from the same buffer.
    SSL_CTX_set_mode(context.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (!_options.caFile.empty())
    {
        if (SSL_CTX_load_verify_locations(context.get(), _options.caFile.c_str(), nullptr) != 1)
            throw TlsSetupError("tlsCaFile", "cannot load '" + _options.caFile + "': " + openSslErrors());
    }
    else if (SSL_CTX_set_default_verify_paths(context.get()) != 1)
        throw TlsSetupError("tlsCaFile", "the system's trust store cannot be loaded: " + openSslErrors());
    if (_options.certFile.empty() != _options.keyFile.empty())
        throw TlsSetupError(_options.certFile.empty() ? "tlsCertFile" : "tlsKeyFile",
                            "a client certificate needs both tlsCertFile and tlsKeyFile");
    if (_options.certFile.empty())
        SSL_CTX_set_client_cert_cb(context.get(), &noClientCertificate);
    else
    {
        if (SSL_CTX_use_certificate_chain_file(context.get(), _options.certFile.c_str()) != 1)
            throw TlsSetupError("tlsCertFile", "cannot load '" + _options.certFile + "': " + openSslErrors());
        // Also refused here: a key that is not the certificate's ("key values mismatch").
        if (SSL_CTX_use_PrivateKey_file(context.get(), _options.keyFile.c_str(), SSL_FILETYPE_PEM) != 1)
            throw TlsSetupError("tlsKeyFile", "cannot load '" + _options.keyFile + "': " + openSslErrors());
    }
    _socketMethod = socketWithoutSignals();
    if (!_socketMethod) throw TlsSetupError("tls", "cannot make a socket BIO: " + openSslErrors());
    _context = context.release();
}

TlsClient::~TlsClient()
{
    SSL_CTX_free(_context);
    BIO_meth_free(_socketMethod);
}

ssl_st* TlsClient::handshake(int fd, const std::string& host, std::chrono::steady_clock::time_point deadline) const
{
    ERR_clear_error();
    SSL* ssl = SSL_new(_context);
    if (!ssl) throw RedisSocketError("TLS: " + openSslErrors());
    try
    {
        BIO* bio = BIO_new(_socketMethod);
        if (!bio) throw RedisSocketError("TLS: " + openSslErrors());
        BIO_set_fd(bio, fd, BIO_NOCLOSE);
        SSL_set_bio(ssl, bio, bio); // the SSL object owns it now
        const std::string& name = _options.serverName.empty() ? host : _options.serverName;
        if (isIpAddress(name))
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
        else
        {
            SSL_set_tlsext_host_name(ssl, name.c_str());
            SSL_set1_host(ssl, name.c_str());
        }
        for (;;)
        {
            short events = 0;
            {
                std::lock_guard<std::mutex> lock(_handshakeSteps);
                ERR_clear_error();
                errno = 0;
                const int result = SSL_connect(ssl);
                if (result == 1) return ssl;
                const int error = SSL_get_error(ssl, result);
                events = error == SSL_ERROR_WANT_READ ? POLLIN : error == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
                if (events == 0) throw RedisSocketError("TLS handshake: " + handshakeFailure(ssl, error));
            }
            if (!waitFor(fd, events, deadline)) throw RedisSocketError("TLS handshake: timed out");
        }
    }
    catch (...)
    {
        SSL_free(ssl);
        throw;
    }
}

} // namespace mt::redis
