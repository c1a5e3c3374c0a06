#pragma once
// Loads plugin libraries (.so) from the plugin directory with Boost.DLL and
// creates objects from them.
//
// Lifetime: every created object holds its library (shared_ptr deleter), so
// a library stays mapped while any object it made lives, even after a rescan
// dropped or replaced it. waitUnloaded() waits for that.
//
// PUBLIC INTERFACE FIXED; the plugin module owns the implementation.
// Thread-safety: all methods may be called from any thread.

#include "mt/Plugin.h"

#include <Poco/Logger.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace mt {

/// A plugin could not be loaded or created; what() names the file and the fix.
class PluginError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

struct PluginInfo
{
    std::string kind;
    std::string name;
    std::string version;
    std::string description;
    std::string file;              ///< absolute path of the .so
    std::vector<std::string> configKeys;
};

struct ScanReport
{
    std::vector<std::string> loaded;   ///< "kind/name (file)" newly available
    std::vector<std::string> reloaded; ///< file changed on disk, new version active
    std::vector<std::string> removed;  ///< file gone
    std::vector<std::string> errors;   ///< one line each: file, what is wrong, the fix
};

class PluginManager
{
public:
    explicit PluginManager(Poco::Logger& logger);
    ~PluginManager();

    /// Makes `dir` the plugin set: loads every *.so in it that is new or
    /// changed (size/mtime) and forgets every file not in it, whatever its
    /// directory (so a new plugin directory replaces the old one, and a file
    /// given to load() is forgotten too). A bad file is reported and skipped;
    /// what was loaded before stays available. Never throws for a bad plugin;
    /// throws PluginError only if `dir` does not exist.
    ScanReport scan(const std::string& dir);
    /// Loads one file (used by scan, and by tests). Throws PluginError.
    PluginInfo load(const std::string& file);

    std::vector<PluginInfo> plugins() const;
    bool has(const std::string& kind, const std::string& name) const;
    PluginInfo info(const std::string& kind, const std::string& name) const; ///< throws PluginError

    /// Creates an object of plugin kind/name and checks it is a T.
    /// Throws PluginError (unknown plugin, wrong type) or PluginConfigError.
    template <class T>
    std::shared_ptr<T> create(const std::string& kind, const std::string& name, const PluginContext& context)
    {
        auto object = createObject(kind, name, context);
        auto typed = std::dynamic_pointer_cast<T>(object);
        if (!typed)
            throw PluginError("plugin " + kind + "/" + name + " created an object of the wrong type for kind '" + kind +
                              "'; rebuild it against this server's kernel/include/mt headers");
        return typed;
    }

    /// True while `object` was made by the library now registered for its
    /// kind/name; false once a scan replaced or dropped that library (the
    /// object still runs the old code) and for an object not made here.
    /// Tells a caller that holds plugin objects which ones to make anew.
    template <class T>
    bool isCurrent(const std::shared_ptr<T>& object) const
    {
        const ObjectDeleter* deleter = std::get_deleter<ObjectDeleter>(object);
        return deleter && isRegistered(deleter->library.get());
    }

    /// The registry as it is now. A caller whose work after a scan() fails
    /// (a reload refused because a context cannot be deployed) puts it back
    /// with restore(), so that a refused reload changes nothing.
    class Snapshot
    {
        friend class PluginManager;
        std::shared_ptr<const void> _state;
    };
    Snapshot snapshot() const;
    /// Makes the registry what it was at `snapshot`: plugins loaded since are
    /// forgotten (their libraries unload once their objects are gone), those
    /// dropped or replaced since are back, and a file refused since is
    /// reported again by the next scan.
    void restore(const Snapshot& snapshot);

    /// Number of libraries still mapped because objects they made are alive
    /// (including ones no longer in the directory).
    std::size_t liveLibraries() const;
    /// Waits until every library that was dropped or replaced by scan() has
    /// been unloaded (all its objects destroyed), up to timeoutMs. True if so.
    bool waitUnloaded(int timeoutMs);

private:
    /// Every created object's deleter: the object dies first, inside its
    /// still-mapped library; only then may the library go.
    struct ObjectDeleter
    {
        std::shared_ptr<const void> library;
        void operator()(PluginObject* object);
    };
    bool isRegistered(const void* library) const;
    std::shared_ptr<PluginObject> createObject(const std::string& kind, const std::string& name,
                                               const PluginContext& context);
    struct Impl;
    std::unique_ptr<Impl> _impl;
};

} // namespace mt
