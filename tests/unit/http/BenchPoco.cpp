// Throwaway baseline (not a test): bare Poco HTTPServer hello.
//   http_bench_poco <port> [threads]
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>

#include <csignal>
#include <cstdlib>
#include <iostream>

namespace {
class Hello : public Poco::Net::HTTPRequestHandler
{
public:
    void handleRequest(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& resp) override
    {
        resp.setContentType("text/plain");
        resp.sendBuffer("Hello, world!\n", 14);
    }
};
class Factory : public Poco::Net::HTTPRequestHandlerFactory
{
public:
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override { return new Hello; }
};
} // namespace

int main(int argc, char** argv)
{
    unsigned short port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 8081);
    int threads = argc > 2 ? std::atoi(argv[2]) : 64;
    Poco::ThreadPool pool(threads, threads);
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(threads);
    params->setMaxQueued(1000);
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", port), 1024);
    Poco::Net::HTTPServer server(new Factory, pool, socket, params);
    server.start();
    std::cout << "listening on " << port << std::endl;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    int sig;
    sigwait(&set, &sig);
    server.stop();
}
