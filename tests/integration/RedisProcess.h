#pragma once
// A private redis-server for a test: a free loopback port, a temp directory,
// no persistence (--save "" --appendonly no), DEBUG allowed from loopback (a
// test may turn active expiry off to see what a command does to an expired
// key). The destructor kills it and removes the directory whatever happened
// to the test. stop() and start() restart it on the same port (data is lost:
// nothing is persisted), kill() crashes it, pause() and resume() freeze it
// (SIGSTOP/SIGCONT) to play a Redis that is slow.
//
// RedisOptions add a password (requirepass), a Unix socket, and TLS: a test
// CA and server and client certificates made with openssl in the temp
// directory (or another RedisProcess's, tlsFilesFrom), the server on TLS only
// (port 0, TLS replication too), optionally asking clients for their
// certificate. They also make a replica of another RedisProcess (a master
// starts a replica's first sync at once: no diskless-sync delay), or a
// Sentinel watching one.

#include <Poco/Process.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace mt::test {

struct RedisOptions
{
    std::string password;    ///< requirepass: the default user needs AUTH; cli() sends it
    bool unixSocket = false; ///< also listen on socketPath()
    bool tls = false;        ///< port() is a tls-port, for a certificate naming 127.0.0.1 and localhost
    bool tlsAuthClients = false; ///< tls-auth-clients yes: a client needs a certificate of caFile()'s CA
    /// With tls: the CA and certificates of another RedisProcess (its
    /// tlsFiles()) instead of new ones, so that replicas, sentinels and
    /// clients trust each other. That process must outlive this one.
    std::string tlsFilesFrom = {};
    unsigned short replicaOf = 0; ///< a replica of the Redis on this loopback port (--replicaof)
    /// Not empty: a Sentinel (redis-server --sentinel) instead of a data
    /// server, monitoring the master of this name at 127.0.0.1 on
    /// sentinelMasterPort, quorum 1, down after 300 ms (a failover then takes
    /// seconds); `password` is the sentinel's own requirepass.
    std::string sentinelMaster = {};
    unsigned short sentinelMasterPort = 0;
    /// REPLICAOF and SLAVEOF renamed away: a master the sentinels cannot
    /// demote after a failover, as one they cannot reach (a partition) would stay.
    bool refusesDemotion = false;
    /// A Redis Cluster node (cluster-enabled, its bus on another free port,
    /// node timeout 500 ms), not yet in a cluster (RedisClusterProcesses). With a
    /// password, replicas log in to their masters with it (masterauth).
    bool clusterNode = false;
};

class RedisProcess
{
public:
    /// Starts it and waits for PING (throws with its log if it does not come up).
    explicit RedisProcess(RedisOptions options = {});
    ~RedisProcess();

    RedisProcess(const RedisProcess&) = delete;
    RedisProcess& operator=(const RedisProcess&) = delete;

    unsigned short port() const { return _port; }
    /// The Unix socket's path ("" without RedisOptions::unixSocket).
    std::string socketPath() const;
    /// With RedisOptions::tls: the CA that signed the server's and the
    /// client's certificate, the client's, and an unrelated CA.
    std::string caFile() const { return _tlsDir + "/ca.crt"; }
    std::string clientCertFile() const { return _tlsDir + "/client.crt"; }
    std::string clientKeyFile() const { return _tlsDir + "/client.key"; }
    std::string otherCaFile() const { return _tlsDir + "/other-ca.crt"; }
    /// Where those files are (for RedisOptions::tlsFilesFrom).
    const std::string& tlsFiles() const { return _tlsDir; }
    bool tls() const { return _options.tls; }
    void start();
    /// SIGTERM and wait for the exit (SIGKILL if it lingers).
    void stop();
    /// SIGKILL and wait: a crash, with no goodbye to clients or replicas.
    void kill();
    void pause();
    void resume();
    bool running();

    /// redis-cli -p <port> <args...>: its output, trailing newline removed.
    std::string cli(const std::vector<std::string>& args, std::chrono::seconds timeout = std::chrono::seconds(5)) const;
    /// A field of INFO <section> ("" when absent), e.g. ("replication", "master_repl_offset").
    std::string info(const std::string& section, const std::string& field) const;
    /// A replica whose replication offset is `master`'s: it has every write made there.
    bool caughtUpWith(const RedisProcess& master) const;
    /// A sentinel that has learned of `replica` (it needs one to fail over to).
    bool knowsReplica(const RedisProcess& replica) const;
    /// calls of one command in INFO commandstats (e.g. "evalsha"); 0 if never called.
    long long commandCalls(const std::string& command) const;
    /// "127.0.0.1:<port>"
    std::string address() const { return "127.0.0.1:" + std::to_string(_port); }

private:
    void makeCertificates() const;
    std::string sentinelCommand() const;

    RedisOptions _options;
    std::string _dir;
    std::string _tlsDir; // _dir, or RedisOptions::tlsFilesFrom
    unsigned short _port = 0;
    unsigned short _busPort = 0; // a cluster node's bus (kept over a restart)
    std::unique_ptr<Poco::ProcessHandle> _handle;
    bool _paused = false;
};

} // namespace mt::test
