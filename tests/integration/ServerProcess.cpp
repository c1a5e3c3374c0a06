#include "ServerProcess.h"

#include <Poco/File.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>
#include <Poco/TemporaryFile.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <sys/wait.h>

namespace fs = std::filesystem;

namespace mt::test {

bool waitUntil(const std::function<bool()>& check, std::chrono::milliseconds timeout, std::chrono::milliseconds every)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true)
    {
        if (check()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(every);
    }
}

std::vector<std::string> threadNamesOf(int pid)
{
    std::vector<std::string> names;
    std::error_code error;
    for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", error))
    {
        std::ifstream comm(task.path() / "comm");
        std::string name;
        if (std::getline(comm, name)) names.push_back(name); // a thread that ended meanwhile has none
    }
    std::sort(names.begin(), names.end());
    return names;
}

ServerProcess::ServerProcess(const std::vector<std::string>& extraPlugins)
{
    _dir = Poco::TemporaryFile::tempName() + "-mt-it";
    fs::create_directories(_dir + "/plugins");
    for (const auto& entry : fs::directory_iterator(MT_PLUGIN_DIR))
        if (entry.path().extension() == ".so") fs::copy_file(entry.path(), _dir + "/plugins/" + entry.path().filename().string());
    for (const auto& plugin : extraPlugins)
        fs::copy_file(plugin, _dir + "/plugins/" + fs::path(plugin).filename().string());
    std::random_device random;
    _token = "it-" + std::to_string(random()) + std::to_string(random());
}

ServerProcess::~ServerProcess()
{
    kill();
    std::error_code ignored;
    fs::remove_all(_dir, ignored);
}

void ServerProcess::writeConfig(const std::string& properties)
{
    auto has = [&](const std::string& key) {
        return properties.rfind(key + "=", 0) == 0 || properties.find("\n" + key + "=") != std::string::npos;
    };
    std::ofstream out(configPath());
    out << properties << "\n";
    if (!has("http.port"))
    {
        if (_port == 0) _port = freePort(); // a rewrite for reload keeps the port the server runs on
        out << "http.port=" << _port << "\n";
    }
    else
    {
        auto pos = properties.find("http.port=");
        _port = static_cast<unsigned short>(std::stoi(properties.substr(pos + 10)));
    }
    if (!has("http.host")) out << "http.host=127.0.0.1\n";
    if (!has("plugin.dir")) out << "plugin.dir=" << pluginDir() << "\n";
    if (!has("admin.token")) out << "admin.token=" << _token << "\n";
    if (!has("node.name")) out << "node.name=it1\n";
    if (!has("http.drainTimeout")) out << "http.drainTimeout=5\n";
}

void ServerProcess::start(const std::vector<std::string>& extraArgs)
{
    std::vector<std::string> args{"--config", configPath()};
    args.insert(args.end(), extraArgs.begin(), extraArgs.end());
    std::string log = _dir + "/output.log";
    // The shell only redirects; exec keeps the pid ours, so signals reach the server itself.
    std::string command = "exec ";
    if (!_environment.empty())
    {
        command += "env";
        for (const auto& assignment : _environment) command += " '" + assignment + "'";
        command += " ";
    }
    command += std::string(kDieWithParent) + " \"" + MT_BUILD_DIR + "/bin/microtomcat\"";
    for (const auto& a : args) command += " '" + a + "'";
    command += " >>'" + log + "' 2>&1";
    _handle = std::make_unique<Poco::ProcessHandle>(Poco::Process::launch("/bin/sh", {"-c", command}));
    _exitCode.reset();
    bool up = waitUntil(
        [&] {
            if (!running()) return true;
            try
            {
                return httpRequest(_port, "GET", "/ping").status == 200;
            }
            catch (...)
            {
                return false;
            }
        },
        std::chrono::seconds(20));
    if (!up || !running())
    {
        std::string out = output();
        kill();
        throw std::runtime_error("microtomcat did not come up on port " + std::to_string(_port) + ":\n" + out);
    }
}

int ServerProcess::runToExit(const std::vector<std::string>& args, std::string& output,
                             std::chrono::milliseconds timeout)
{
    return runCommand(std::string(MT_BUILD_DIR) + "/bin/microtomcat", args, output, timeout);
}

int ServerProcess::pid() const
{
    return _handle ? _handle->id() : -1;
}

bool ServerProcess::running()
{
    if (!_handle || _exitCode) return false;
    int status = 0;
    pid_t r = ::waitpid(_handle->id(), &status, WNOHANG);
    if (r == 0) return true;
    _exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return false;
}

void ServerProcess::signal(int sig)
{
    if (running()) ::kill(_handle->id(), sig);
}

int ServerProcess::stop(std::chrono::milliseconds timeout)
{
    if (!running()) return _exitCode.value_or(-1);
    signal(SIGTERM);
    if (!waitUntil([&] { return !running(); }, timeout))
    {
        kill();
        return -1;
    }
    return _exitCode.value_or(-1);
}

void ServerProcess::kill()
{
    if (!running()) return;
    ::kill(_handle->id(), SIGKILL);
    int status = 0;
    ::waitpid(_handle->id(), &status, 0);
    _exitCode = -1;
}

std::string ServerProcess::output() const
{
    std::ifstream in(_dir + "/output.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string HttpReply::header(const std::string& name) const
{
    auto it = headers.find(Poco::toLower(name));
    return it == headers.end() ? std::string() : it->second;
}

HttpReply httpRequest(unsigned short port, const std::string& method, const std::string& target,
                      const std::map<std::string, std::string>& headers, const std::string& body)
{
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [name, value] : headers) request.set(name, value);
    if (!body.empty() || method == "POST" || method == "PUT") request.setContentLength(static_cast<std::streamsize>(body.size()));
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    HttpReply reply;
    reply.status = response.getStatus();
    Poco::StreamCopier::copyToString(in, reply.body);
    for (const auto& [name, value] : response) reply.headers.emplace(Poco::toLower(name), value);
    return reply;
}

std::vector<std::string> transitionsSeenAt(unsigned short port, const std::string& node)
{
    std::vector<std::string> result;
    auto reply = httpRequest(port, "GET", "/cluster/events?since=0");
    auto events = Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>()->getArray("events");
    std::uint64_t previous = 0;
    for (std::size_t i = 0; i < events->size(); ++i)
    {
        auto e = events->getObject(static_cast<unsigned>(i));
        auto sequence = e->getValue<std::uint64_t>("sequence");
        if (sequence <= previous) throw std::runtime_error("event log out of order: " + reply.body);
        previous = sequence;
        if (e->getValue<std::string>("node") == node)
            result.push_back(e->getValue<std::string>("from") + "->" + e->getValue<std::string>("to"));
    }
    return result;
}

int runCommand(const std::string& command, const std::vector<std::string>& args, std::string& output,
               std::chrono::milliseconds timeout)
{
    Poco::Pipe outPipe;
    Poco::ProcessHandle handle = Poco::Process::launch(command, args, nullptr, &outPipe, &outPipe);
    std::string collected;
    std::thread reader([&] {
        Poco::PipeInputStream in(outPipe);
        Poco::StreamCopier::copyToString(in, collected);
    });
    int code = -1;
    bool exited = waitUntil(
        [&] {
            int status = 0;
            pid_t r = ::waitpid(handle.id(), &status, WNOHANG);
            if (r == 0) return false;
            code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            return true;
        },
        timeout, std::chrono::milliseconds(5));
    if (!exited)
    {
        ::kill(handle.id(), SIGKILL);
        int status = 0;
        ::waitpid(handle.id(), &status, 0);
    }
    outPipe.close(Poco::Pipe::CLOSE_WRITE);
    reader.join();
    output = collected;
    return code;
}

std::string rawExchange(unsigned short port, const std::string& bytes, std::chrono::milliseconds timeout)
{
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", port));
    socket.setReceiveTimeout(Poco::Timespan(static_cast<long>(timeout.count() / 1000), static_cast<long>(timeout.count() % 1000) * 1000));
    if (!bytes.empty()) socket.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
    std::string reply;
    char buffer[4096];
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline)
    {
        int n = 0;
        try
        {
            n = socket.receiveBytes(buffer, sizeof buffer);
        }
        catch (const Poco::TimeoutException&)
        {
            break;
        }
        catch (const Poco::Exception&)
        {
            break;
        }
        if (n <= 0) break;
        reply.append(buffer, static_cast<std::size_t>(n));
    }
    return reply;
}

} // namespace mt::test
