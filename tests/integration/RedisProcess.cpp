#include "RedisProcess.h"

#include "ServerProcess.h"

#include <Poco/TemporaryFile.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <utility>

namespace fs = std::filesystem;

namespace mt::test {

RedisProcess::RedisProcess(RedisOptions options)
    : _options(std::move(options))
{
    _dir = Poco::TemporaryFile::tempName() + "-redis";
    fs::create_directories(_dir);
    _port = freePort();
    _tlsDir = _options.tlsFilesFrom.empty() ? _dir : _options.tlsFilesFrom;
    try
    {
        if (_options.tls && _options.tlsFilesFrom.empty()) makeCertificates();
        start();
    }
    catch (...)
    {
        std::error_code ignored;
        fs::remove_all(_dir, ignored); // no destructor runs for a constructor that throws
        throw;
    }
}

void RedisProcess::makeCertificates() const
{
    // EC keys: made in milliseconds, where RSA takes a noticeable while.
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string script =
        "set -e; cd '" + _dir + "'\n"
        "openssl req -x509 " + key + " -keyout ca.key -out ca.crt -days 2 -subj '/CN=mt test CA'\n"
        "openssl req -x509 " + key + " -keyout other-ca.key -out other-ca.crt -days 2 -subj '/CN=unrelated CA'\n"
        "for who in server client; do\n"
        "  openssl req " + key + " -keyout $who.key -out $who.csr -subj \"/CN=mt test $who\"\n"
        "  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > $who.ext\n"
        "  openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $who.crt -days 2 -extfile $who.ext\n"
        "done\n";
    std::string output;
    if (runCommand("/bin/sh", {"-c", script}, output, std::chrono::seconds(30)) != 0)
        throw std::runtime_error("openssl could not make the test certificates:\n" + output);
}

RedisProcess::~RedisProcess()
{
    if (_handle && _paused) ::kill(_handle->id(), SIGCONT);
    if (running())
    {
        ::kill(_handle->id(), SIGKILL);
        int status = 0;
        ::waitpid(_handle->id(), &status, 0);
    }
    std::error_code ignored;
    fs::remove_all(_dir, ignored);
}

std::string RedisProcess::socketPath() const
{
    return _options.unixSocket ? _dir + "/redis.sock" : std::string();
}

void RedisProcess::start()
{
    if (running()) return;
    const std::string log = _dir + "/redis.log";
    std::string extra;
    if (!_options.password.empty()) extra += " --requirepass '" + _options.password + "'";
    if (_options.unixSocket) extra += " --unixsocket '" + socketPath() + "' --unixsocketperm 700";
    std::string listen = " --port " + std::to_string(_port);
    if (_options.tls)
    {
        listen = " --port 0 --tls-port " + std::to_string(_port) + " --tls-cert-file '" + _tlsDir + "/server.crt' --tls-key-file '" +
                 _tlsDir + "/server.key' --tls-ca-cert-file '" + caFile() + "' --tls-auth-clients " +
                 (_options.tlsAuthClients ? "yes" : "no") + " --tls-replication yes";
    }
    if (_options.refusesDemotion) extra += " --rename-command REPLICAOF '' --rename-command SLAVEOF ''";
    if (_options.replicaOf != 0) extra += " --replicaof 127.0.0.1 " + std::to_string(_options.replicaOf);
    if (_options.clusterNode)
    {
        // The bus port is set: the default (port + 10000) may be in the ephemeral range, or taken.
        if (_busPort == 0) _busPort = freePort();
        extra += " --cluster-enabled yes --cluster-config-file '" + _dir + "/nodes.conf' --cluster-node-timeout 500"
                 " --cluster-port " + std::to_string(_busPort);
        if (!_options.password.empty()) extra += " --masterauth '" + _options.password + "'";
        if (_options.tls) extra += " --tls-cluster yes";
    }
    std::string command = "redis-server" + listen +
                          " --bind 127.0.0.1 --save '' --appendonly no --repl-diskless-sync-delay 0 --enable-debug-command local"
                          " --dir '" + _dir + "'" + extra;
    if (!_options.sentinelMaster.empty()) command = sentinelCommand();
    _handle = std::make_unique<Poco::ProcessHandle>(Poco::Process::launch(
        "/bin/sh", {"-c", "exec " + std::string(kDieWithParent) + " " + command + " >>'" + log + "' 2>&1"}));
    _paused = false;
    const bool up = waitUntil([&] { return !running() || cli({"PING"}) == "PONG"; }, std::chrono::seconds(10));
    if (!up || !running())
    {
        std::ifstream in(log);
        std::stringstream text;
        text << in.rdbuf();
        throw std::runtime_error("redis-server did not come up on port " + std::to_string(_port) + ":\n" + text.str());
    }
}

std::string RedisProcess::sentinelCommand() const
{
    // Sentinel rewrites its file as it learns: written once, kept over a restart.
    const std::string conf = _dir + "/sentinel.conf";
    if (!fs::exists(conf))
    {
        const std::string& name = _options.sentinelMaster;
        std::ofstream out(conf);
        if (_options.tls)
            out << "port 0\ntls-port " << _port << "\ntls-cert-file " << _tlsDir << "/server.crt\ntls-key-file " << _tlsDir
                << "/server.key\ntls-ca-cert-file " << caFile() << "\ntls-auth-clients no\ntls-replication yes\n";
        else
            out << "port " << _port << "\n";
        out << "bind 127.0.0.1\ndir " << _dir << "\n"
            << "sentinel monitor " << name << " 127.0.0.1 " << _options.sentinelMasterPort << " 1\n"
            << "sentinel down-after-milliseconds " << name << " 300\n"
            << "sentinel failover-timeout " << name << " 3000\n";
        if (!_options.password.empty()) out << "requirepass " << _options.password << "\n";
        if (!out) throw std::runtime_error("cannot write " + conf);
    }
    return "redis-server '" + conf + "' --sentinel";
}

void RedisProcess::kill()
{
    if (!running()) return;
    resume();
    ::kill(_handle->id(), SIGKILL);
    waitUntil([&] { return !running(); }, std::chrono::seconds(5));
}

bool RedisProcess::running()
{
    if (!_handle) return false;
    int status = 0;
    if (::waitpid(_handle->id(), &status, WNOHANG) == 0) return true;
    _handle.reset();
    return false;
}

void RedisProcess::stop()
{
    if (!running()) return;
    resume();
    ::kill(_handle->id(), SIGTERM);
    if (!waitUntil([&] { return !running(); }, std::chrono::seconds(5)))
    {
        ::kill(_handle->id(), SIGKILL);
        waitUntil([&] { return !running(); }, std::chrono::seconds(5));
    }
}

void RedisProcess::pause()
{
    if (running() && !_paused) ::kill(_handle->id(), SIGSTOP);
    _paused = true;
}

void RedisProcess::resume()
{
    if (running() && _paused) ::kill(_handle->id(), SIGCONT);
    _paused = false;
}

std::string RedisProcess::cli(const std::vector<std::string>& args, std::chrono::seconds timeout) const
{
    std::vector<std::string> all{"-h", "127.0.0.1", "-p", std::to_string(_port)};
    if (!_options.password.empty()) all.insert(all.end(), {"-a", _options.password, "--no-auth-warning"});
    if (_options.tls) all.insert(all.end(), {"--tls", "--cacert", caFile(), "--cert", clientCertFile(), "--key", clientKeyFile()});
    all.insert(all.end(), args.begin(), args.end());
    std::string out;
    runCommand("/usr/bin/redis-cli", all, out, timeout);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

std::string RedisProcess::info(const std::string& section, const std::string& field) const
{
    const std::string text = "\n" + cli({"INFO", section});
    const auto at = text.find("\n" + field + ":");
    if (at == std::string::npos) return {};
    const auto start = at + field.size() + 2;
    return text.substr(start, text.find_first_of("\r\n", start) - start);
}

bool RedisProcess::caughtUpWith(const RedisProcess& master) const
{
    const std::string offset = info("replication", "master_repl_offset");
    return !offset.empty() && offset == master.info("replication", "master_repl_offset");
}

bool RedisProcess::knowsReplica(const RedisProcess& replica) const
{
    return cli({"SENTINEL", "REPLICAS", _options.sentinelMaster}).find(std::to_string(replica.port())) != std::string::npos;
}

long long RedisProcess::commandCalls(const std::string& command) const
{
    // "cmdstat_evalsha:calls=3,usec=..." per command
    const std::string stats = cli({"INFO", "commandstats"});
    const std::string tag = "cmdstat_" + command + ":calls=";
    auto pos = stats.find(tag);
    if (pos == std::string::npos) return 0;
    return std::stoll(stats.substr(pos + tag.size()));
}

} // namespace mt::test
