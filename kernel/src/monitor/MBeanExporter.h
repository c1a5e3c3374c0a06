#pragma once
// Registers the kernel's own MBeans, with Tomcat's names so that JMX tooling
// written for Tomcat finds them:
//   Catalina:type=ThreadPool,name="http"              worker pool and connections
//   Catalina:type=GlobalRequestProcessor,name="http"  request and error counts, time
//   Catalina:type=Manager,context=/cart,host=localhost  one per context: sessions
//   Catalina:type=Cluster, Catalina:type=ClusterStatus  membership (cluster nodes only)
// and unregisters them when it is destroyed. MBeans hold only weak or plain
// references: the kernel destroys the exporter before what they read.
// Thread-safety: export*/syncContexts from the kernel's controlling thread
// (start, reload); the MBeans themselves from any thread.

#include "mt/MBeanRegistry.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mt {

class ClusterService;
class ContextTable;
class DistributedSessionManager;
namespace http {
class HttpServer;
struct ServerLimits;
} // namespace http

class MBeanExporter
{
public:
    explicit MBeanExporter(MBeanRegistry& registry);
    ~MBeanExporter(); ///< unregisters every MBean it registered

    /// ThreadPool and GlobalRequestProcessor MBeans of one listener ("http", "admin").
    void exportHttp(const http::HttpServer& server, const http::ServerLimits& limits, const std::string& name);
    void exportCluster(ClusterService& cluster);
    /// One Manager MBean per context of `contexts`: registers new ones,
    /// replaces those whose session manager changed, unregisters the gone.
    void syncContexts(const ContextTable& contexts);

    /// Catalina:type=Manager,context=<path>,host=localhost ("/" for the root context).
    static ObjectName managerName(const std::string& contextPath);
    /// The Manager MBean of `sessions` (it holds a weak reference).
    static std::shared_ptr<MBean> makeManager(const std::shared_ptr<DistributedSessionManager>& sessions);

private:
    void add(const ObjectName& name, std::shared_ptr<const MBean> mbean);

    MBeanRegistry& _registry;
    std::mutex _mutex;
    std::vector<ObjectName> _fixed; ///< http and cluster MBeans
    std::map<ObjectName, const DistributedSessionManager*> _managers;
};

} // namespace mt
