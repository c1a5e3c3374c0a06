// A test-only application that records every POST it executes: the body of
// POST /posts/?id=X appends "X" to <log>/<node>.log (one write(2) per POST,
// O_APPEND, so the record survives a kill -9). Tests read the files of all
// nodes: an id written twice is a POST executed twice. GET answers the node's
// name, so tests can count where GETs went; GET ?stall=1 sends half an answer
// and then nothing for 30 s.
#include "mt/WebApplication.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace {

class PostLogApp : public mt::WebApplication
{
public:
    explicit PostLogApp(const mt::PluginContext& context)
        : _node(context.nodeName()), _file(context.config().getString("log", "/tmp") + "/" + context.nodeName() + ".log")
    {
    }
    void deploy(mt::HandlerRegistry& registry) override
    {
        registry.addHandler("/*", std::make_shared<mt::FunctionHandler>([this](mt::HttpRequest& request, mt::HttpResponse& response) {
            if (request.method() == "POST")
            {
                std::string line = request.parameter("id", "-") + "\n";
                request.readBody();
                int fd = ::open(_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
                if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
                {
                    if (fd >= 0) ::close(fd);
                    return response.sendError(500, "cannot record the POST");
                }
                ::close(fd);
            }
            if (request.parameter("stall", "") == "1")
            {
                // Half an answer, then nothing: the test kills this node meanwhile.
                std::ostream& out = response.send();
                out << "partial from " << _node << "\n" << std::flush;
                std::this_thread::sleep_for(std::chrono::seconds(30));
                return;
            }
            response.sendBody(_node + "\n", "text/plain");
        }));
    }

private:
    std::string _node;
    std::string _file;
};

} // namespace

MT_PLUGIN("app", "postlog", "1.0.0", "test application recording every POST it executes", "log", PostLogApp)
