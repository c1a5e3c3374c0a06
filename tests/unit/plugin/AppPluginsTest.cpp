// The example applications, loaded as plugins and driven through fake
// requests: the handlers' logic without a server (the lead's integration
// tests cover the real thing).
#include "plugin/PluginManager.h"
#include "web/HandlerMapping.h"

#include "TestSupport.h"
#include "mt/HttpSession.h"
#include "mt/WebApplication.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>

using namespace mt;

namespace {

class FakeSession : public HttpSession
{
public:
    const std::string& id() const override { return _id; }
    bool isNew() const override { return fresh; }
    TimeMs creationTime() const override { return 0; }
    TimeMs lastAccessedTime() const override { return 0; }
    int maxInactiveInterval() const override { return 1800; }
    void setMaxInactiveInterval(int) override {}
    std::optional<std::string> attributeJson(const std::string& name) const override
    {
        auto it = attributes.find(name);
        if (it == attributes.end())
            return std::nullopt;
        return it->second;
    }
    void setAttributeJson(const std::string& name, const std::string& json) override { attributes[name] = json; }
    void removeAttribute(const std::string& name) override { attributes.erase(name); }
    std::vector<std::string> attributeNames() const override
    {
        std::vector<std::string> names;
        for (const auto& [k, v] : attributes)
            names.push_back(k);
        return names;
    }
    std::uint64_t version() const override { return 0; }
    const VersionVector& versionVector() const override { return _vv; }
    void invalidate() override {}
    bool isValid() const override { return true; }

    bool fresh = true;
    std::map<std::string, std::string> attributes;

private:
    std::string _id = "abc123.node1";
    VersionVector _vv;
};

class FakeRequest : public HttpRequest
{
public:
    FakeRequest(std::string method, std::string path, std::map<std::string, std::string> params, FakeSession* store)
        : _method(std::move(method)), _path(std::move(path)), _params(std::move(params)), _store(store)
    {
    }
    const std::string& method() const override { return _method; }
    const std::string& uri() const override { return _path; }
    const std::string& contextPath() const override { return _context; }
    const std::string& pathInfo() const override { return _path; }
    const std::string& query() const override { return _empty; }
    std::string parameter(const std::string& name, const std::string& fallback) const override
    {
        auto it = _params.find(name);
        return it == _params.end() ? fallback : it->second;
    }
    bool hasParameter(const std::string& name) const override { return _params.count(name) > 0; }
    std::string header(const std::string&, const std::string& fallback) const override { return fallback; }
    const Poco::Net::NameValueCollection& headers() const override { return _headers; }
    Poco::Net::SocketAddress clientAddress() const override { return {}; }
    std::istream& body() override { return _body; }
    std::string readBody() override { return ""; }
    HttpSession* session(bool create) override
    {
        if (!_store->attributes.empty() || create || created)
        {
            created = true;
            return _store;
        }
        return nullptr;
    }
    std::string changeSessionId() override { return ""; }

    bool created = false;

private:
    std::string _method, _path, _context = "/app", _empty;
    std::map<std::string, std::string> _params;
    FakeSession* _store;
    Poco::Net::NameValueCollection _headers;
    std::istringstream _body;
};

class FakeResponse : public HttpResponse
{
public:
    void setStatus(int s, const std::string&) override { status_ = s; }
    int status() const override { return status_; }
    void setHeader(const std::string& n, const std::string& v) override { headers[n] = v; }
    void addHeader(const std::string& n, const std::string& v) override { headers[n] = v; }
    void setContentType(const std::string& t) override { headers["Content-Type"] = t; }
    void setContentLength(long long) override {}
    std::ostream& send() override { return _out; }
    void sendBody(const std::string& b, const std::string& type) override
    {
        body = b;
        if (!type.empty())
            headers["Content-Type"] = type;
    }
    void sendError(int s, const std::string& message) override
    {
        status_ = s;
        body = message;
    }
    bool committed() const override { return false; }

    int status_ = 200;
    std::string body;
    std::map<std::string, std::string> headers;

private:
    std::ostringstream _out;
};

class Registry : public HandlerRegistry
{
public:
    void addHandler(const std::string& pattern, std::shared_ptr<RequestHandler> handler) override
    {
        mapping.add(pattern, std::move(handler));
    }
    void addSessionListener(std::shared_ptr<SessionListener>) override {}
    const std::string& contextPath() const override { return _path; }
    HandlerMapping mapping;

private:
    std::string _path = "/app";
};

/// One deployed application; handlers are dropped before the app and the
/// app before the manager lets go of the library.
class Deployed
{
public:
    explicit Deployed(const std::string& name) : _manager(Poco::Logger::get("mt.test.apps")), _context("mt.test.app")
    {
        _manager.load(std::string(MT_PLUGIN_DIR) + "/app-" + name + ".so");
        _app = _manager.create<WebApplication>("app", name, _context);
        _registry = std::make_unique<Registry>();
        _app->deploy(*_registry);
    }
    ~Deployed() { _registry.reset(); }

    FakeResponse call(const std::string& method, const std::string& path,
                      std::map<std::string, std::string> params = {})
    {
        FakeRequest request(method, path, std::move(params), &session);
        FakeResponse response;
        RequestHandler* handler = _registry->mapping.match(path);
        if (!handler)
            response.sendError(404, "unmapped");
        else
            handler->service(request, response);
        lastCreatedSession = request.created;
        return response;
    }

    FakeSession session;
    bool lastCreatedSession = false;

private:
    PluginManager _manager;
    mt::test::TestContext _context;
    std::shared_ptr<WebApplication> _app;
    std::unique_ptr<Registry> _registry;
};

Poco::JSON::Object::Ptr json(const std::string& text)
{
    return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

} // namespace

TEST(HelloApp, AnswersHelloWithoutASession)
{
    Deployed app("hello");
    FakeResponse r = app.call("GET", "/");
    EXPECT_EQ("hello\n", r.body);
    EXPECT_EQ("text/plain", r.headers["Content-Type"]);
    EXPECT_FALSE(app.lastCreatedSession);
    EXPECT_EQ("hello\n", app.call("GET", "/anything/below").body);
}

TEST(CounterApp, CountsPerSession)
{
    Deployed app("counter");
    FakeResponse r = app.call("GET", "/");
    EXPECT_EQ("application/json", r.headers["Content-Type"]);
    auto first = json(r.body);
    EXPECT_EQ(1, first->getValue<int>("count"));
    EXPECT_EQ("abc123.node1", first->getValue<std::string>("session"));
    EXPECT_EQ("node1", first->getValue<std::string>("node"));
    EXPECT_TRUE(first->getValue<bool>("new"));
    app.session.fresh = false;
    auto second = json(app.call("GET", "/some/path").body);
    EXPECT_EQ(2, second->getValue<int>("count"));
    EXPECT_FALSE(second->getValue<bool>("new"));
    EXPECT_EQ("2", app.session.attributes["count"]);
}

TEST(CartApp, AddListRemoveClear)
{
    Deployed app("cart");
    FakeResponse empty = app.call("GET", "/");
    EXPECT_EQ(200, empty.status_);
    EXPECT_EQ(0u, json(empty.body)->getObject("items")->size());
    EXPECT_FALSE(app.lastCreatedSession); // listing does not create a session

    EXPECT_EQ(200, app.call("POST", "/add", {{"sku", "apple"}}).status_);
    EXPECT_EQ(200, app.call("POST", "/add", {{"sku", "apple"}, {"qty", "4"}}).status_);
    EXPECT_EQ(200, app.call("POST", "/add", {{"sku", "pear-2"}, {"qty", "2"}}).status_);
    EXPECT_EQ("5", app.session.attributes["item.apple"]);
    EXPECT_EQ("2", app.session.attributes["item.pear-2"]);

    auto items = json(app.call("GET", "/").body)->getObject("items");
    EXPECT_EQ(5, items->getValue<int>("apple"));
    EXPECT_EQ(2, items->getValue<int>("pear-2"));

    app.call("POST", "/remove", {{"sku", "apple"}});
    EXPECT_EQ(0u, app.session.attributes.count("item.apple"));
    app.session.attributes["other"] = "1";
    app.call("POST", "/clear");
    EXPECT_EQ(1u, app.session.attributes.size()); // only its own attributes
}

TEST(CartApp, RefusesBadInputAndMethods)
{
    Deployed app("cart");
    EXPECT_EQ(400, app.call("POST", "/add", {{"sku", "a b"}}).status_);
    EXPECT_EQ(400, app.call("POST", "/add").status_);
    EXPECT_EQ(400, app.call("POST", "/add", {{"sku", "x"}, {"qty", "0"}}).status_);
    EXPECT_EQ(400, app.call("POST", "/add", {{"sku", "x"}, {"qty", "1001"}}).status_);
    EXPECT_EQ(400, app.call("POST", "/remove", {{"sku", ""}}).status_);
    FakeResponse wrong = app.call("GET", "/add", {{"sku", "x"}});
    EXPECT_EQ(405, wrong.status_);
    EXPECT_EQ("POST", wrong.headers["Allow"]);
    EXPECT_EQ(405, app.call("POST", "/").status_);
    EXPECT_EQ(405, app.call("GET", "/clear").status_);
    EXPECT_EQ(404, app.call("GET", "/nope").status_);
    EXPECT_TRUE(app.session.attributes.empty());
}
