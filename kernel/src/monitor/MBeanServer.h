#pragma once
// The kernel's MBeanRegistry: a map from canonical name to MBean under a
// shared mutex. Lookups copy the shared_ptr out and run getters without the
// lock, so a slow or re-entrant getter never blocks registration.

#include "mt/MBeanRegistry.h"

#include <map>
#include <shared_mutex>

namespace mt {

class MBeanServer : public MBeanRegistry
{
public:
    MBeanServer();
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
    static void check(const ObjectName& name, const std::shared_ptr<const MBean>& mbean);

    mutable std::shared_mutex _mutex;
    std::map<std::string, Entry> _mbeans; ///< by canonical name
};

} // namespace mt
