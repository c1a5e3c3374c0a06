#pragma once
// Knows which plugin libraries are still mapped, and which of them the
// manager has let go of (dropped by a rescan or replaced by a new version)
// but that live on because objects they made are alive.
//
// Shared (shared_ptr) between the manager and every library's deleter, so a
// library released after the manager is gone still has somewhere to report.
// Thread-safety: all methods from any thread.

#include <boost/dll/shared_library.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace mt::plugin {

class LibraryTracker : public std::enable_shared_from_this<LibraryTracker>
{
public:
    using LibraryPtr = std::shared_ptr<boost::dll::shared_library>;

    /// Takes ownership of a freshly loaded library. Its deleter unloads it
    /// (dlclose) and then reports here, so "released" means really unmapped.
    LibraryPtr adopt(boost::dll::shared_library* library, const std::string& file);

    /// The manager no longer holds this library; it lives while objects do.
    void drop(const LibraryPtr& library);
    /// The manager holds this library again (a restored snapshot).
    void keep(const LibraryPtr& library);

    std::size_t mapped() const;
    /// Files of the dropped libraries still mapped (for a log line on timeout).
    std::string droppedFiles() const;
    bool waitDropped(int timeoutMs);

private:
    struct Entry
    {
        std::string file;
        bool dropped = false;
        std::weak_ptr<boost::dll::shared_library> library;
    };
    void markDropped(const LibraryPtr& library, bool dropped);
    void released(std::uint64_t id);

    mutable std::mutex _mutex;
    std::condition_variable _unloaded;
    std::uint64_t _nextId = 1;
    std::map<std::uint64_t, Entry> _entries;
    std::map<const boost::dll::shared_library*, std::uint64_t> _ids;
};

} // namespace mt::plugin
