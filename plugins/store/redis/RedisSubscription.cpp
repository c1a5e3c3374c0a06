#include "RedisSubscription.h"

#include <Poco/Redis/Type.h>

#include <cerrno>
#include <cstring>
#include <poll.h>

namespace mt::redis {

namespace {

using Poco::Redis::Array;
using Poco::Redis::Type;

constexpr int kQuietMs = 1000;

} // namespace

void readSubscribed(RedisStream& stream, RespParser& parser, int wakeFd, int timeoutMs, const std::string& what,
                    const std::function<void(const Array& message)>& onMessage)
{
    bool pingOut = false;
    auto handOut = [&] {
        while (Reply message = parser.next())
        {
            auto* array = dynamic_cast<const Type<Array>*>(message.get());
            if (!array || array->value().isNull() || array->value().size() < 2)
                throw RedisSocketError("unexpected message on " + what + ": " + printableReply(message));
            // Anything heard shows the line is alive, a PING's answer too.
            pingOut = false;
            const Array& parts = array->value();
            if (bulkText(*parts.begin()) == "message" && parts.size() == 3) onMessage(parts);
        }
    };
    // What came with the answers to the setup commands first.
    handOut();
    for (;;)
    {
        pollfd fds[2] = {{stream.fd(), POLLIN, 0}, {wakeFd, POLLIN, 0}};
        const int r = ::poll(fds, 2, pingOut ? timeoutMs : kQuietMs);
        if (r < 0)
        {
            if (errno == EINTR) continue;
            throw RedisSocketError(std::string("poll: ") + std::strerror(errno));
        }
        if (fds[1].revents) return;
        if (r == 0)
        {
            if (pingOut) throw RedisSocketError("no answer to PING within " + std::to_string(timeoutMs) + " ms");
            stream.sendAll(encodeCommand({"PING"}), std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs));
            pingOut = true;
            continue;
        }
        if (stream.receiveNow(parser) == RedisStream::Received::Closed)
            throw RedisSocketError(stream.explain("connection closed by redis"));
        handOut();
    }
}

} // namespace mt::redis
