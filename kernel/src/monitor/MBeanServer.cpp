#include "monitor/MBeanServer.h"

#include <Poco/Logger.h>

#include <condition_variable>
#include <mutex>

namespace mt {

class MBeanServer::Leases
{
public:
    void acquire(const MBean* mbean)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        ++_held[mbean];
    }
    void release(const MBean* mbean)
    {
        {
            std::lock_guard<std::mutex> lock(_mutex);
            auto it = _held.find(mbean);
            if (it != _held.end() && --it->second == 0) _held.erase(it);
        }
        _released.notify_all();
    }
    bool awaitNone(const MBean* mbean, std::chrono::milliseconds timeout)
    {
        std::unique_lock<std::mutex> lock(_mutex);
        return _released.wait_for(lock, timeout, [&] { return _held.count(mbean) == 0; });
    }

private:
    std::mutex _mutex;
    std::condition_variable _released;
    std::map<const MBean*, int> _held;
};

/// A lease's deleter: lets go of the MBean first, so that the owner, waiting
/// for the count, is never the one left to destroy it after its library went.
struct MBeanServer::LeaseDeleter
{
    std::shared_ptr<const MBean> mbean;
    std::shared_ptr<Leases> leases;

    void operator()(const MBean* leased)
    {
        mbean.reset();
        leases->release(leased);
    }
};

MBeanServer::MBeanServer(std::chrono::milliseconds leaseWait)
    : _leases(std::make_shared<Leases>()), _leaseWait(leaseWait)
{
}

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
    {
        std::unique_lock lock(_mutex);
        auto it = _mbeans.find(name.canonicalName());
        if (it == _mbeans.end()) return false;
        old = std::move(it->second.mbean);
        _mbeans.erase(it);
    }
    awaitLeases(name, old.get());
    return true;
}

bool MBeanServer::unregisterMBean(const ObjectName& name, const MBean* mbean)
{
    std::shared_ptr<const MBean> old;
    {
        std::unique_lock lock(_mutex);
        auto it = _mbeans.find(name.canonicalName());
        if (it != _mbeans.end() && it->second.mbean.get() == mbean)
        {
            old = std::move(it->second.mbean);
            _mbeans.erase(it);
        }
    }
    // Also when the name has another MBean now: leases on this one may be older than that.
    awaitLeases(name, mbean);
    return old != nullptr;
}

void MBeanServer::awaitLeases(const ObjectName& name, const MBean* mbean) const
{
    if (!_leases->awaitNone(mbean, _leaseWait))
        Poco::Logger::get("mt.jmx").error("MBean %s: a call to it was still running %ld ms after it was unregistered; "
                                         "its owner goes on regardless, and if the call outlives it the node may crash",
                                         name.toString(), static_cast<long>(_leaseWait.count()));
}

std::shared_ptr<const MBean> MBeanServer::find(const ObjectName& name) const
{
    std::shared_ptr<const MBean> mbean;
    {
        // Taken under the lock: an unregister either finds this lease or made the lookup fail.
        std::shared_lock lock(_mutex);
        auto it = _mbeans.find(name.canonicalName());
        if (it == _mbeans.end()) return nullptr;
        mbean = it->second.mbean;
        _leases->acquire(mbean.get());
    }
    const MBean* leased = mbean.get();
    return std::shared_ptr<const MBean>(leased, LeaseDeleter{std::move(mbean), _leases});
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
