#pragma once
// The registry of managed objects (JMX's MBeanServer): MBeans by ObjectName,
// queried by pattern. The kernel owns one per process and registers its own
// MBeans there (Catalina:type=Cluster, Catalina:type=Manager,context=...,
// Catalina:type=GlobalRequestProcessor,..., Catalina:type=ThreadPool,...);
// plugins reach it through PluginContext::mbeans(). Served over the Jolokia
// protocol at /jolokia/.
//
// Thread-safety: every method may be called from any thread. Getters and
// invokers run without the registry's lock held, so an MBean may itself use
// the registry.
//
// Lifetime: what find() returns is a lease on the MBean. Unregistering an
// MBean waits until no lease on it is left, so that once it returns no getter
// of it is running or can start, and the registry's callers hold it no more:
// its owner may then destroy what the getters read, and a plugin's library
// may go. Do not unregister an MBean from inside one of its own getters.

#include "mt/Api.h"
#include "mt/MBean.h"
#include "mt/ObjectName.h"

#include <memory>
#include <string>
#include <vector>

namespace mt {

class MT_API MBeanRegistry
{
public:
    virtual ~MBeanRegistry();

    /// Throws MBeanError ("javax.management.InstanceAlreadyExistsException")
    /// if the name is taken, MalformedObjectName if it is a pattern.
    virtual void registerMBean(const ObjectName& name, std::shared_ptr<const MBean> mbean) = 0;
    /// Registers, replacing what had the name; returns that (null if nothing).
    virtual std::shared_ptr<const MBean> replaceMBean(const ObjectName& name, std::shared_ptr<const MBean> mbean) = 0;
    /// False if nothing had the name. Waits for the leases on what it removed.
    virtual bool unregisterMBean(const ObjectName& name) = 0;
    /// Unregisters `name` only while `mbean` is what has it, so that an owner
    /// going away does not take along the MBean that replaced its own (a
    /// context redeployed with a new store: the new one registers the name
    /// before the old one goes). False if not. Either way it waits for the
    /// leases on `mbean`, which may have been taken before it was replaced.
    virtual bool unregisterMBean(const ObjectName& name, const MBean* mbean) = 0;
    /// Null if no MBean has the name. Hold the lease only for the calls at hand.
    virtual std::shared_ptr<const MBean> find(const ObjectName& name) const = 0;
    /// The names `pattern` matches (every name for an empty pattern), sorted
    /// by canonical name. A name that is not a pattern matches itself.
    virtual std::vector<ObjectName> queryNames(const ObjectName& pattern) const = 0;
    virtual std::size_t count() const = 0;

    bool isRegistered(const ObjectName& name) const { return find(name) != nullptr; }
    /// Throws MBeanError 404 (javax.management.InstanceNotFoundException) if absent.
    std::shared_ptr<const MBean> get(const ObjectName& name) const;
};

} // namespace mt
