#include "plugin/LibraryTracker.h"

namespace mt::plugin {

LibraryTracker::LibraryPtr LibraryTracker::adopt(boost::dll::shared_library* library, const std::string& file)
{
    std::uint64_t id;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        id = _nextId++;
        _entries[id].file = file;
        _ids[library] = id;
    }
    // A weak_ptr expires before the deleter runs, i.e. before dlclose; the
    // deleter itself reports, so waitDropped() returns only once unmapped.
    std::shared_ptr<LibraryTracker> self = shared_from_this();
    LibraryPtr ptr(library, [self, id](boost::dll::shared_library* lib) {
        delete lib;
        self->released(id);
    });
    std::lock_guard<std::mutex> lock(_mutex);
    _entries[id].library = ptr;
    return ptr;
}

void LibraryTracker::drop(const LibraryPtr& library)
{
    markDropped(library, true);
}

void LibraryTracker::keep(const LibraryPtr& library)
{
    markDropped(library, false);
}

void LibraryTracker::markDropped(const LibraryPtr& library, bool dropped)
{
    if (!library)
        return;
    std::lock_guard<std::mutex> lock(_mutex);
    auto it = _ids.find(library.get());
    if (it != _ids.end())
        _entries[it->second].dropped = dropped;
}

void LibraryTracker::released(std::uint64_t id)
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        for (auto it = _ids.begin(); it != _ids.end(); ++it)
        {
            if (it->second == id)
            {
                _ids.erase(it);
                break;
            }
        }
        _entries.erase(id);
    }
    _unloaded.notify_all();
}

std::size_t LibraryTracker::mapped() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _entries.size();
}

std::string LibraryTracker::droppedFiles() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    std::string files;
    for (const auto& [id, entry] : _entries)
    {
        if (!entry.dropped)
            continue;
        if (!files.empty())
            files += ", ";
        files += entry.file + " (" + std::to_string(entry.library.use_count()) + " refs)";
    }
    return files;
}

bool LibraryTracker::waitDropped(int timeoutMs)
{
    std::unique_lock<std::mutex> lock(_mutex);
    auto noneDropped = [this] {
        for (const auto& [id, entry] : _entries)
            if (entry.dropped)
                return false;
        return true;
    };
    return _unloaded.wait_for(lock, std::chrono::milliseconds(timeoutMs < 0 ? 0 : timeoutMs), noneDropped);
}

} // namespace mt::plugin
