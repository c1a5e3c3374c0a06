#include "config/ConfigLoader.h"
#include "config/ConfigSchema.h"
#include "config/PropertiesFile.h"
#include "server/KernelDispatcher.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace mt;

namespace {

ServerConfig fromText(const std::string& text)
{
    return ConfigLoader::fromProperties(PropertiesFile::parse(text, "server.properties"), "/etc/mt/server.properties",
                                        "/opt/mt/plugins");
}

std::string errorOf(const std::string& text)
{
    try
    {
        fromText(text);
    }
    catch (const ConfigError& e)
    {
        return e.what();
    }
    return "no error";
}

} // namespace

TEST(PropertiesFile, ParsesCommentsSeparatorsAndContinuations)
{
    auto p = PropertiesFile::parse("# comment\n! also\n a = 1 \nb:2\nc=long \\\n   value\nd=x\\\\\n", "f");
    EXPECT_EQ(p.at("a").value, "1");
    EXPECT_EQ(p.at("a").origin, "f:3");
    EXPECT_EQ(p.at("b").value, "2");
    EXPECT_EQ(p.at("c").value, "long value");
    EXPECT_EQ(p.at("d").value, "x\\");
}

TEST(PropertiesFile, MalformedLineNamesFileAndLine)
{
    try
    {
        PropertiesFile::parse("a=1\n\njust words\n", "conf/server.properties");
        FAIL() << "expected ConfigError";
    }
    catch (const ConfigError& e)
    {
        EXPECT_NE(std::string(e.what()).find("conf/server.properties:3"), std::string::npos) << e.what();
    }
}

TEST(PropertiesFile, DuplicateKeyIsRefused)
{
    EXPECT_THROW(PropertiesFile::parse("a=1\na=2\n", "f"), ConfigError);
}

TEST(PropertiesFile, MissingFileIsAClearError)
{
    try
    {
        PropertiesFile::read("/nonexistent/server.properties");
        FAIL();
    }
    catch (const ConfigError& e)
    {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/server.properties"), std::string::npos);
    }
}

TEST(ConfigLoader, DefaultsApplyWhenFileIsEmpty)
{
    auto c = fromText("");
    EXPECT_EQ(c.nodeName, "node1");
    EXPECT_EQ(c.http.port, 8080);
    EXPECT_EQ(c.http.threads, 32);
    EXPECT_EQ(c.http.keepAliveTimeoutMs, 15000);
    EXPECT_EQ(c.pluginDir, "/opt/mt/plugins");
    EXPECT_EQ(c.defaultStore, "memory");
    EXPECT_TRUE(c.contexts.empty());
}

TEST(ConfigLoader, ReadsContextsAndResolvesPathsAgainstTheConfigDirectory)
{
    std::filesystem::create_directories("/tmp/mt-config-test/www");
    auto c = ConfigLoader::fromProperties(
        PropertiesFile::parse("contexts=shop, docs\n"
                              "context.shop.path=/shop\ncontext.shop.app=cart\ncontext.shop.app.maxItems=5\n"
                              "context.shop.sessionTimeout=60\n"
                              "context.docs.path=/\ncontext.docs.docRoot=www\n",
                              "f"),
        "/tmp/mt-config-test/server.properties", "/p");
    ASSERT_EQ(c.contexts.size(), 2u);
    EXPECT_EQ(c.contexts[0].id, "shop");
    EXPECT_EQ(c.contexts[0].path, "/shop");
    EXPECT_EQ(c.contexts[0].app, "cart");
    EXPECT_EQ(c.contexts[0].store, "memory");
    EXPECT_EQ(c.contexts[0].sessionTimeout, 60);
    EXPECT_EQ(c.contexts[0].appConfig.at("maxItems"), "5");
    EXPECT_EQ(c.contexts[1].path, ""); // the root context
    EXPECT_EQ(c.contexts[1].docRoot, "/tmp/mt-config-test/www");
    EXPECT_EQ(c.contexts[1].sessionTimeout, 1800);
}

TEST(ConfigLoader, ContextsMayOverrideFlushModeAndRewriteRoute)
{
    auto c = ConfigLoader::fromProperties(
        PropertiesFile::parse("session.flushMode=IMMEDIATE\nsession.rewriteRoute=false\ncontexts=a, b\n"
                              "context.a.path=/a\ncontext.a.app=cart\n"
                              "context.a.flushMode=ON_COMMIT\ncontext.a.rewriteRoute=true\n"
                              "context.b.path=/b\ncontext.b.app=cart\n",
                              "f"),
        "/tmp/server.properties", "/p");
    ASSERT_EQ(c.contexts.size(), 2u);
    EXPECT_FALSE(c.contexts[0].flushImmediate);
    EXPECT_TRUE(c.contexts[0].rewriteRoute);
    EXPECT_TRUE(c.contexts[1].flushImmediate) << "the server-wide setting is the default";
    EXPECT_FALSE(c.contexts[1].rewriteRoute);

    std::string e = errorOf("contexts=a\ncontext.a.path=/a\ncontext.a.app=cart\ncontext.a.flushMode=LATER\n");
    EXPECT_NE(e.find("context.a.flushMode = 'LATER' is not allowed"), std::string::npos) << e;
    EXPECT_NE(e.find("IMMEDIATE"), std::string::npos) << e;
}

TEST(ConfigLoader, UnknownKeyIsRefusedWithFileLineAndKey)
{
    std::string e = errorOf("http.port=8080\nhttp.prot=9090\n");
    EXPECT_NE(e.find("server.properties:2"), std::string::npos) << e;
    EXPECT_NE(e.find("unknown key 'http.prot'"), std::string::npos) << e;
}

TEST(ConfigLoader, BadValuesSayWhatIsAllowed)
{
    std::string e = errorOf("http.port=99999\nhttp.threads=0\nhttp.keepAlive=yes\nlog.level=loud\n");
    EXPECT_NE(e.find("http.port = '99999' is not allowed: expected a port from 0 to 65535"), std::string::npos) << e;
    EXPECT_NE(e.find("http.threads = '0' is not allowed: expected an integer from 1 to 4096"), std::string::npos) << e;
    EXPECT_NE(e.find("true or false"), std::string::npos) << e;
    EXPECT_NE(e.find("one of fatal"), std::string::npos) << e;
}

TEST(ConfigLoader, ContextProblemsAreNamed)
{
    EXPECT_NE(errorOf("contexts=a\ncontext.a.app=counter\n").find("context 'a' has no path"), std::string::npos);
    EXPECT_NE(errorOf("contexts=a,b\ncontext.a.path=/x\ncontext.a.app=c\ncontext.b.path=/x\ncontext.b.app=c\n")
                  .find("also the path of context 'a'"),
              std::string::npos);
    EXPECT_NE(errorOf("contexts=a\ncontext.a.path=/x/../y\ncontext.a.app=c\n").find("no '..'"), std::string::npos);
    EXPECT_NE(errorOf("contexts=a\ncontext.a.path=/x\ncontext.a.app=c\ncontext.b.path=/y\n")
                  .find("which is not in 'contexts'"),
              std::string::npos);
    EXPECT_NE(errorOf("contexts=a\ncontext.a.path=/x\n").find("would serve nothing"), std::string::npos);
    EXPECT_NE(errorOf("contexts=a\ncontext.a.path=/x\ncontext.a.docRoot=/nonexistent-dir\n").find("existing directory"),
              std::string::npos);
    EXPECT_NE(errorOf("contexts=a\ncontext.a.path=/health\ncontext.a.app=c\n").find("the server's own"),
              std::string::npos);
}

TEST(ConfigLoader, CommandLineOverridesWinAndAreNamedInErrors)
{
    auto file = std::filesystem::temp_directory_path() / "mt-config-override.properties";
    {
        std::ofstream out(file);
        out << "http.port=8080\n";
    }
    auto c = ConfigLoader::load(file.string(), {{"http.port", "9191"}}, "/p");
    EXPECT_EQ(c.http.port, 9191);
    try
    {
        ConfigLoader::load(file.string(), {{"http.port", "x"}}, "/p");
        FAIL();
    }
    catch (const ConfigError& e)
    {
        EXPECT_NE(std::string(e.what()).find("command line (-Dhttp.port)"), std::string::npos) << e.what();
    }
}

TEST(ConfigSchema, EveryKeyHasDocumentationAndAValidDefault)
{
    for (const auto& spec : ConfigSchema::keys())
    {
        EXPECT_FALSE(spec.doc.empty()) << spec.key;
        if (!spec.defaultValue.empty())
        {
            EXPECT_EQ(ConfigSchema::check(spec, spec.defaultValue), "") << spec.key;
        }
    }
    EXPECT_NE(ConfigSchema::markdownTable().find("| `http.port` | `8080` |"), std::string::npos);
}

TEST(ConfigSchema, WildcardKeysMatchOneSegment)
{
    ASSERT_NE(ConfigSchema::find("context.cart.path"), nullptr);
    EXPECT_EQ(ConfigSchema::find("context.cart.path")->key, "context.*.path");
    EXPECT_EQ(ConfigSchema::find("context.cart.app.maxItems")->key, "context.*.app.*");
    EXPECT_EQ(ConfigSchema::find("store.redis.host")->key, "store.*.*");
    EXPECT_EQ(ConfigSchema::find("context.cart.nope"), nullptr);
    EXPECT_EQ(ConfigSchema::find("store.redis"), nullptr);
}

TEST(KernelDispatcher, FindsTheSessionCookieAmongOthers)
{
    EXPECT_EQ(KernelDispatcher::cookieValue("a=1; JSESSIONID=abc.node1; b=2", "JSESSIONID"), "abc.node1");
    EXPECT_EQ(KernelDispatcher::cookieValue("XJSESSIONID=no; JSESSIONID=\"q\"", "JSESSIONID"), "q");
    EXPECT_EQ(KernelDispatcher::cookieValue("a=1", "JSESSIONID"), "");
    EXPECT_EQ(KernelDispatcher::cookieValue("", "JSESSIONID"), "");
}
