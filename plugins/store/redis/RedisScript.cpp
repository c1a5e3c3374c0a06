#include "RedisScript.h"

#include "mt/SessionStoreAdapter.h"

#include <Poco/DigestEngine.h>
#include <Poco/Redis/Error.h>
#include <Poco/SHA1Engine.h>

namespace mt::redis {

namespace {

std::string errorText(const Reply& reply)
{
    auto* error = dynamic_cast<const Poco::Redis::Type<Poco::Redis::Error>*>(reply.get());
    return error ? error->value().getMessage() : "error reply";
}

Poco::Redis::Array command(const char* verb, const std::string& script, const std::vector<std::string>& keys,
                           const std::vector<std::string>& args)
{
    Poco::Redis::Array cmd;
    cmd << verb << script << std::to_string(keys.size());
    for (const auto& key : keys) cmd << key;
    for (const auto& arg : args) cmd << arg;
    return cmd;
}

} // namespace

RedisScript::RedisScript(std::string source) : _source(std::move(source))
{
    Poco::SHA1Engine sha1;
    sha1.update(_source);
    _sha = Poco::DigestEngine::digestToHex(sha1.digest());
}

Reply RedisScript::run(Connection& connection, const std::vector<std::string>& keys,
                       const std::vector<std::string>& args) const
{
    Reply reply = connection.call(command("EVALSHA", _sha, keys, args));
    if (reply->isError() && errorText(reply).rfind("NOSCRIPT", 0) == 0)
        reply = connection.call(command("EVAL", _source, keys, args));
    if (reply->isError()) throw StoreUnavailable("redis script " + _sha.substr(0, 8) + " failed: " + errorText(reply));
    return reply;
}

} // namespace mt::redis
