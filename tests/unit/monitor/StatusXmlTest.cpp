#include "monitor/ClusterStatusXml.h"
#include "monitor/ProcStats.h"
#include "monitor/StatusPage.h"

#include <Poco/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/DOM/NodeList.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include <gtest/gtest.h>

using namespace mt::monitor;

TEST(StatusXml, MirrorsTheJsonWithSingularItemNames)
{
    auto json = Poco::JSON::Parser()
                    .parse(R"({"self":"node1","nodes":[{"name":"a<b>&","roles":["app","balancer"],"local":{"cpu":1.5}},
                                {"name":"c","roles":[]}],"balancer":null,"events":{"items":[{"sequence":3}]}})")
                    .extract<Poco::JSON::Object::Ptr>();
    std::string xml = ClusterStatusXml::toXml(json, "clusterStatus");
    Poco::XML::DOMParser parser;
    Poco::AutoPtr<Poco::XML::Document> doc = parser.parseString(xml);
    auto* root = doc->documentElement();
    EXPECT_EQ(root->nodeName(), "clusterStatus");
    EXPECT_EQ(root->getChildElement("self")->innerText(), "node1");
    auto* nodes = root->getChildElement("nodes");
    ASSERT_NE(nodes, nullptr);
    Poco::AutoPtr<Poco::XML::NodeList> list = nodes->getElementsByTagName("node");
    ASSERT_EQ(list->length(), 2u);
    auto* first = static_cast<Poco::XML::Element*>(list->item(0));
    EXPECT_EQ(first->getChildElement("name")->innerText(), "a<b>&");
    Poco::AutoPtr<Poco::XML::NodeList> roles = first->getChildElement("roles")->getElementsByTagName("role");
    EXPECT_EQ(roles->length(), 2u);
    EXPECT_EQ(first->getChildElement("local")->getChildElement("cpu")->innerText(), "1.5");
    ASSERT_NE(root->getChildElement("balancer"), nullptr);
    EXPECT_EQ(root->getChildElement("balancer")->innerText(), "");
    EXPECT_NE(root->getChildElement("events")->getChildElement("items")->getChildElement("item"), nullptr);
}

TEST(StatusXml, EscapesAndDropsControlCharacters)
{
    EXPECT_EQ(ClusterStatusXml::escape("<a href=\"x\">'&'</a>\x01"), "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt; ");
}

TEST(StatusProcStats, ParsesStatWithAnAwkwardCommandName)
{
    // Fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    //         utime stime cutime cstime priority nice num_threads itrealvalue starttime ...
    std::string stat = "1234 (a) b (c) S 1 1 1 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 98765 1000 200";
    long utime = 0, stime = 0;
    unsigned long long start = 0;
    int threads = 0;
    ASSERT_TRUE(ProcStats::parseStat(stat, utime, stime, start, threads));
    EXPECT_EQ(utime, 250);
    EXPECT_EQ(stime, 50);
    EXPECT_EQ(threads, 7);
    EXPECT_EQ(start, 98765u);
    EXPECT_FALSE(ProcStats::parseStat("garbage", utime, stime, start, threads));
}

TEST(StatusProcStats, SamplesThisProcess)
{
    ProcStats proc;
    auto s = proc.sample();
    EXPECT_GT(s.residentBytes, 0);
    EXPECT_GT(s.startTimeSeconds, 1.6e9);
    EXPECT_GE(s.uptimeSeconds, 0);
    EXPECT_GE(s.cpuSeconds, 0);
    EXPECT_GE(s.threads, 1);
}

TEST(StatusPage, IsOneSelfContainedPage)
{
    const std::string& html = StatusPage::html();
    EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_NE(html.find("/cluster/status"), std::string::npos);
    for (const char* external : {"http://", "https://", "<link", "src=\""})
        EXPECT_EQ(html.find(external), std::string::npos) << external;
}
