#pragma once
// A Lua script run atomically by Redis: sent by its SHA1 (EVALSHA), and in
// full (EVAL, which also caches it) only when Redis answers NOSCRIPT — after
// a restart or SCRIPT FLUSH. So a script costs one round trip, as a command.

#include "RedisPipeline.h"

#include <string>
#include <vector>

namespace mt::redis {

class RedisScript
{
public:
    explicit RedisScript(std::string source);

    /// The reply; a Redis error reply (other than NOSCRIPT) is thrown as
    /// mt::StoreUnavailable naming the script, since a failing script means
    /// a Redis that cannot serve sessions.
    Reply run(RedisPipeline& redis, const std::vector<std::string>& keys, const std::vector<std::string>& args,
              RedisPipeline::Migration migration = RedisPipeline::Migration::Follow) const;
    /// run() that returns an error reply instead of throwing it.
    Reply call(RedisPipeline& redis, const std::vector<std::string>& keys, const std::vector<std::string>& args,
               RedisPipeline::Migration migration) const;
    const std::string& sha() const { return _sha; }

private:
    std::string _source;
    std::string _sha;
};

} // namespace mt::redis
