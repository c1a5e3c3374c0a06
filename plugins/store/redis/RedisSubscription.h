#pragma once
// Reading a connection in subscribed mode (RESP2: SUBSCRIBE'd, so it only
// receives), shared by the invalidation subscriber (on the master) and the
// failover watch (on a sentinel). Each needs the same guard: a subscriber
// that silently stopped hearing its server would miss what it subscribed
// for, and nothing else would tell.

#include "RedisSocket.h"

#include <Poco/Redis/Array.h>

#include <functional>

namespace mt::redis {

/// Reads `stream` until `wakeFd` is readable, then returns (leaving it
/// readable: the caller tells what the wake meant). Hands every published
/// message to `onMessage` as its parts ("message", channel, payload); skips
/// subscribe confirmations. PINGs once the line has been quiet for a second
/// and throws RedisSocketError when no answer comes within `timeoutMs`, when
/// the connection closes or fails, or when the server sends what a
/// subscribed connection cannot receive (`what` names the connection then).
void readSubscribed(RedisStream& stream, RespParser& parser, int wakeFd, int timeoutMs, const std::string& what,
                    const std::function<void(const Poco::Redis::Array& message)>& onMessage);

} // namespace mt::redis
