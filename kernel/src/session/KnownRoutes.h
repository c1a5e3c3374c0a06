#pragma once
// The route suffixes a session id may carry in this cluster: its nodes'
// names. A session renamed by another node (failover) is found under one of
// them when a request still carries its old id. Filled by the kernel from
// the cluster configuration (at start and on reload) and shared by every
// session manager, which may outlive a reload.
//
// Thread-safety: all methods from any thread.

#include <mutex>
#include <string>
#include <vector>

namespace mt {

class KnownRoutes
{
public:
    void set(std::vector<std::string> routes)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _routes = std::move(routes);
    }
    std::vector<std::string> get() const
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _routes;
    }

private:
    mutable std::mutex _mutex;
    std::vector<std::string> _routes;
};

} // namespace mt
