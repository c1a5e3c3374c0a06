#include "web/MimeTypes.h"
#include "web/StaticConditional.h"
#include "web/StaticPath.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace mt::web;

TEST(MimeTypes, ByExtensionWithCharsetForText)
{
    EXPECT_EQ("text/html; charset=utf-8", mimeTypeFor("/a/index.html"));
    EXPECT_EQ("text/html; charset=utf-8", mimeTypeFor("/A/INDEX.HTML"));
    EXPECT_EQ("text/css; charset=utf-8", mimeTypeFor("s.css"));
    EXPECT_EQ("text/javascript; charset=utf-8", mimeTypeFor("app.js"));
    EXPECT_EQ("application/json; charset=utf-8", mimeTypeFor("d.json"));
    EXPECT_EQ("application/json; charset=utf-8", mimeTypeFor("app.js.map"));
    EXPECT_EQ("text/plain; charset=utf-8", mimeTypeFor("readme.txt"));
    EXPECT_EQ("image/svg+xml; charset=utf-8", mimeTypeFor("logo.svg"));
    EXPECT_EQ("application/xml; charset=utf-8", mimeTypeFor("feed.xml"));
    EXPECT_EQ("image/png", mimeTypeFor("p.png"));
    EXPECT_EQ("image/jpeg", mimeTypeFor("p.jpg"));
    EXPECT_EQ("image/gif", mimeTypeFor("p.gif"));
    EXPECT_EQ("image/vnd.microsoft.icon", mimeTypeFor("favicon.ico"));
    EXPECT_EQ("application/wasm", mimeTypeFor("m.wasm"));
    EXPECT_EQ("application/pdf", mimeTypeFor("doc.pdf"));
    EXPECT_EQ("font/woff2", mimeTypeFor("f.woff2"));
    EXPECT_EQ("application/octet-stream", mimeTypeFor("blob"));
    EXPECT_EQ("application/octet-stream", mimeTypeFor("dir.d/blob"));
    EXPECT_EQ("application/octet-stream", mimeTypeFor("x.unknownext"));
    EXPECT_EQ("application/octet-stream", mimeTypeFor("trailing."));
}

TEST(StaticPath, TraversalVariantsAreDetected)
{
    // raw path as received, decoded path as the server decoded it (once)
    EXPECT_TRUE(isTraversal("/static/../etc/passwd", "/../etc/passwd"));
    EXPECT_TRUE(isTraversal("/static/..", "/.."));
    EXPECT_TRUE(isTraversal("/static/%2e%2e/etc/passwd", "/../etc/passwd"));
    EXPECT_TRUE(isTraversal("/static/%2E%2E/etc/passwd", "/../etc/passwd"));
    EXPECT_TRUE(isTraversal("/static/.%2e/x", "/../x"));
    EXPECT_TRUE(isTraversal("/static/..%2fetc/passwd", "/../etc/passwd"));
    EXPECT_TRUE(isTraversal("/static/a%2fb", "/a/b"));  // encoded separator
    EXPECT_TRUE(isTraversal("/static/a%5cb", "/a\\b")); // encoded backslash
    EXPECT_TRUE(isTraversal("/static/..\\x", "/..\\x"));
    EXPECT_TRUE(isTraversal("/static/a\\b", "/a\\b"));
    EXPECT_TRUE(isTraversal("/static/a%00.txt", std::string("/a\0.txt", 7)));
    EXPECT_TRUE(isTraversal("/static/a%00.txt", "/a.txt")); // raw NUL alone is enough
    EXPECT_TRUE(isTraversal("/static/..;jsessionid=x/a", "/../a"));
    // decoded path alone (e.g. a caller with a different raw path)
    EXPECT_TRUE(isTraversal("/static/x", "/a/../../b"));
}

TEST(StaticPath, HarmlessPathsPass)
{
    EXPECT_FALSE(isTraversal("/static/index.html", "/index.html"));
    EXPECT_FALSE(isTraversal("/static/a..b/c...d", "/a..b/c...d"));
    EXPECT_FALSE(isTraversal("/static/.well-known/x", "/.well-known/x"));
    EXPECT_FALSE(isTraversal("/static/my%20file.txt", "/my file.txt"));
    // Decoded once only: "%252e%252e" is the file name "%2e%2e", not "..".
    EXPECT_FALSE(isTraversal("/static/%252e%252e/x", "/%2e%2e/x"));
    EXPECT_FALSE(isTraversal("/static/", "/"));
    EXPECT_FALSE(isTraversal("/static/a;jsessionid=abc", "/a"));
}

class StaticRoot : public ::testing::Test
{
protected:
    void SetUp() override
    {
        std::string pattern = (fs::temp_directory_path() / "mt-static-test-XXXXXX").string();
        std::vector<char> name(pattern.begin(), pattern.end());
        name.push_back('\0');
        ASSERT_NE(nullptr, ::mkdtemp(name.data()));
        base = fs::canonical(name.data());
        root = base / "root";
        fs::create_directories(root / "sub");
        fs::create_directories(root / "noindex");
        fs::create_directories(base / "outside");
        write(root / "a.txt", "hello");
        write(root / "sub" / "index.html", "<p>sub</p>");
        write(base / "secret.txt", "secret");
        write(base / "outside" / "index.html", "outside");
        fs::create_symlink(base / "secret.txt", root / "escape.txt");
        fs::create_symlink(base / "outside", root / "escapedir");
        fs::create_symlink(root / "a.txt", root / "inside-link.txt");
    }
    void TearDown() override { fs::remove_all(base); }
    static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

    Resolution resolve(const std::string& path)
    {
        resolved.clear();
        return resolveInRoot(root.string(), path, resolved);
    }

    fs::path base, root;
    std::string resolved;
};

TEST_F(StaticRoot, FilesAndDirectoryIndexes)
{
    EXPECT_EQ(Resolution::File, resolve("/a.txt"));
    EXPECT_EQ((root / "a.txt").string(), resolved);
    EXPECT_EQ(Resolution::File, resolve("/sub"));
    EXPECT_EQ((root / "sub" / "index.html").string(), resolved);
    EXPECT_EQ(Resolution::File, resolve("/sub/"));
    EXPECT_EQ(Resolution::NotFound, resolve("/noindex/"));
    EXPECT_EQ(Resolution::NotFound, resolve("/"));
    EXPECT_EQ(Resolution::NotFound, resolve("/missing.txt"));
    EXPECT_EQ(Resolution::NotFound, resolve("/a.txt/"));
    EXPECT_EQ(Resolution::File, resolve("/inside-link.txt"));
}

TEST_F(StaticRoot, SymlinksOutOfTheRootAreEscapes)
{
    EXPECT_EQ(Resolution::Escape, resolve("/escape.txt"));
    EXPECT_EQ(Resolution::Escape, resolve("/escapedir/"));
    EXPECT_EQ(Resolution::Escape, resolve("/escapedir/index.html"));
    EXPECT_EQ(Resolution::Escape, resolve("/../secret.txt")); // if a ".." ever got this far
}

TEST_F(StaticRoot, RootPrefixIsNotEnough)
{
    // "<base>/root2" starts with "<base>/root" but is outside it.
    fs::create_directories(base / "root2");
    write(base / "root2" / "x.txt", "x");
    fs::create_symlink(base / "root2" / "x.txt", root / "sibling.txt");
    EXPECT_EQ(Resolution::Escape, resolve("/sibling.txt"));
}

TEST(StaticConditional, ETagAndDates)
{
    std::string tag = makeETag(5, 1700000000123456789LL);
    EXPECT_EQ(0u, tag.find("W/\""));
    EXPECT_NE(tag, makeETag(5, 1700000000123456790LL));
    EXPECT_NE(tag, makeETag(6, 1700000000123456789LL));
    EXPECT_EQ("Tue, 14 Nov 2023 22:13:20 GMT", httpDate(1700000000));
}

TEST(StaticConditional, NotModified)
{
    std::string tag = makeETag(5, 1700000000000000000LL);
    std::int64_t mtime = 1700000000;
    EXPECT_TRUE(notModified(tag, "", tag, mtime));
    EXPECT_TRUE(notModified("\"other\", " + tag, "", tag, mtime));
    EXPECT_TRUE(notModified(tag.substr(2), "", tag, mtime)); // strong form of the same tag
    EXPECT_TRUE(notModified("*", "", tag, mtime));
    EXPECT_FALSE(notModified("\"other\"", "", tag, mtime));
    EXPECT_FALSE(notModified("", "", tag, mtime));
    EXPECT_TRUE(notModified("", httpDate(mtime), tag, mtime));
    EXPECT_TRUE(notModified("", httpDate(mtime + 60), tag, mtime));
    EXPECT_FALSE(notModified("", httpDate(mtime - 1), tag, mtime));
    EXPECT_FALSE(notModified("", "not a date", tag, mtime));
    // If-None-Match decides when both are present.
    EXPECT_FALSE(notModified("\"other\"", httpDate(mtime + 60), tag, mtime));
}
