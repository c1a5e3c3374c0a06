#include "server/ContextTable.h"

#include <algorithm>

namespace mt {

ContextTable::ContextTable(std::vector<std::shared_ptr<WebContext>> contexts) : _contexts(std::move(contexts))
{
    std::sort(_contexts.begin(), _contexts.end(),
              [](const auto& a, const auto& b) { return a->path().size() > b->path().size(); });
}

std::shared_ptr<WebContext> ContextTable::match(const std::string& path) const
{
    for (const auto& context : _contexts)
    {
        const std::string& prefix = context->path();
        if (path.compare(0, prefix.size(), prefix) != 0) continue;
        if (path.size() == prefix.size() || path[prefix.size()] == '/') return context;
    }
    return nullptr;
}

std::shared_ptr<WebContext> ContextTable::byId(const std::string& id) const
{
    for (const auto& context : _contexts)
        if (context->config().id == id) return context;
    return nullptr;
}

} // namespace mt
