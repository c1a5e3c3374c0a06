#include "mt/SessionSerializer.h"

#include <gtest/gtest.h>

using namespace mt;

namespace {

SessionData sample()
{
    SessionData d;
    d.id = "AAAAAAAAAAAAAAAAAAAAAAAA.node1";
    d.creationTime = 1700000000123;
    d.lastAccessedTime = 1700000004567;
    d.maxInactiveInterval = 1800;
    d.version = 7;
    d.versionVector.set("node1", 5);
    d.versionVector.set("node2", 2);
    d.attributes["count"] = "42";
    d.attributes["item.sku-1"] = "3";
    d.attributes["profile"] = R"({"name":"Zoë \"Z\"","tags":["a","b"],"nested":{"x":null}})";
    d.attributes["text"] = "\"line\\nbreak\\ttab \\u00e9\"";
    return d;
}

void expectSame(const SessionData& a, const SessionData& b)
{
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.creationTime, b.creationTime);
    EXPECT_EQ(a.lastAccessedTime, b.lastAccessedTime);
    EXPECT_EQ(a.maxInactiveInterval, b.maxInactiveInterval);
    EXPECT_EQ(a.version, b.version);
    EXPECT_EQ(a.versionVector, b.versionVector);
    EXPECT_EQ(a.attributes, b.attributes);
}

} // namespace

TEST(SessionSerializer, JsonRoundTripKeepsEveryFieldAndAttributeTextByteForByte)
{
    const SessionData d = sample();
    std::string context;
    SessionData back = SessionSerializer::fromJson(SessionSerializer::toJson(d, "/cart"), &context);
    expectSame(d, back);
    EXPECT_EQ(context, "/cart");
}

TEST(SessionSerializer, JsonCarriesTheSchemaVersion)
{
    const std::string json = SessionSerializer::toJson(sample(), "/");
    EXPECT_EQ(json.rfind("{\"schema\":1,", 0), 0u) << json;
}

TEST(SessionSerializer, FieldRoundTrip)
{
    const SessionData d = sample();
    std::map<std::string, std::string> fields;
    for (auto& [name, value] : SessionSerializer::toFields(d)) fields.emplace(name, value);
    EXPECT_EQ(fields.at("schema"), "1");
    EXPECT_EQ(fields.at("a:count"), "42");
    EXPECT_EQ(fields.at("vv:node2"), "2");
    expectSame(d, SessionSerializer::fromFields(d.id, fields));
}

TEST(SessionSerializer, EmptySessionRoundTrips)
{
    SessionData d;
    d.id = "BBBBBBBBBBBBBBBBBBBBBBBB.n";
    expectSame(d, SessionSerializer::fromJson(SessionSerializer::toJson(d, "/x")));
}

TEST(SessionSerializer, CorruptJsonIsAFormatErrorNotACrash)
{
    for (const char* bad : {"", "not json", "{", "[]", "{\"schema\":1}", "{\"schema\":\"1\",\"id\":\"x\"}",
                            "{\"schema\":1,\"id\":\"x\",\"creationTime\":1,\"lastAccessedTime\":1,"
                            "\"maxInactiveInterval\":1,\"version\":-3}",
                            "{\"schema\":1,\"id\":\"x\",\"creationTime\":1,\"lastAccessedTime\":1,"
                            "\"maxInactiveInterval\":1,\"version\":1,\"attributes\":{\"a\":5}}",
                            "{\"schema\":1,\"id\":\"x\",\"creationTime\":\"yesterday\",\"lastAccessedTime\":1,"
                            "\"maxInactiveInterval\":1,\"version\":1}"})
        EXPECT_THROW(SessionSerializer::fromJson(bad), SessionFormatError) << bad;
}

TEST(SessionSerializer, NewerSchemaIsRefusedWithTheReason)
{
    std::string json = SessionSerializer::toJson(sample(), "/");
    json.replace(json.find("\"schema\":1"), 10, "\"schema\":2");
    try
    {
        SessionSerializer::fromJson(json);
        FAIL() << "schema 2 accepted";
    }
    catch (const SessionFormatError& e)
    {
        EXPECT_NE(std::string(e.what()).find("schema 2"), std::string::npos) << e.what();
    }
}

TEST(SessionSerializer, CorruptFieldsAreFormatErrors)
{
    std::map<std::string, std::string> good;
    for (auto& [name, value] : SessionSerializer::toFields(sample())) good.emplace(name, value);
    auto with = [&](const std::string& name, const std::string& value) {
        auto f = good;
        f[name] = value;
        return f;
    };
    auto without = [&](const std::string& name) {
        auto f = good;
        f.erase(name);
        return f;
    };
    const std::vector<std::map<std::string, std::string>> bad{
        with("schema", "2"),        with("schema", "x"),      with("accessed", "12abc"), with("created", ""),
        with("version", "-1"),      with("vv:node1", "many"), with("maxInactive", "99999999999"),
        with("garbage", "1"),       without("schema"),        without("accessed"),       without("version")};
    for (const auto& fields : bad) EXPECT_THROW(SessionSerializer::fromFields("id.n", fields), SessionFormatError);
}

TEST(SessionSerializer, AnAttributeThatIsNotOneJsonValueMakesTheRecordUnreadableNamingIt)
{
    // What the application stored was checked when it stored it; anything
    // else found in the store was written by someone else, or damaged.
    std::map<std::string, std::string> fields;
    for (auto& [name, value] : SessionSerializer::toFields(sample())) fields.emplace(name, value);
    for (const std::string bad : {"{\"unclosed\":1", "1,2", "", "'single'", "tru", "[1]]", "01"})
    {
        auto withBad = fields;
        withBad["a:broken"] = bad;
        try
        {
            SessionSerializer::fromFields("id.n", withBad);
            ADD_FAILURE() << "accepted '" << bad << "'";
        }
        catch (const SessionFormatError& e)
        {
            EXPECT_NE(std::string(e.what()).find("attribute \"broken\""), std::string::npos) << e.what();
        }
        SessionData data = sample();
        data.attributes["broken"] = bad;
        EXPECT_THROW(SessionSerializer::fromJson(SessionSerializer::toJson(data, "/c")), SessionFormatError) << bad;
    }
    for (const std::string good : {"0", "-12", "1.5e3", "\"text\"", "null", "[1,{\"a\":[]}]", " {\"x\" : true} "})
    {
        auto withGood = fields;
        withGood["a:fine"] = good;
        EXPECT_EQ(SessionSerializer::fromFields("id.n", withGood).attributes.at("fine"), good);
    }
}
