#pragma once
// A deliberately dumb blocking HTTP client over a raw socket, so tests
// control exactly which bytes go out (pipelining, stalls, garbage).

#include <chrono>
#include <map>
#include <string>

namespace mt::http::test {

struct Reply
{
    int status = 0;
    std::map<std::string, std::string> headers; ///< names lower-cased
    std::string body;
    bool ok = false; ///< a complete response was read

    std::string header(const std::string& lowerName) const
    {
        auto it = headers.find(lowerName);
        return it == headers.end() ? "" : it->second;
    }
};

class TestClient
{
public:
    explicit TestClient(unsigned short port, int timeoutMs = 5000);
    ~TestClient();
    TestClient(const TestClient&) = delete;
    TestClient& operator=(const TestClient&) = delete;

    bool connected() const { return _fd >= 0; }
    void send(const std::string& bytes);
    /// Ends what this client sends (shutdown SHUT_WR); it can still read.
    void shutdownWrite();
    /// Reads one response; for HEAD requests pass head=true (no body expected).
    Reply read(bool head = false);
    /// One request/response round trip.
    Reply roundTrip(const std::string& request, bool head = false);
    /// True if the server closed the connection (EOF) within the timeout.
    bool waitClosed(int timeoutMs = 5000);
    /// Everything until EOF (bounded by the timeout).
    std::string readAll();

private:
    bool fill();
    bool readLine(std::string& line);
    bool readN(std::size_t n, std::string& out);

    int _fd = -1;
    std::string _buf;
    std::chrono::steady_clock::time_point _deadline;
    int _timeoutMs;
};

/// GET request text with Host header.
std::string get(const std::string& path, const std::string& extra = "");

} // namespace mt::http::test
