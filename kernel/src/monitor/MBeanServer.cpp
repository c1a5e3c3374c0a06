#include "monitor/MBeanServer.h"

#include <mutex>

namespace mt {

MBeanServer::MBeanServer() = default;

MBeanServer::~MBeanServer() = default;

void MBeanServer::check(const ObjectName& name, const std::shared_ptr<const MBean>& mbean)
{
    if (name.isEmpty()) throw MalformedObjectName("an MBean needs a name");
    if (name.isPattern()) throw MalformedObjectName("'" + name.toString() + "' is a pattern, not an MBean name");
    if (!mbean) throw std::invalid_argument("null MBean for " + name.toString());
}

void MBeanServer::registerMBean(const ObjectName& name, std::shared_ptr<const MBean> mbean)
{
    check(name, mbean);
    std::unique_lock lock(_mutex);
    if (!_mbeans.emplace(name.canonicalName(), Entry{name, std::move(mbean)}).second)
        throw MBeanError("javax.management.InstanceAlreadyExistsException", 400, name.toString());
}

std::shared_ptr<const MBean> MBeanServer::replaceMBean(const ObjectName& name, std::shared_ptr<const MBean> mbean)
{
    check(name, mbean);
    std::shared_ptr<const MBean> old; // returned, so released after the lock: its destructor may be slow
    std::unique_lock lock(_mutex);
    auto& entry = _mbeans[name.canonicalName()];
    old = std::move(entry.mbean);
    entry = Entry{name, std::move(mbean)};
    return old;
}

bool MBeanServer::unregisterMBean(const ObjectName& name)
{
    std::shared_ptr<const MBean> old;
    std::unique_lock lock(_mutex);
    auto it = _mbeans.find(name.canonicalName());
    if (it == _mbeans.end()) return false;
    old = std::move(it->second.mbean);
    _mbeans.erase(it);
    return true;
}

bool MBeanServer::unregisterMBean(const ObjectName& name, const MBean* mbean)
{
    std::shared_ptr<const MBean> old;
    std::unique_lock lock(_mutex);
    auto it = _mbeans.find(name.canonicalName());
    if (it == _mbeans.end() || it->second.mbean.get() != mbean) return false;
    old = std::move(it->second.mbean);
    _mbeans.erase(it);
    return true;
}

std::shared_ptr<const MBean> MBeanServer::find(const ObjectName& name) const
{
    std::shared_lock lock(_mutex);
    auto it = _mbeans.find(name.canonicalName());
    return it == _mbeans.end() ? nullptr : it->second.mbean;
}

std::vector<ObjectName> MBeanServer::queryNames(const ObjectName& pattern) const
{
    std::vector<ObjectName> names;
    std::shared_lock lock(_mutex);
    for (const auto& [canonical, entry] : _mbeans)
        if (pattern.isEmpty() || pattern.matches(entry.name)) names.push_back(entry.name);
    return names;
}

std::size_t MBeanServer::count() const
{
    std::shared_lock lock(_mutex);
    return _mbeans.size();
}

} // namespace mt
