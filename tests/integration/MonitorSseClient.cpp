#include "MonitorSseClient.h"

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

namespace mt::test {

MonitorSseClient::MonitorSseClient(unsigned short port, const std::string& target,
                                   const std::map<std::string, std::string>& headers)
    : _session(std::make_unique<Poco::Net::HTTPClientSession>("127.0.0.1", port))
{
    // Longer than the keep-alive interval: a quiet stream is not a dead one.
    _session->setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest request("GET", target, Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Accept", "text/event-stream");
    for (const auto& [name, value] : headers) request.set(name, value);
    _session->sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = _session->receiveResponse(response);
    _status = response.getStatus();
    _contentType = response.getContentType();
    if (_status != 200)
    {
        std::string body;
        Poco::StreamCopier::copyToString(in, body);
        _ended = true;
        return;
    }
    _reader = std::thread([this, &in] { readLoop(in); });
}

MonitorSseClient::~MonitorSseClient()
{
    close();
}

void MonitorSseClient::readLoop(std::istream& in)
{
    SseMessage current;
    bool any = false;
    std::string line;
    try
    {
        while (std::getline(in, line))
        {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.empty())
            {
                if (any)
                {
                    std::lock_guard<std::mutex> lock(_mutex);
                    _messages.push_back(current);
                    _changed.notify_all();
                }
                current = SseMessage();
                any = false;
                continue;
            }
            if (line[0] == ':') continue; // comment (keep-alive)
            auto colon = line.find(':');
            std::string field = line.substr(0, colon);
            std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
            if (!value.empty() && value[0] == ' ') value.erase(0, 1);
            if (field == "id") current.id = value, any = true;
            else if (field == "event") current.event = value, any = true;
            else if (field == "data") current.data += (current.data.empty() ? "" : "\n") + value, any = true;
        }
    }
    catch (const std::exception&)
    {
    }
    std::lock_guard<std::mutex> lock(_mutex);
    _ended = true;
    _changed.notify_all();
}

std::vector<SseMessage> MonitorSseClient::messages() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _messages;
}

bool MonitorSseClient::ended() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _ended;
}

bool MonitorSseClient::waitFor(const std::function<bool(const std::vector<SseMessage>&)>& check,
                               std::chrono::milliseconds timeout)
{
    std::unique_lock<std::mutex> lock(_mutex);
    return _changed.wait_for(lock, timeout, [&] { return check(_messages); });
}

void MonitorSseClient::close()
{
    if (_session)
    {
        try
        {
            _session->socket().shutdown();
        }
        catch (const std::exception&)
        {
        }
    }
    if (_reader.joinable()) _reader.join();
    _session.reset();
}

} // namespace mt::test
