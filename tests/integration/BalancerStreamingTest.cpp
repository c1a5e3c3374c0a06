// Bodies through the balancer are streamed both ways, never held whole, and
// the forwarding headers reach the app node while hop-by-hop ones do not.
#include "LocalCluster.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/TemporaryFile.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace mt::test;

namespace {

constexpr std::uint64_t kFnvOffset = 1469598103934665603ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;
constexpr long long kBytes = 32LL * 1024 * 1024;

/// Peak resident memory of a process (VmHWM), in KiB.
long peakKb(int pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

struct EchoSetup
{
    std::string dir = Poco::TemporaryFile::tempName() + "-mt-echo";
    std::vector<std::string> defines;
    EchoSetup()
    {
        fs::create_directories(dir + "/plugins");
        for (const auto& entry : fs::directory_iterator(MT_PLUGIN_DIR))
            if (entry.path().extension() == ".so")
                fs::copy_file(entry.path(), dir + "/plugins/" + entry.path().filename().string());
        fs::copy_file(MT_ECHO_PLUGIN, dir + "/plugins/app-echo.so");
        defines = {"-Dplugin.dir=" + dir + "/plugins", "-Dcontexts=counter,cart,echo", "-Dcontext.counter.path=/counter",
                   "-Dcontext.counter.app=counter", "-Dcontext.cart.path=/cart", "-Dcontext.cart.app=cart", "-Dcontext.echo.path=/echo",
                   "-Dcontext.echo.app=echo", "-Dhttp.maxBodyBytes=" + std::to_string(2 * kBytes)};
    }
    ~EchoSetup()
    {
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    }
};

} // namespace

TEST(BalancerStreaming, LargeBodiesStreamBothWaysWithoutBeingHeldWhole)
{
    EchoSetup setup;
    LocalCluster cluster(2, setup.defines);
    unsigned short lb = cluster.httpPort("lb");
    long before = peakKb(cluster.pid("lb"));
    ASSERT_GT(before, 0);

    // Upload: chunked, 32 MiB in 64 KiB pieces.
    Poco::Net::HTTPClientSession session("127.0.0.1", lb);
    session.setTimeout(Poco::Timespan(60, 0));
    Poco::Net::HTTPRequest upload("POST", "/echo/upload", Poco::Net::HTTPMessage::HTTP_1_1);
    upload.setChunkedTransferEncoding(true);
    std::ostream& out = session.sendRequest(upload);
    std::string piece(65536, '\0');
    std::uint64_t hash = kFnvOffset;
    for (long long sent = 0; sent < kBytes; sent += static_cast<long long>(piece.size()))
    {
        for (std::size_t i = 0; i < piece.size(); ++i) piece[i] = static_cast<char>((sent + static_cast<long long>(i)) % 253);
        for (char c : piece) hash = (hash ^ static_cast<unsigned char>(c)) * kFnvPrime;
        out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
    }
    Poco::Net::HTTPResponse uploaded;
    std::string body;
    Poco::StreamCopier::copyToString(session.receiveResponse(uploaded), body);
    ASSERT_EQ(uploaded.getStatus(), 200) << body;
    auto json = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(json->getValue<long long>("bytes"), kBytes);
    EXPECT_EQ(json->getValue<std::string>("fnv"), std::to_string(hash));
    EXPECT_EQ(json->getValue<std::string>("xff"), "127.0.0.1");
    EXPECT_EQ(json->getValue<std::string>("xfp"), "http");
    EXPECT_NE(json->getValue<std::string>("xfh").find(std::to_string(lb)), std::string::npos) << body;

    // A field named in Connection is hop-by-hop (raw bytes: Poco's client rewrites Connection itself).
    std::string raw = rawExchange(lb, "POST /echo/hop HTTP/1.1\r\nHost: x\r\nConnection: close, X-Secret-Hop\r\n"
                                      "X-Secret-Hop: must-not-be-forwarded\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(raw.rfind("HTTP/1.1 200", 0), 0u) << raw;
    EXPECT_NE(raw.find("\"hop\":\"\""), std::string::npos) << raw;

    // Download: 32 MiB, chunked by the app node, read as a stream here.
    Poco::Net::HTTPRequest download("GET", "/echo/big?bytes=" + std::to_string(kBytes), Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(download);
    Poco::Net::HTTPResponse downloaded;
    std::istream& in = session.receiveResponse(downloaded);
    ASSERT_EQ(downloaded.getStatus(), 200);
    long long received = 0;
    bool patternOk = true;
    char buffer[65536];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0)
    {
        for (std::streamsize i = 0; i < in.gcount(); ++i)
            patternOk = patternOk && buffer[i] == static_cast<char>((received + i) % 251);
        received += in.gcount();
    }
    EXPECT_EQ(received, kBytes);
    EXPECT_TRUE(patternOk);

    // 64 MiB went through; a proxy holding either body whole would have grown by 32 MiB.
    long after = peakKb(cluster.pid("lb"));
    EXPECT_LT(after - before, 16 * 1024) << "peak RSS of the balancer grew from " << before << " to " << after << " KiB";
}
