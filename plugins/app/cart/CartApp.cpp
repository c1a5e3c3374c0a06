// A shopping cart kept in the session, one attribute per item ("item.<sku>"
// = quantity): the example for EVENTUAL consistency, where adds of different
// items on two nodes must both survive the merge.
#include "CartRules.h"

#include "mt/HttpSession.h"
#include "mt/JsonText.h"
#include "mt/WebApplication.h"

#include <charconv>
#include <memory>
#include <string>

namespace {

long long storedQuantity(const mt::HttpSession& session, const std::string& attribute)
{
    long long quantity = 0;
    if (auto json = session.attributeJson(attribute))
        std::from_chars(json->data(), json->data() + json->size(), quantity);
    return quantity;
}

/// Answers {"items":{"sku":qty,...},"node":"..."}; a request without a
/// session sees an empty cart (and does not create a session).
void sendCart(mt::HttpSession* session, const std::string& nodeJson, mt::HttpResponse& response)
{
    std::string body = "{\"items\":{";
    bool first = true;
    if (session)
    {
        for (const std::string& name : session->attributeNames())
        {
            if (name.compare(0, cart::kItemPrefix.size(), cart::kItemPrefix) != 0)
                continue;
            if (!first)
                body += ',';
            first = false;
            mt::appendJsonString(body, name.substr(cart::kItemPrefix.size()));
            body += ':';
            body += std::to_string(storedQuantity(*session, name));
        }
    }
    body += "},\"node\":";
    body += nodeJson;
    body += '}';
    static const std::string json = "application/json";
    response.sendBody(body, json);
}

bool requireMethod(mt::HttpRequest& request, mt::HttpResponse& response, const char* method)
{
    if (request.method() == method)
        return true;
    response.setHeader("Allow", method);
    response.sendError(405, std::string("use ") + method + " for " + request.pathInfo());
    return false;
}

/// The sku parameter, validated; answers 400 and returns "" when bad.
std::string requireSku(mt::HttpRequest& request, mt::HttpResponse& response)
{
    std::string sku = request.parameter("sku");
    if (!cart::validSku(sku))
    {
        response.sendError(400, "parameter sku must be 1 to 64 characters of A-Z a-z 0-9 _ -");
        return "";
    }
    return sku;
}

class CartHandler : public mt::RequestHandler
{
public:
    enum class Action { List, Add, Remove, Clear };

    CartHandler(Action action, std::string nodeJson) : _action(action), _nodeJson(std::move(nodeJson)) {}

    void service(mt::HttpRequest& request, mt::HttpResponse& response) override
    {
        switch (_action)
        {
        case Action::List:
            // "/" is also the default mapping: anything else is unknown here.
            if (request.pathInfo() != "/")
                return response.sendError(404, "no such cart operation: " + request.pathInfo());
            if (requireMethod(request, response, "GET"))
                sendCart(request.session(false), _nodeJson, response);
            return;
        case Action::Add:
            return add(request, response);
        case Action::Remove:
            return remove(request, response);
        case Action::Clear:
            return clear(request, response);
        }
    }

private:
    void add(mt::HttpRequest& request, mt::HttpResponse& response)
    {
        if (!requireMethod(request, response, "POST"))
            return;
        std::string sku = requireSku(request, response);
        if (sku.empty())
            return;
        int quantity = 0;
        if (!cart::parseQuantity(request.parameter("qty"), quantity))
            return response.sendError(400, "parameter qty must be a whole number from 1 to 1000");
        mt::HttpSession* session = request.session(true);
        if (!session)
            return response.sendError(503, "sessions are not available in this context");
        std::string attribute = cart::kItemPrefix + sku;
        session->setAttributeJson(attribute, std::to_string(storedQuantity(*session, attribute) + quantity));
        sendCart(session, _nodeJson, response);
    }

    void remove(mt::HttpRequest& request, mt::HttpResponse& response)
    {
        if (!requireMethod(request, response, "POST"))
            return;
        std::string sku = requireSku(request, response);
        if (sku.empty())
            return;
        mt::HttpSession* session = request.session(false);
        if (session)
            session->removeAttribute(cart::kItemPrefix + sku);
        sendCart(session, _nodeJson, response);
    }

    void clear(mt::HttpRequest& request, mt::HttpResponse& response)
    {
        if (!requireMethod(request, response, "POST"))
            return;
        mt::HttpSession* session = request.session(false);
        if (session)
        {
            for (const std::string& name : session->attributeNames())
                if (name.compare(0, cart::kItemPrefix.size(), cart::kItemPrefix) == 0)
                    session->removeAttribute(name);
        }
        sendCart(session, _nodeJson, response);
    }

    const Action _action;
    const std::string _nodeJson;
};

class CartApp : public mt::WebApplication
{
public:
    explicit CartApp(const mt::PluginContext& context) { mt::appendJsonString(_nodeJson, context.nodeName()); }

    void deploy(mt::HandlerRegistry& registry) override
    {
        using Action = CartHandler::Action;
        registry.addHandler("/", std::make_shared<CartHandler>(Action::List, _nodeJson));
        registry.addHandler("/add", std::make_shared<CartHandler>(Action::Add, _nodeJson));
        registry.addHandler("/remove", std::make_shared<CartHandler>(Action::Remove, _nodeJson));
        registry.addHandler("/clear", std::make_shared<CartHandler>(Action::Clear, _nodeJson));
    }

private:
    std::string _nodeJson;
};

} // namespace

MT_PLUGIN("app", "cart", "1.0.0", "a session shopping cart, one attribute per item", "", CartApp)
