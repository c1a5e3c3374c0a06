// Throwaway benchmark target (not a test): HttpServer with a trivial handler.
//   http_bench_server <port> [threads]
#include "http/HttpServer.h"
#include "http/ServerResponse.h"

#include <Poco/Logger.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

namespace {
class Hello : public mt::http::Dispatcher
{
public:
    void dispatch(mt::http::ServerRequest&, mt::http::ServerResponse& resp) override
    {
        resp.sendBody("Hello, world!\n", "text/plain");
    }
};
} // namespace

int main(int argc, char** argv)
{
    mt::http::ServerLimits limits;
    limits.host = "127.0.0.1";
    limits.port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 8080);
    limits.threads = argc > 2 ? std::atoi(argv[2]) : 32;
    Hello hello;
    mt::http::HttpServer server(limits, hello, Poco::Logger::get("bench"));
    server.start();
    std::cout << "listening on " << server.port() << std::endl;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    int sig;
    sigwait(&set, &sig);
    auto st = server.stats();
    std::cout << "requests " << st.requests << " stop cut " << server.stop(1000) << std::endl;
}
