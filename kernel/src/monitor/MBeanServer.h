#pragma once
// The kernel's MBeanRegistry: a map from canonical name to MBean under a
// shared mutex. Lookups copy the shared_ptr out and run getters without the
// lock, so a slow or re-entrant getter never blocks registration. What a
// lookup hands out is a lease, counted per MBean, which unregistering waits
// for: an owner's getters never run after the owner is gone.

#include "mt/MBeanRegistry.h"

#include <chrono>
#include <map>
#include <memory>
#include <shared_mutex>

namespace mt {

class MBeanServer : public MBeanRegistry
{
public:
    /// `leaseWait`: how long unregistering waits for the leases on an MBean
    /// before it logs the name and returns anyway (a getter stuck that long
    /// is a bug; a hang of the caller, a reload, would be worse).
    explicit MBeanServer(std::chrono::milliseconds leaseWait = std::chrono::seconds(10));
    ~MBeanServer() override;

    void registerMBean(const ObjectName& name, std::shared_ptr<const MBean> mbean) override;
    std::shared_ptr<const MBean> replaceMBean(const ObjectName& name, std::shared_ptr<const MBean> mbean) override;
    bool unregisterMBean(const ObjectName& name) override;
    bool unregisterMBean(const ObjectName& name, const MBean* mbean) override;
    std::shared_ptr<const MBean> find(const ObjectName& name) const override;
    std::vector<ObjectName> queryNames(const ObjectName& pattern) const override;
    std::size_t count() const override;

private:
    struct Entry
    {
        ObjectName name;
        std::shared_ptr<const MBean> mbean;
    };
    class Leases;
    struct LeaseDeleter;
    static void check(const ObjectName& name, const std::shared_ptr<const MBean>& mbean);
    void awaitLeases(const ObjectName& name, const MBean* mbean) const;

    mutable std::shared_mutex _mutex;
    std::map<std::string, Entry> _mbeans; ///< by canonical name
    std::shared_ptr<Leases> _leases;       ///< shared with the leases, which may outlive the server
    std::chrono::milliseconds _leaseWait;
};

} // namespace mt
