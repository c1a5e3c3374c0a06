#include "cluster/ClusterConfigLoader.h"
#include "cluster/ClusterConfigParser.h"
#include "config/ConfigLoader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace mt;

namespace {

const char* kGood = R"(<?xml version="1.0"?>
<cluster name="demo" secret="0123456789abcdef-secret">
  <heartbeat interval="100" suspectTimeout="300" downTimeout="500" phiThreshold="9"/>
  <node name="n1" host="127.0.0.1" httpPort="8081" clusterPort="9081" roles="app" weight="2"/>
  <node name="n2" host="127.0.0.1" httpPort="8082" clusterPort="9082" roles="app"/>
  <node name="lb" host="127.0.0.1" httpPort="8080" clusterPort="9080" roles="balancer"/>
</cluster>
)";

std::string errorOf(const std::string& xml)
{
    try
    {
        ClusterConfigParser::parse(xml, "cluster-config.xml");
    }
    catch (const ConfigError& e)
    {
        return e.what();
    }
    return "no error";
}

std::string withNode(const std::string& nodeLine)
{
    return std::string(R"(<cluster name="demo" secret="0123456789abcdef-secret">
  <node name="n1" host="127.0.0.1" httpPort="8081" clusterPort="9081" roles="app"/>
  )") + nodeLine + "\n</cluster>\n";
}

} // namespace

TEST(ClusterConfigParser, ReadsTheFile)
{
    auto c = ClusterConfigParser::parse(kGood, "f.xml");
    EXPECT_EQ(c.name, "demo");
    EXPECT_EQ(c.heartbeatIntervalMs, 100);
    EXPECT_EQ(c.suspectTimeoutMs, 300);
    EXPECT_EQ(c.downTimeoutMs, 500);
    EXPECT_DOUBLE_EQ(c.phiThreshold, 9.0);
    ASSERT_EQ(c.nodes.size(), 3u);
    EXPECT_EQ(c.nodes[0].name, "n1");
    EXPECT_EQ(c.nodes[0].weight, 2);
    EXPECT_EQ(c.nodes[1].weight, 1);
    EXPECT_TRUE(c.nodes[2].hasRole("balancer"));
    EXPECT_EQ(c.nodes[2].clusterPort, 9080);
}

TEST(ClusterConfigParser, TheShippedTemplateIsValid)
{
    auto c = ClusterConfigParser::parseFile(std::string(MT_SOURCE_DIR) + "/conf/cluster-config.xml");
    EXPECT_EQ(c.nodes.size(), 4u);
}

TEST(ClusterConfigParser, DuplicateNameNamesBothLines)
{
    std::string e = errorOf(withNode(R"(<node name="n1" host="127.0.0.1" httpPort="8082" clusterPort="9082"/>)"));
    EXPECT_NE(e.find("cluster-config.xml:3: <node>: name='n1' is used twice (first on line 2)"), std::string::npos) << e;
}

TEST(ClusterConfigParser, DuplicatePortIsRefused)
{
    std::string e = errorOf(withNode(R"(<node name="n2" host="127.0.0.1" httpPort="9081" clusterPort="9082"/>)"));
    EXPECT_NE(e.find(":3: <node>: port 127.0.0.1:9081 is used twice (first on line 2)"), std::string::npos) << e;
    e = errorOf(withNode(R"(<node name="n2" host="127.0.0.1" httpPort="9090" clusterPort="9090"/>)"));
    EXPECT_NE(e.find("clusterPort: must differ from httpPort"), std::string::npos) << e;
}

TEST(ClusterConfigParser, UnknownRoleIsRefused)
{
    std::string e = errorOf(withNode(R"(<node name="n2" host="127.0.0.1" httpPort="8082" clusterPort="9082" roles="app,db"/>)"));
    EXPECT_NE(e.find(":3: <node>: roles: unknown role 'db' (known: app, balancer)"), std::string::npos) << e;
}

TEST(ClusterConfigParser, BadHostOrPortIsRefused)
{
    EXPECT_NE(errorOf(withNode(R"(<node name="n2" host="" httpPort="8082" clusterPort="9082"/>)")).find("host='': expected"),
              std::string::npos);
    EXPECT_NE(errorOf(withNode(R"(<node name="n2" host="a b" httpPort="8082" clusterPort="9082"/>)")).find("host='a b'"),
              std::string::npos);
    EXPECT_NE(errorOf(withNode(R"(<node name="n2" host="h" httpPort="70000" clusterPort="9082"/>)"))
                  .find("httpPort='70000': expected a number from 1 to 65535"),
              std::string::npos);
    EXPECT_NE(errorOf(withNode(R"(<node name="n2" host="h" httpPort="8082"/>)")).find("clusterPort: missing"),
              std::string::npos);
}

TEST(ClusterConfigParser, TimeoutNotLargerThanTheIntervalIsRefused)
{
    std::string e = errorOf(R"(<cluster name="d" secret="0123456789abcdef-secret">
<heartbeat interval="500" suspectTimeout="500" downTimeout="400"/>
<node name="n1" host="h" httpPort="1" clusterPort="2"/></cluster>)");
    EXPECT_NE(e.find(":2: <heartbeat>: suspectTimeout (500) must be larger than interval (500)"), std::string::npos) << e;
    EXPECT_NE(e.find("downTimeout (400) must be larger than interval (500)"), std::string::npos) << e;
}

TEST(ClusterConfigParser, MissingOrShortSecretIsRefused)
{
    EXPECT_NE(errorOf(R"(<cluster name="d"><node name="n1" host="h" httpPort="1" clusterPort="2"/></cluster>)")
                  .find("secret: expected a shared secret of at least 16 characters"),
              std::string::npos);
    EXPECT_NE(errorOf(R"(<cluster name="d" secret="short"><node name="n1" host="h" httpPort="1" clusterPort="2"/></cluster>)")
                  .find("at least 16 characters"),
              std::string::npos);
}

TEST(ClusterConfigParser, UnknownElementsAndAttributesAreRefused)
{
    EXPECT_NE(errorOf(withNode(R"(<nodes/>)")).find(":3: <nodes>: unknown element"), std::string::npos);
    EXPECT_NE(errorOf(withNode(R"(<node name="n2" host="h" httpPort="2" clusterPort="3" wieght="2"/>)"))
                  .find("unknown attribute 'wieght'"),
              std::string::npos);
    EXPECT_NE(errorOf(R"(<clusters/>)").find("the root element must be <cluster>"), std::string::npos);
}

TEST(ClusterConfigParser, MalformedXmlNamesTheLine)
{
    std::string e = errorOf("<cluster name=\"d\" secret=\"0123456789abcdef\">\n<node name=\"x\"\n</cluster>");
    EXPECT_NE(e.find("cluster-config.xml:"), std::string::npos) << e;
    EXPECT_NE(e.find("not well-formed XML"), std::string::npos) << e;
}

TEST(ClusterConfigLoader, ThisNodeMustBeInTheList)
{
    auto dir = std::filesystem::temp_directory_path() / "mt-cluster-config-test";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "cluster-config.xml") << kGood;
    auto load = [&](const std::string& node, const std::string& extra) {
        return ConfigLoader::fromProperties(
            PropertiesFile::parse("node.name=" + node + "\ncluster.config=cluster-config.xml\n" + extra, "s"),
            (dir / "server.properties").string(), "/p");
    };
    auto config = ClusterConfigLoader::load(load("n2", ""));
    EXPECT_EQ(config.localNode, "n2");
    EXPECT_EQ(config.self().httpPort, 8082);
    try
    {
        ClusterConfigLoader::load(load("n9", ""));
        FAIL();
    }
    catch (const ConfigError& e)
    {
        EXPECT_NE(std::string(e.what()).find("this node 'n9' (node.name / --node-name) is not one of its <node> elements (n1, n2, lb)"),
                  std::string::npos)
            << e.what();
    }
    auto overridden = ClusterConfigLoader::load(load("n1", "cluster.heartbeat.interval=50\ncluster.heartbeat.downTimeout=2000\n"));
    EXPECT_EQ(overridden.heartbeatIntervalMs, 50);
    EXPECT_EQ(overridden.downTimeoutMs, 2000);
    EXPECT_THROW(ClusterConfigLoader::load(load("n1", "cluster.heartbeat.interval=400\n")), ConfigError);
}

TEST(ClusterConfigLoader, TableListsEveryNode)
{
    auto c = ClusterConfigParser::parse(kGood, "f.xml");
    std::string table = ClusterConfigLoader::table(c.nodes, "n1");
    EXPECT_NE(table.find("NAME"), std::string::npos);
    EXPECT_NE(table.find("n1 (self)"), std::string::npos);
    EXPECT_NE(table.find("127.0.0.1:9082"), std::string::npos);
    EXPECT_NE(table.find("balancer"), std::string::npos);
    EXPECT_NE(table.find("UNKNOWN"), std::string::npos);
}
