// store.redis.* settings: defaults, accepted values, and a refusal that names
// the key, the value and what is allowed for each kind of bad value.
#include "RedisSettings.h"

#include <Poco/AutoPtr.h>
#include <Poco/Util/MapConfiguration.h>

#include <gtest/gtest.h>

#include <initializer_list>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace {

using mt::redis::RedisSettings;

/// The plugin sees its keys without the "store.redis." prefix.
RedisSettings parse(std::initializer_list<std::pair<std::string, std::string>> values)
{
    Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
    for (const auto& [key, value] : values) config->setString(key, value);
    return RedisSettings::from(*config);
}

/// The message a refused set of keys gets, or "accepted".
std::string refusalOf(std::initializer_list<std::pair<std::string, std::string>> values)
{
    try
    {
        parse(values);
    }
    catch (const mt::PluginConfigError& e)
    {
        return e.what();
    }
    return "accepted";
}

std::string refusal(const std::string& key, const std::string& value)
{
    return refusalOf({{key, value}});
}

TEST(RedisSettingsTest, DefaultsNeedNoKeys)
{
    const RedisSettings s = parse({});
    EXPECT_EQ(s.host, "127.0.0.1");
    EXPECT_EQ(s.port, 6379);
    EXPECT_EQ(s.database, 0);
    EXPECT_TRUE(s.password.empty());
    EXPECT_EQ(s.keyPrefix, "mt");
    EXPECT_EQ(s.ns, "default");
    EXPECT_EQ(s.timeoutMs, 500);
    EXPECT_EQ(s.reconnectMaxMs, 2000);
    EXPECT_DOUBLE_EQ(s.touchFraction, 0.1);
    EXPECT_EQ(s.expiryGraceSeconds, 120);
    EXPECT_EQ(s.nearCache, 10000);
    EXPECT_TRUE(s.socket.empty());
    EXPECT_TRUE(s.username.empty());
    EXPECT_EQ(s.address(), "127.0.0.1:6379");
    EXPECT_TRUE(s.authCommand().empty()) << "no password, no AUTH";
}

TEST(RedisSettingsTest, EveryKeyIsRead)
{
    const RedisSettings s = parse({{"host", "redis.internal"}, {"port", "6380"}, {"password", "s3cret"},
                                   {"database", "3"}, {"keyPrefix", "shop"}, {"namespace", "eu-1.prod"},
                                   {"timeoutMs", "250"}, {"reconnectMaxMs", "5000"}, {"touchFraction", "0.25"},
                                   {"expiryGrace", "0"}, {"nearCache", "0"}});
    EXPECT_EQ(s.host, "redis.internal");
    EXPECT_EQ(s.port, 6380);
    EXPECT_EQ(s.password, "s3cret");
    EXPECT_EQ(s.database, 3);
    EXPECT_EQ(s.keyPrefix, "shop");
    EXPECT_EQ(s.ns, "eu-1.prod");
    EXPECT_EQ(s.timeoutMs, 250);
    EXPECT_EQ(s.reconnectMaxMs, 5000);
    EXPECT_DOUBLE_EQ(s.touchFraction, 0.25);
    EXPECT_EQ(s.expiryGraceSeconds, 0);
    EXPECT_EQ(s.nearCache, 0);
    EXPECT_EQ(s.authCommand(), (std::vector<std::string>{"AUTH", "s3cret"}));
}

TEST(RedisSettingsTest, AUnixSocketReplacesHostAndPort)
{
    const RedisSettings s = parse({{"socket", "/run/redis/redis.sock"}, {"username", "node-1"}, {"password", "pw"}});
    EXPECT_EQ(s.socket, "/run/redis/redis.sock");
    EXPECT_EQ(s.address(), "unix:/run/redis/redis.sock");
    EXPECT_EQ(s.authCommand(), (std::vector<std::string>{"AUTH", "node-1", "pw"})) << "an ACL user's login";
    EXPECT_EQ(parse({{"socket", "/" + std::string(106, 's')}}).socket.size(), 107u) << "sun_path's limit";
}

TEST(RedisSettingsTest, AnAclUserNameWithASpaceIsRefused)
{
    const std::string message = refusalOf({{"username", "node 1"}, {"password", "pw"}});
    EXPECT_NE(message.find("store.redis.username='node 1': an ACL user name has no spaces"), std::string::npos) << message;
}

TEST(RedisSettingsTest, TlsIsOffUnlessAskedAndItsKeysNeedIt)
{
    EXPECT_FALSE(parse({}).tls);
    EXPECT_FALSE(parse({{"tls", "false"}}).tls);
    const RedisSettings on = parse({{"tls", "true"}, {"host", "redis.internal"}});
    ASSERT_TRUE(on.tls) << "the system's trust store, the host's name";
    EXPECT_EQ(on.tls->serverName(), "redis.internal");
    EXPECT_EQ(on.address(), "redis.internal:6379 (TLS)");
    EXPECT_EQ(parse({{"tls", "true"}, {"tlsServerName", "10.0.0.7"}}).tls->serverName(), "10.0.0.7");
    EXPECT_NE(refusalOf({{"tls", "yes"}}).find("store.redis.tls='yes': use true or false"), std::string::npos);
    for (const char* key : {"tlsCaFile", "tlsCertFile", "tlsKeyFile", "tlsServerName"})
        EXPECT_NE(refusalOf({{key, "x"}}).find(std::string("store.redis.") + key + " is set but store.redis.tls is not true"),
                  std::string::npos)
            << key;
    EXPECT_NE(refusalOf({{"tls", "true"}, {"socket", "/run/redis.sock"}}).find("Redis serves TLS on its tls-port only"),
              std::string::npos);
    EXPECT_NE(refusalOf({{"tls", "true"}, {"tlsServerName", "a b"}}).find("store.redis.tlsServerName='a b'"), std::string::npos);
    EXPECT_NE(refusalOf({{"tls", "true"}, {"tlsCaFile", "/nonexistent/ca.crt"}})
                  .find("store.redis.tlsCaFile: cannot load '/nonexistent/ca.crt'"),
              std::string::npos);
}

TEST(RedisSettingsTest, ASocketWithAHostOrPortIsRefusedNotHalfUsed)
{
    for (const char* other : {"host", "port"})
    {
        const std::string message = refusalOf({{"socket", "/run/redis.sock"}, {other, "6380"}});
        EXPECT_NE(message.find("store.redis.socket='/run/redis.sock' and store.redis.host/port are both set"),
                  std::string::npos)
            << other << ": " << message;
    }
}

TEST(RedisSettingsTest, SentinelsNameTheMasterInsteadOfHostAndPort)
{
    const RedisSettings s = parse({{"sentinels", "10.0.0.5:26379, [::1]:26380,sentinel-3:26381"},
                                   {"sentinelMaster", "sessions"},
                                   {"sentinelUsername", "watcher"},
                                   {"sentinelPassword", "spw"}});
    ASSERT_EQ(s.sentinels.size(), 3u);
    EXPECT_EQ(s.sentinels[1].host, "::1");
    EXPECT_EQ(s.sentinels[1].port, 26380);
    EXPECT_EQ(s.address(), "master 'sessions' via sentinels 10.0.0.5:26379,[::1]:26380,sentinel-3:26381");
    EXPECT_EQ(s.sentinelAuthCommand(), (std::vector<std::string>{"AUTH", "watcher", "spw"}));
    EXPECT_TRUE(s.authCommand().empty()) << "the master's own password is store.redis.password";
    EXPECT_TRUE(parse({{"sentinels", "s:1"}, {"sentinelMaster", "m"}}).sentinelAuthCommand().empty());
    EXPECT_TRUE(parse({}).sentinels.empty());
}

TEST(RedisSettingsTest, BehindSentinelsTlsChecksEachHostsNameUnlessOneIsGiven)
{
    const RedisSettings s = parse({{"sentinels", "10.0.0.5:26379"}, {"sentinelMaster", "m"}, {"tls", "true"}});
    ASSERT_TRUE(s.tls);
    EXPECT_EQ(s.tls->serverName(), "") << "each sentinel's host, and the master's address as they name it";
    EXPECT_EQ(s.address(), "master 'm' via sentinels 10.0.0.5:26379 (TLS)");
    const RedisSettings named =
        parse({{"sentinels", "10.0.0.5:26379"}, {"sentinelMaster", "m"}, {"tls", "true"}, {"tlsServerName", "redis.internal"}});
    EXPECT_EQ(named.tls->serverName(), "redis.internal") << "one name that every instance's certificate carries";
}

TEST(RedisSettingsTest, SentinelKeysAreRefusedApartOrWithWhatTheyReplace)
{
    const auto has = [](const std::string& message, const std::string& part) {
        return message.find(part) != std::string::npos ? ::testing::AssertionSuccess()
                                                        : ::testing::AssertionFailure() << message;
    };
    EXPECT_TRUE(has(refusalOf({{"sentinels", "s:26379"}}), "store.redis.sentinels needs store.redis.sentinelMaster"));
    for (const char* key : {"sentinelMaster", "sentinelUsername", "sentinelPassword"})
        EXPECT_TRUE(has(refusalOf({{key, "x"}}), std::string("store.redis.") + key + " is set but store.redis.sentinels is not"));
    for (const auto& [key, value] : {std::pair<std::string, std::string>{"host", "h"}, {"port", "6380"}, {"socket", "/run/r.sock"}})
        EXPECT_TRUE(has(refusalOf({{"sentinels", "s:26379"}, {"sentinelMaster", "m"}, {key, value}}),
                        "store.redis.sentinels and store.redis." + key + " are both set"));
    EXPECT_TRUE(has(refusalOf({{"sentinels", "s:26379"}, {"sentinelMaster", "m"}, {"tls", "true"}, {"tlsServerName", ""}}),
                    "store.redis.tlsServerName=''"));
    EXPECT_TRUE(has(refusalOf({{"sentinels", "s:26379"}, {"sentinelMaster", "m"}, {"sentinelUsername", "u"}}),
                    "store.redis.sentinelUsername='u' needs store.redis.sentinelPassword"));
    EXPECT_TRUE(has(refusalOf({{"sentinels", "s:26379"}, {"sentinelMaster", "my master"}}), "sentinelMaster='my master'"));
    std::string seventeen;
    for (int i = 1; i <= 17; ++i) seventeen += (i > 1 ? "," : "") + std::string("s:") + std::to_string(i);
    EXPECT_TRUE(has(refusalOf({{"sentinels", seventeen}, {"sentinelMaster", "m"}}), "17 entries; at most 16"));
    const std::pair<std::string, std::string> badEntries[] = {
        {"10.0.0.5", "not host:port"},           {"s:0", "port out of range"},
        {"s:26379x", "bad port"},                {"::1:26379", "an IPv6 address goes in brackets"},
        {"s:1,s:1", "listed twice"},             {"s:1,,t:2", "entry '': not host:port"},
        {"[::1:26379", "unclosed ["},           {"[::1]x:26379", "unclosed ["},
    };
    for (const auto& [list, why] : badEntries)
        EXPECT_TRUE(has(refusalOf({{"sentinels", list}, {"sentinelMaster", "m"}}), "store.redis.sentinels='" + list + "': entry")) << list;
    for (const auto& [list, why] : badEntries)
        EXPECT_TRUE(has(refusalOf({{"sentinels", list}, {"sentinelMaster", "m"}}), why)) << list;
}

TEST(RedisSettingsTest, AClusterIsFoundThroughItsNodesInsteadOfHostAndPort)
{
    const RedisSettings s = parse({{"cluster", "10.0.0.5:6379, [::1]:6380"}, {"password", "pw"}});
    ASSERT_EQ(s.cluster.size(), 2u);
    EXPECT_EQ(s.cluster[1].host, "::1");
    EXPECT_EQ(s.address(), "cluster 10.0.0.5:6379,[::1]:6380");
    EXPECT_EQ(s.authCommand(), (std::vector<std::string>{"AUTH", "pw"})) << "every node's login";
    EXPECT_EQ(s.locatedBy(), "the cluster's nodes");
    const RedisSettings tls = parse({{"cluster", "10.0.0.5:6379"}, {"tls", "true"}});
    EXPECT_EQ(tls.tls->serverName(), "") << "each node's certificate carries the address connected to";
    EXPECT_EQ(tls.address(), "cluster 10.0.0.5:6379 (TLS)");
    EXPECT_TRUE(parse({}).cluster.empty());

    const auto has = [](const std::string& message, const std::string& part) {
        return message.find(part) != std::string::npos ? ::testing::AssertionSuccess()
                                                        : ::testing::AssertionFailure() << message;
    };
    for (const auto& [key, value] : {std::pair<std::string, std::string>{"host", "h"}, {"port", "6380"}, {"socket", "/run/r.sock"}})
        EXPECT_TRUE(has(refusalOf({{"cluster", "n:6379"}, {key, value}}), "store.redis.cluster and store.redis." + key + " are both set"));
    EXPECT_TRUE(has(refusalOf({{"cluster", "n:6379"}, {"sentinels", "s:26379"}, {"sentinelMaster", "m"}}),
                    "store.redis.cluster and store.redis.sentinels are both set"));
    EXPECT_TRUE(has(refusalOf({{"cluster", "n:6379"}, {"database", "2"}}), "store.redis.database=2 with store.redis.cluster"));
    EXPECT_TRUE(has(refusalOf({{"cluster", "n:6379,n"}}), "store.redis.cluster='n:6379,n': entry 'n': not host:port"));
    EXPECT_TRUE(has(refusalOf({{"cluster", "n:1,n:1"}}), "listed twice"));
}

TEST(RedisSettingsTest, TheBoundsThemselvesAreAccepted)
{
    EXPECT_EQ(parse({{"port", "1"}}).port, 1);
    EXPECT_EQ(parse({{"port", "65535"}}).port, 65535);
    EXPECT_EQ(parse({{"database", "1023"}}).database, 1023);
    EXPECT_EQ(parse({{"timeoutMs", "10"}}).timeoutMs, 10);
    EXPECT_DOUBLE_EQ(parse({{"touchFraction", "0"}}).touchFraction, 0.0);
    EXPECT_DOUBLE_EQ(parse({{"touchFraction", "1"}}).touchFraction, 1.0);
}

struct BadValue
{
    std::string key, value, expected; // `expected`: part of the message besides key and value
};

/// gtest names a failing case by its key and value, not by its bytes.
void PrintTo(const BadValue& bad, std::ostream* out)
{
    *out << bad.key << "='" << bad.value << "'";
}

class RedisSettingsRefusal : public ::testing::TestWithParam<BadValue>
{
};

TEST_P(RedisSettingsRefusal, NamesTheKeyTheValueAndWhatIsAllowed)
{
    const BadValue& bad = GetParam();
    const std::string message = refusal(bad.key, bad.value);
    EXPECT_NE(message, "accepted") << bad.key << "=" << bad.value;
    EXPECT_NE(message.find("store.redis." + bad.key), std::string::npos) << message;
    EXPECT_NE(message.find(bad.value), std::string::npos) << message;
    EXPECT_NE(message.find(bad.expected), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    EachKind, RedisSettingsRefusal,
    ::testing::Values(BadValue{"host", "", "name the Redis server"},
                      BadValue{"port", "abc", "not a number; use 1..65535"},
                      BadValue{"port", "80.5", "not a number"},
                      BadValue{"port", "0", "out of range; use 1..65535"},
                      BadValue{"port", "65536", "out of range"},
                      BadValue{"database", "-1", "out of range; use 0..1023"},
                      BadValue{"socket", "redis.sock", "use an absolute path of at most 107 bytes"},
                      BadValue{"socket", "/" + std::string(107, 's'), "use an absolute path"},
                      BadValue{"username", "node", "needs store.redis.password"},
                      BadValue{"keyPrefix", "a b", "use 1..64 of"},
                      BadValue{"keyPrefix", "mt:x", "use 1..64 of"},
                      BadValue{"keyPrefix", std::string(65, 'k'), "use 1..64 of"},
                      BadValue{"namespace", "", "use 1..64 of"},
                      BadValue{"namespace", "eu/1", "e.g. the cluster name"},
                      BadValue{"timeoutMs", "5", "out of range; use 10..60000 (default 500)"},
                      BadValue{"reconnectMaxMs", "ten", "not a number"},
                      BadValue{"expiryGrace", "86401", "out of range"},
                      BadValue{"nearCache", "-5", "out of range"},
                      BadValue{"touchFraction", "half", "not a number; use 0..1"},
                      BadValue{"touchFraction", "0.5s", "not a number"},
                      BadValue{"touchFraction", "2", "out of range; use 0..1"},
                      BadValue{"touchFraction", "-0.1", "out of range"},
                      BadValue{"touchFraction", "nan", "out of range"}));

} // namespace
