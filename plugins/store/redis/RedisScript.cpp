#include "RedisScript.h"

#include "RedisSocket.h"

#include "mt/SessionStoreAdapter.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA1Engine.h>

namespace mt::redis {

namespace {

std::vector<std::string> command(const char* verb, const std::string& script, const std::vector<std::string>& keys,
                                 const std::vector<std::string>& args)
{
    std::vector<std::string> cmd;
    cmd.reserve(3 + keys.size() + args.size());
    cmd.push_back(verb);
    cmd.push_back(script);
    cmd.push_back(std::to_string(keys.size()));
    cmd.insert(cmd.end(), keys.begin(), keys.end());
    cmd.insert(cmd.end(), args.begin(), args.end());
    return cmd;
}

} // namespace

RedisScript::RedisScript(std::string source) : _source(std::move(source))
{
    Poco::SHA1Engine sha1;
    sha1.update(_source);
    _sha = Poco::DigestEngine::digestToHex(sha1.digest());
}

Reply RedisScript::call(RedisPipeline& redis, const std::vector<std::string>& keys, const std::vector<std::string>& args,
                        RedisPipeline::Migration migration) const
{
    Reply reply = redis.call(command("EVALSHA", _sha, keys, args), migration);
    if (reply->isError() && errorMessage(reply).rfind("NOSCRIPT", 0) == 0)
        reply = redis.call(command("EVAL", _source, keys, args), migration);
    return reply;
}

Reply RedisScript::run(RedisPipeline& redis, const std::vector<std::string>& keys, const std::vector<std::string>& args,
                       RedisPipeline::Migration migration) const
{
    Reply reply = call(redis, keys, args, migration);
    if (reply->isError()) throw StoreUnavailable("redis script " + _sha.substr(0, 8) + " failed: " + errorMessage(reply));
    return reply;
}

} // namespace mt::redis
