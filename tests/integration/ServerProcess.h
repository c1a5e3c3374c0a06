#pragma once
// Runs the real `microtomcat` executable for an integration test: a private
// directory with its own server.properties and plugin directory, a free
// loopback port, output captured to files, readiness by polling /ping, and
// cleanup (SIGTERM, then SIGKILL) whatever happens to the test.
//
// A test process that dies without unwinding (std::terminate, SIGPIPE, a
// crash, kill -9) runs no destructor: the processes it started then die with
// it instead (kDieWithParent). That signal follows the *thread* that started
// them, so start processes from the test's own thread, never from one that
// ends before them.

#include "FreePort.h"

#include <Poco/Process.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mt::test {

/// Prefix for a child's command line: SIGKILL when the starting thread dies
/// (PR_SET_PDEATHSIG, kept across exec; setpriv is in util-linux).
inline constexpr const char* kDieWithParent = "setpriv --pdeathsig KILL";


/// Polls `check` until it returns true or `timeout` passes. Returns the last result.
bool waitUntil(const std::function<bool()>& check, std::chrono::milliseconds timeout,
               std::chrono::milliseconds every = std::chrono::milliseconds(20));

#if defined(__SANITIZE_THREAD__)
#define MT_TEST_THREAD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MT_TEST_THREAD_SANITIZER 1
#endif
#endif

/// Threads of a node that keep the executable's name: its main thread, and
/// ThreadSanitizer's background thread in a build with it.
#ifdef MT_TEST_THREAD_SANITIZER
inline constexpr int kThreadsNamedAfterTheExecutable = 2;
#else
inline constexpr int kThreadsNamedAfterTheExecutable = 1;
#endif

/// The names of a process's threads (/proc/<pid>/task/*/comm), sorted; empty
/// if there is no such process.
std::vector<std::string> threadNamesOf(int pid);

class ServerProcess
{
public:
    /// Makes a fresh directory with a plugins/ folder holding copies of
    /// build/plugins/*.so (and of `extraPlugins`).
    explicit ServerProcess(const std::vector<std::string>& extraPlugins = {});
    ~ServerProcess(); ///< kills the process if still running, removes the directory

    const std::string& dir() const { return _dir; }
    std::string pluginDir() const { return _dir + "/plugins"; }
    std::string configPath() const { return _dir + "/server.properties"; }
    unsigned short port() const { return _port; }
    const std::string& adminToken() const { return _token; }

    /// Writes server.properties: the test's lines plus defaults for the port,
    /// plugin dir, node name and admin token unless the lines set them.
    void writeConfig(const std::string& properties);
    /// Variables ("NAME=value") the process gets on top of this one's, from the next start().
    void setEnvironment(std::vector<std::string> assignments) { _environment = std::move(assignments); }
    /// Starts and waits for /ping (throws with the output if it does not come up).
    void start(const std::vector<std::string>& extraArgs = {});
    /// Runs the executable to completion (for start-up failures); returns the exit code, output in `output`.
    int runToExit(const std::vector<std::string>& args, std::string& output, std::chrono::milliseconds timeout);

    int pid() const;
    std::vector<std::string> threadNames() const { return threadNamesOf(pid()); }
    bool running();
    void signal(int signal);
    /// SIGTERM, then waits up to `timeout` for the exit; returns the exit code (-1 if it had to be killed).
    int stop(std::chrono::milliseconds timeout = std::chrono::seconds(15));
    void kill();
    /// Everything the process wrote so far (stdout + stderr).
    std::string output() const;

private:
    std::string _dir;
    unsigned short _port = 0;
    std::string _token;
    std::vector<std::string> _environment;
    std::unique_ptr<Poco::ProcessHandle> _handle;
    std::optional<int> _exitCode;
};

struct HttpReply
{
    int status = 0;
    std::string body;
    std::multimap<std::string, std::string> headers; ///< lower-case names
    std::string header(const std::string& name) const;
};

/// One HTTP request on a fresh connection (Poco's client). Never throws for
/// an HTTP status; throws Poco::Exception for a network failure.
HttpReply httpRequest(unsigned short port, const std::string& method, const std::string& target,
                      const std::map<std::string, std::string>& headers = {}, const std::string& body = "");

/// The membership transitions ("FROM->TO", in order) that the node answering
/// on `port` logged for `node` (GET /cluster/events).
std::vector<std::string> transitionsSeenAt(unsigned short port, const std::string& node);

/// Runs a command, returns its exit code and stdout (stderr appended).
int runCommand(const std::string& command, const std::vector<std::string>& args, std::string& output,
               std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// Sends raw bytes, returns what the server answered until it closed or `timeout` passed.
std::string rawExchange(unsigned short port, const std::string& bytes,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));

} // namespace mt::test
