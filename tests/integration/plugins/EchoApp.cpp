// A test-only application for the proxy's streaming tests. POST: reads the
// body as a stream and answers its size, an FNV-1a hash of it and the
// forwarding headers it saw. GET /big?bytes=N: answers N bytes of a fixed
// pattern, chunked, written piece by piece.
#include "mt/WebApplication.h"

#include <cstdint>
#include <memory>
#include <string>

namespace {

constexpr std::uint64_t kFnvOffset = 1469598103934665603ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

class EchoApp : public mt::WebApplication
{
public:
    explicit EchoApp(const mt::PluginContext&) {}
    void deploy(mt::HandlerRegistry& registry) override
    {
        registry.addHandler("/*", std::make_shared<mt::FunctionHandler>([](mt::HttpRequest& request, mt::HttpResponse& response) {
            if (request.method() == "POST")
            {
                std::istream& body = request.body();
                char buffer[65536];
                std::uint64_t bytes = 0, hash = kFnvOffset;
                while (body.read(buffer, sizeof buffer) || body.gcount() > 0)
                {
                    auto n = static_cast<std::size_t>(body.gcount());
                    bytes += n;
                    for (std::size_t i = 0; i < n; ++i) hash = (hash ^ static_cast<unsigned char>(buffer[i])) * kFnvPrime;
                }
                response.sendBody("{\"bytes\":" + std::to_string(bytes) + ",\"fnv\":\"" + std::to_string(hash) +
                                      "\",\"xff\":\"" + request.header("X-Forwarded-For") + "\",\"xfp\":\"" +
                                      request.header("X-Forwarded-Proto") + "\",\"xfh\":\"" +
                                      request.header("X-Forwarded-Host") + "\",\"hop\":\"" +
                                      request.header("X-Secret-Hop") + "\"}",
                                  "application/json");
                return;
            }
            long long remaining = std::stoll(request.parameter("bytes", "0"));
            response.setContentType("application/octet-stream");
            std::ostream& out = response.send(); // no length: chunked
            char piece[65536];
            long long offset = 0;
            while (remaining > 0)
            {
                auto n = static_cast<std::size_t>(std::min<long long>(remaining, sizeof piece));
                for (std::size_t i = 0; i < n; ++i) piece[i] = static_cast<char>((offset + static_cast<long long>(i)) % 251);
                out.write(piece, static_cast<std::streamsize>(n));
                offset += static_cast<long long>(n);
                remaining -= static_cast<long long>(n);
            }
        }));
    }
};

} // namespace

MT_PLUGIN("app", "echo", "1.0.0", "test application for streaming through the proxy", "", EchoApp)
