// A test-only application that records the session events this node fired,
// so a test can check that an expired session's destroyed listener ran
// exactly once across the cluster:
//   GET /new?ttl=S      creates a session that expires after S seconds; answers its id
//   GET /destroyed      {"expired":["id",...],"invalidated":[...]} seen by this node
//   POST /set?name=N&value=V[&started=F&proceed=G][&login=1]
//                       sets attribute N to the JSON string V in the request's
//                       session; answers the session's id; with files F and
//                       G: creates F once it holds the session, then waits
//                       (at most 10 s) until G exists before it sets N, so a
//                       test can order another request between this one's
//                       read and its write; with login=1, gives the session
//                       a new id (changeSessionId) before it sets N
#include "mt/HttpSession.h"
#include "mt/SessionListener.h"
#include "mt/WebApplication.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

namespace {

class Recorder : public mt::SessionListener
{
public:
    void sessionDestroyed(const mt::SessionData& data, DestroyReason reason) override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        (reason == DestroyReason::Expired ? _expired : _invalidated).push_back(data.id);
    }
    std::string json() const
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return "{\"expired\":" + list(_expired) + ",\"invalidated\":" + list(_invalidated) + "}";
    }

private:
    static std::string list(const std::vector<std::string>& ids)
    {
        std::string out = "[";
        for (const auto& id : ids) out += (out.size() > 1 ? ",\"" : "\"") + id + "\"";
        return out + "]";
    }
    mutable std::mutex _mutex;
    std::vector<std::string> _expired, _invalidated;
};

class EventsApp : public mt::WebApplication
{
public:
    explicit EventsApp(const mt::PluginContext&) {}
    void deploy(mt::HandlerRegistry& registry) override
    {
        auto recorder = std::make_shared<Recorder>();
        registry.addSessionListener(recorder);
        registry.addHandler("/new", std::make_shared<mt::FunctionHandler>([](mt::HttpRequest& request, mt::HttpResponse& response) {
            auto* session = request.session(true);
            session->setMaxInactiveInterval(std::stoi(request.parameter("ttl", "1")));
            response.sendBody(session->id(), "text/plain");
        }));
        registry.addHandler("/set", std::make_shared<mt::FunctionHandler>([](mt::HttpRequest& request, mt::HttpResponse& response) {
            auto* session = request.session(false);
            if (!session) return response.sendError(404, "no session");
            const std::string started = request.parameter("started"), proceed = request.parameter("proceed");
            if (!started.empty()) std::ofstream(started) << session->id();
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (!proceed.empty() && !std::filesystem::exists(proceed) && std::chrono::steady_clock::now() < deadline)
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            if (request.parameter("login") == "1") request.changeSessionId();
            session->setAttributeJson(request.parameter("name"), "\"" + request.parameter("value") + "\"");
            response.sendBody(session->id(), "text/plain");
        }));
        registry.addHandler("/destroyed", std::make_shared<mt::FunctionHandler>(
            [recorder](mt::HttpRequest&, mt::HttpResponse& response) { response.sendBody(recorder->json(), "application/json"); }));
    }
};

} // namespace

MT_PLUGIN("app", "events", "1.0.0", "test application that records session events", "", EventsApp)
