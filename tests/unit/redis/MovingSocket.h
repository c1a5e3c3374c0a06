#pragma once
// A name that moves in a failover, as a DNS name or a virtual IP does, played
// with a Unix socket path: a symbolic link, replaced at once (rename) to lead
// to another redis-server. New connections reach that one; open ones stay.
#include "RedisProcess.h"
#include "RedisSettings.h"

#include <filesystem>
#include <string>

namespace mt::redis::test {

class MovingSocket
{
public:
    /// In `redis`' directory; leads nowhere until pointTo().
    explicit MovingSocket(const mt::test::RedisProcess& redis)
        : _path(std::filesystem::path(redis.socketPath()).parent_path() / "moving.sock")
    {
    }

    std::string path() const { return _path.string(); }

    /// From now on the path leads to `redis` (started with RedisOptions::unixSocket).
    void pointTo(const mt::test::RedisProcess& redis) const
    {
        const std::filesystem::path next = _path.string() + ".next";
        std::filesystem::create_symlink(redis.socketPath(), next);
        std::filesystem::rename(next, _path);
    }

private:
    const std::filesystem::path _path;
};

/// Two masters (not replicas of each other) and a name leading to the first:
/// pointing the name at the second is a move of the master behind it.
struct TwoMastersOneName
{
    TwoMastersOneName() { name.pointTo(before); }

    /// The name to connect to, with a timeout long enough for a burst.
    RedisSettings settings() const
    {
        RedisSettings settings;
        settings.socket = name.path();
        settings.timeoutMs = 2000;
        return settings;
    }

    const mt::test::RedisProcess before{mt::test::RedisOptions{"", true}};
    const mt::test::RedisProcess after{mt::test::RedisOptions{"", true}};
    const MovingSocket name{after};
};

} // namespace mt::redis::test
