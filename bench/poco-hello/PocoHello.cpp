// Bare Poco HTTPServer answering "hello\n" to every request: the baseline that
// bench/http.sh compares Micro Tomcat's /hello against (bar: >= 0.9x this).
//
//   poco-hello PORT [THREADS] [HOST]      (defaults: 32 threads, 127.0.0.1)
//
// Same Poco as the server, same pool size (32 threads), keep-alive on with no
// request limit, no logging. Runs until SIGINT/SIGTERM.
// Note: Poco's HTTPServer holds one pool thread per kept-alive connection, so
// with more connections than threads the extra connections wait (wrk counts
// them as timeouts); bench/http.sh reports those next to the throughput.

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

namespace {

class HelloHandler : public Poco::Net::HTTPRequestHandler
{
public:
    void handleRequest(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& response) override
    {
        static const std::string body = "hello\n";
        response.setContentType("text/plain");
        response.setContentLength(static_cast<std::streamsize>(body.size()));
        response.sendBuffer(body.data(), body.size());
    }
};

class HelloFactory : public Poco::Net::HTTPRequestHandlerFactory
{
public:
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override
    {
        return new HelloHandler;
    }
};

int usage()
{
    std::cerr << "usage: poco-hello PORT [THREADS=32] [HOST=127.0.0.1]\n";
    return 2;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2) return usage();
    const int port = std::atoi(argv[1]);
    const int threads = argc > 2 ? std::atoi(argv[2]) : 32;
    const std::string host = argc > 3 ? argv[3] : "127.0.0.1";
    if (port <= 0 || port > 65535 || threads <= 0) return usage();

    // Block the stop signals in every thread (the pool threads inherit the
    // mask) and wait for them synchronously in main.
    sigset_t stopSignals;
    sigemptyset(&stopSignals);
    sigaddset(&stopSignals, SIGINT);
    sigaddset(&stopSignals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

    try
    {
        Poco::ThreadPool pool(threads, threads);
        auto* params = new Poco::Net::HTTPServerParams;
        params->setMaxThreads(threads);
        params->setMaxQueued(4096);
        params->setKeepAlive(true);
        params->setMaxKeepAliveRequests(0); // unlimited, like Micro Tomcat's default
        Poco::Net::ServerSocket socket(Poco::Net::SocketAddress(host, static_cast<Poco::UInt16>(port)), 1024);
        Poco::Net::HTTPServer server(new HelloFactory, pool, socket, params);
        server.start();
        std::cout << "poco-hello listening on " << host << ":" << port << " with " << threads << " threads" << std::endl;

        int sig = 0;
        sigwait(&stopSignals, &sig);
        server.stopAll(true);
        pool.joinAll();
    }
    catch (const Poco::Exception& e)
    {
        std::cerr << "poco-hello: " << e.displayText() << "\n";
        return 1;
    }
    return 0;
}
