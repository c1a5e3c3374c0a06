// StaticFiles::serve() through the real HTTP server and a real client.
#include "http/HttpServer.h"
#include "http/ServerRequest.h"
#include "http/ServerResponse.h"
#include "web/StaticFiles.h"

#include <Poco/Logger.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace mt;

namespace {

class StaticDispatcher : public http::Dispatcher
{
public:
    explicit StaticDispatcher(const StaticFiles& files) : _files(files) {}
    void dispatch(http::ServerRequest& request, http::ServerResponse& response) override
    {
        if (!_files.serve(request, response, request.path()))
            response.sendError(404, "not found");
    }

private:
    const StaticFiles& _files;
};

struct Reply
{
    int status = 0;
    std::string body;
    Poco::Net::HTTPResponse head;
};

class StaticFilesServe : public ::testing::Test
{
protected:
    void SetUp() override
    {
        std::string pattern = (fs::temp_directory_path() / "mt-static-serve-XXXXXX").string();
        std::vector<char> name(pattern.begin(), pattern.end());
        name.push_back('\0');
        ASSERT_NE(nullptr, ::mkdtemp(name.data()));
        base = fs::canonical(name.data());
        root = base / "root";
        fs::create_directories(root / "sub");
        fs::create_directories(root / "noindex");
        std::ofstream(root / "a.txt") << "hello";
        std::ofstream(root / "sub" / "index.html") << "<p>sub</p>";
        std::ofstream(root / "%2e%2e") << "odd name";
        std::ofstream(base / "secret.txt") << "secret";
        fs::create_symlink(base / "secret.txt", root / "escape.txt");
        big.resize(3 * 1024 * 1024 + 17);
        for (std::size_t i = 0; i < big.size(); ++i)
            big[i] = static_cast<char>('a' + i % 26);
        std::ofstream(root / "big.bin", std::ios::binary) << big;

        files = std::make_unique<StaticFiles>(root.string());
        dispatcher = std::make_unique<StaticDispatcher>(*files);
        http::ServerLimits limits;
        limits.host = "127.0.0.1";
        limits.port = 0;
        limits.threads = 2;
        server = std::make_unique<http::HttpServer>(limits, *dispatcher, Poco::Logger::get("mt.test.static"));
        server->start();
    }

    void TearDown() override
    {
        server->stop(1000);
        fs::remove_all(base);
    }

    Reply request(const std::string& method, const std::string& uri,
                  const std::vector<std::pair<std::string, std::string>>& headers = {})
    {
        Poco::Net::HTTPClientSession session("127.0.0.1", server->port());
        Poco::Net::HTTPRequest req(method, uri, Poco::Net::HTTPMessage::HTTP_1_1);
        for (const auto& [k, v] : headers)
            req.set(k, v);
        session.sendRequest(req);
        Reply reply;
        std::istream& in = session.receiveResponse(reply.head);
        reply.status = reply.head.getStatus();
        if (method != "HEAD")
            Poco::StreamCopier::copyToString(in, reply.body);
        return reply;
    }

    fs::path base, root;
    std::string big;
    std::unique_ptr<StaticFiles> files;
    std::unique_ptr<StaticDispatcher> dispatcher;
    std::unique_ptr<http::HttpServer> server;
};

} // namespace

TEST(StaticFiles, RootMustBeADirectory)
{
    EXPECT_THROW(StaticFiles("/nonexistent/root"), std::invalid_argument);
    EXPECT_EQ("text/css; charset=utf-8", StaticFiles::mimeType("x.css"));
}

TEST_F(StaticFilesServe, GetServesTheFileWithValidators)
{
    Reply r = request("GET", "/a.txt");
    EXPECT_EQ(200, r.status);
    EXPECT_EQ("hello", r.body);
    EXPECT_EQ("text/plain; charset=utf-8", r.head.getContentType());
    EXPECT_EQ(5, r.head.getContentLength64());
    EXPECT_TRUE(r.head.has("ETag"));
    EXPECT_TRUE(r.head.has("Last-Modified"));
}

TEST_F(StaticFilesServe, HeadHasTheHeadersButNoBody)
{
    Reply r = request("HEAD", "/a.txt");
    EXPECT_EQ(200, r.status);
    EXPECT_EQ(5, r.head.getContentLength64());
    // The connection stays usable: a following request on a new session works.
    EXPECT_EQ("hello", request("GET", "/a.txt").body);
}

TEST_F(StaticFilesServe, ConditionalRequestsGet304)
{
    Reply first = request("GET", "/a.txt");
    Reply byTag = request("GET", "/a.txt", {{"If-None-Match", first.head.get("ETag")}});
    EXPECT_EQ(304, byTag.status);
    EXPECT_EQ("", byTag.body);
    EXPECT_EQ(first.head.get("ETag"), byTag.head.get("ETag", ""));
    Reply byDate = request("GET", "/a.txt", {{"If-Modified-Since", first.head.get("Last-Modified")}});
    EXPECT_EQ(304, byDate.status);
    Reply stale = request("GET", "/a.txt", {{"If-None-Match", "W/\"other\""}});
    EXPECT_EQ(200, stale.status);
    EXPECT_EQ("hello", stale.body);
}

TEST_F(StaticFilesServe, OtherMethodsGet405WithAllow)
{
    Reply r = request("POST", "/a.txt");
    EXPECT_EQ(405, r.status);
    EXPECT_EQ("GET, HEAD", r.head.get("Allow", ""));
    EXPECT_EQ(405, request("DELETE", "/a.txt").status);
}

TEST_F(StaticFilesServe, DirectoriesServeTheirIndex)
{
    Reply r = request("GET", "/sub/");
    EXPECT_EQ(200, r.status);
    EXPECT_EQ("<p>sub</p>", r.body);
    EXPECT_EQ("text/html; charset=utf-8", r.head.getContentType());
    EXPECT_EQ(404, request("GET", "/noindex/").status);
    EXPECT_EQ(404, request("GET", "/missing.txt").status);
}

TEST_F(StaticFilesServe, TraversalIsRefused)
{
    for (const char* uri : {"/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
                            "/..%2fsecret.txt", "/.%2e/secret.txt", "/sub%2f..%2f..%2fsecret.txt", "/..%5csecret.txt",
                            "/..\\secret.txt", "/a%00.txt", "/escape.txt"})
    {
        Reply r = request("GET", uri);
        EXPECT_EQ(400, r.status) << uri;
        EXPECT_EQ(std::string::npos, r.body.find("secret")) << uri;
        // The server itself refuses a decoded NUL; everything else is ours to catch.
        if (std::string(uri).find("%00") == std::string::npos)
        {
            EXPECT_NE(std::string::npos, r.body.find("document root")) << uri << ": " << r.body;
        }
    }
}

TEST_F(StaticFilesServe, DoubleEncodingIsDecodedOnceOnly)
{
    // "%252e%252e" names the file "%2e%2e" in the root, never "..".
    Reply r = request("GET", "/%252e%252e");
    EXPECT_EQ(200, r.status);
    EXPECT_EQ("odd name", r.body);
    EXPECT_EQ(404, request("GET", "/%252e%252e/secret.txt").status);
}

TEST_F(StaticFilesServe, LargeFilesAreStreamedWhole)
{
    Reply r = request("GET", "/big.bin");
    EXPECT_EQ(200, r.status);
    EXPECT_EQ(static_cast<long long>(big.size()), r.head.getContentLength64());
    EXPECT_EQ(big.size(), r.body.size());
    EXPECT_TRUE(r.body == big);
    EXPECT_EQ("application/octet-stream", r.head.getContentType());
}
