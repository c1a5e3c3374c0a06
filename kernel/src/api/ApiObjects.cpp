// Out-of-line key functions: the vtables and typeinfo of the API classes live
// in libmtapi.so only, so dynamic_cast works across plugin boundaries.
#include "mt/BodyTooLarge.h"
#include "mt/HttpRequest.h"
#include "mt/HttpResponse.h"
#include "mt/HttpSession.h"
#include "mt/LoadBalancer.h"
#include "mt/Plugin.h"
#include "mt/RequestHandler.h"
#include "mt/SessionListener.h"
#include "mt/SessionStoreAdapter.h"
#include "mt/WebApplication.h"

namespace mt {

PluginContext::~PluginContext() = default;
const std::string& PluginContext::scope() const
{
    static const std::string none;
    return none;
}
PluginObject::~PluginObject() = default;
HttpSession::~HttpSession() = default;
HttpRequest::~HttpRequest() = default;
HttpResponse::~HttpResponse() = default;
RequestHandler::~RequestHandler() = default;
SessionListener::~SessionListener() = default;
HandlerRegistry::~HandlerRegistry() = default;
WebApplication::~WebApplication() = default;
SessionStoreAdapter::~SessionStoreAdapter() = default;
LoadBalancer::~LoadBalancer() = default;

} // namespace mt
