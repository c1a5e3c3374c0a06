#pragma once
// A private Redis Cluster for a test: three masters and a replica each
// (RedisProcess clusterNode), plain or all on TLS, formed with redis-cli --cluster create, the
// slots shared among the masters. The constructor returns once every node
// says the cluster is ok and every node, replicas too, is in the slot map;
// it throws with redis-cli's output otherwise. Each RedisProcess stops with
// this object, whatever happened to the test. SlotMigration moves a slot to
// another master step by step.

#include "RedisProcess.h"
#include "ServerProcess.h"

#include <chrono>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace mt::test {

class RedisClusterProcesses
{
public:
    /// With `tls`, everything is on TLS (clients, replication, the bus), with
    /// the first node's CA and certificates (its tlsFiles()).
    explicit RedisClusterProcesses(const std::string& password = {}, bool tls = false)
    {
        RedisOptions options;
        options.clusterNode = true;
        options.password = password;
        options.tls = tls;
        for (int i = 0; i < 6; ++i)
        {
            _nodes.push_back(std::make_unique<RedisProcess>(options));
            if (tls) options.tlsFilesFrom = _nodes.front()->tlsFiles();
        }
        std::vector<std::string> args{"--cluster", "create"};
        for (const auto& node : _nodes) args.push_back(node->address());
        args.insert(args.end(), {"--cluster-replicas", "1", "--cluster-yes"});
        // Through the first node's cli(): its password and TLS apply to all.
        const std::string out = _nodes.front()->cli(args, std::chrono::seconds(30));
        if (out.find("[OK] All 16384 slots covered") == std::string::npos)
            throw std::runtime_error("redis-cli --cluster create failed:\n" + out);
        const bool ok = waitUntil(
            [&] {
                const std::string slots = _nodes.front()->cli({"CLUSTER", "SLOTS"});
                for (const auto& node : _nodes)
                    if (node->cli({"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos ||
                        slots.find("\n" + std::to_string(node->port()) + "\n") == std::string::npos)
                        return false;
                return true;
            },
            std::chrono::seconds(30));
        if (!ok) throw std::runtime_error("the cluster did not come up:\n" + _nodes.front()->cli({"CLUSTER", "NODES"}));
    }

    /// The nodes still running.
    std::vector<RedisProcess*> nodes() const
    {
        std::vector<RedisProcess*> all;
        for (const auto& node : _nodes)
            if (node->running()) all.push_back(node.get());
        return all;
    }

    /// The running master that holds `key` ("1" to EXISTS; the others answer MOVED or 0); null if none.
    RedisProcess* holderOf(const std::string& key) const
    {
        for (RedisProcess* node : nodes())
            if (node->cli({"ROLE"}).rfind("master", 0) == 0 && node->cli({"EXISTS", key}) == "1") return node;
        return nullptr;
    }

    /// A running master other than `master`; null if none.
    RedisProcess* masterOtherThan(const RedisProcess& master) const
    {
        for (RedisProcess* node : nodes())
            if (node != &master && node->cli({"ROLE"}).rfind("master", 0) == 0) return node;
        return nullptr;
    }

    /// The running replica of `master`; null if none.
    RedisProcess* replicaOf(const RedisProcess& master) const
    {
        for (RedisProcess* node : nodes())
            if (node->info("replication", "master_port") == std::to_string(master.port())) return node;
        return nullptr;
    }

private:
    std::vector<std::unique_ptr<RedisProcess>> _nodes;
};

/// One slot moved from its master to another by hand, a step at a time, as
/// redis-cli --cluster reshard does it. Each step throws with Redis' answer
/// when it is not OK.
class SlotMigration
{
public:
    SlotMigration(const RedisClusterProcesses& cluster, int slot, RedisProcess& from, RedisProcess& to,
                  std::string password)
        : _cluster(cluster), _slot(std::to_string(slot)), _from(from), _to(to), _password(std::move(password))
    {
    }

    /// IMPORTING on the node it goes to, then MIGRATING on its master.
    void start()
    {
        expectOk(_to, {"CLUSTER", "SETSLOT", _slot, "IMPORTING", _from.cli({"CLUSTER", "MYID"})});
        expectOk(_from, {"CLUSTER", "SETSLOT", _slot, "MIGRATING", _to.cli({"CLUSTER", "MYID"})});
    }

    /// Hands one key over (MIGRATE).
    void move(const std::string& key)
    {
        std::vector<std::string> migrate{"MIGRATE", "127.0.0.1", std::to_string(_to.port()), "", "0", "5000"};
        if (!_password.empty()) migrate.insert(migrate.end(), {"AUTH", _password});
        migrate.insert(migrate.end(), {"KEYS", key});
        expectOk(_from, migrate);
    }

    /// The keys still on the slot's master.
    std::vector<std::string> left() const
    {
        std::istringstream lines(_from.cli({"CLUSTER", "GETKEYSINSLOT", _slot, "1000"}));
        std::vector<std::string> keys;
        for (std::string key; std::getline(lines, key);)
            if (!key.empty()) keys.push_back(key);
        return keys;
    }

    /// The slot is the other master's: told to it first, then to every master.
    void finish()
    {
        const std::string to = _to.cli({"CLUSTER", "MYID"});
        expectOk(_to, {"CLUSTER", "SETSLOT", _slot, "NODE", to});
        expectOk(_from, {"CLUSTER", "SETSLOT", _slot, "NODE", to});
        for (RedisProcess* node : _cluster.nodes())
            if (node != &_to && node != &_from && node->cli({"ROLE"}).rfind("master", 0) == 0)
                expectOk(*node, {"CLUSTER", "SETSLOT", _slot, "NODE", to});
    }

private:
    static void expectOk(const RedisProcess& node, const std::vector<std::string>& command)
    {
        const std::string answer = node.cli(command);
        if (answer != "OK")
            throw std::runtime_error(command.front() + " " + command.at(1) + " on " + node.address() + ": " + answer);
    }

    const RedisClusterProcesses& _cluster;
    const std::string _slot;
    RedisProcess& _from;
    RedisProcess& _to;
    const std::string _password;
};

} // namespace mt::test
