#pragma once
// A test client of GET /cluster/events as Server-Sent Events: it connects,
// and a thread collects every message (id, event, data) as it arrives, the
// way a browser's EventSource parses them.

#include <Poco/Net/HTTPClientSession.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mt::test {

struct SseMessage
{
    std::string id;
    std::string event; ///< "" for the default ("message")
    std::string data;
};

class MonitorSseClient
{
public:
    /// Connects and starts reading; `headers` e.g. {"Last-Event-ID", "12"}.
    MonitorSseClient(unsigned short port, const std::string& target, const std::map<std::string, std::string>& headers = {});
    ~MonitorSseClient(); ///< close()

    int status() const { return _status; }
    std::string contentType() const { return _contentType; }
    std::vector<SseMessage> messages() const;
    /// True once the server ended the stream (or the connection broke).
    bool ended() const;
    /// Waits until `check(messages())` holds; returns its last result.
    bool waitFor(const std::function<bool(const std::vector<SseMessage>&)>& check, std::chrono::milliseconds timeout);
    void close();

private:
    void readLoop(std::istream& in);

    std::unique_ptr<Poco::Net::HTTPClientSession> _session;
    int _status = 0;
    std::string _contentType;
    mutable std::mutex _mutex;
    std::condition_variable _changed;
    std::vector<SseMessage> _messages;
    bool _ended = false;
    std::thread _reader;
};

} // namespace mt::test
