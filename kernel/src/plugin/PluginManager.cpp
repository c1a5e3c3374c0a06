#include "plugin/PluginManager.h"

#include "plugin/LibraryTracker.h"
#include "plugin/PluginFile.h"

#include <boost/dll/shared_library.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <unistd.h>

namespace fs = std::filesystem;

namespace mt {

namespace {

const char* const kAllowedKinds[] = {"app", "store", "lb", "replication", "monitor"};
const char* const kFixBuild = "rebuild it with mt_add_plugin() (cmake/MtPlugin.cmake) and declare it with MT_PLUGIN(...) "
                              "from mt/Plugin.h";

bool allowedKind(const std::string& kind)
{
    return std::any_of(std::begin(kAllowedKinds), std::end(kAllowedKinds), [&](const char* k) { return kind == k; });
}

std::string allowedKinds()
{
    std::string list;
    for (const char* k : kAllowedKinds)
        list += (list.empty() ? "" : ", ") + std::string(k);
    return list;
}

std::vector<std::string> splitKeys(const char* keys)
{
    std::vector<std::string> out;
    if (!keys)
        return out;
    std::string all(keys);
    std::size_t start = 0;
    while (start <= all.size())
    {
        std::size_t comma = all.find(',', start);
        if (comma == std::string::npos)
            comma = all.size();
        std::string key = all.substr(start, comma - start);
        key.erase(0, key.find_first_not_of(" \t"));
        key.erase(key.find_last_not_of(" \t") + 1);
        if (!key.empty())
            out.push_back(key);
        start = comma + 1;
    }
    return out;
}

/// Boost.DLL's message is "boost::dll::shared_library::load() failed (dlerror
/// system message: ...)"; the dlerror part is what the user can act on.
std::string dlerrorText(const std::string& what, const std::string& loadPath, const std::string& file)
{
    std::string text = what;
    const std::string marker = "dlerror system message: ";
    std::size_t at = text.find(marker);
    if (at != std::string::npos)
    {
        // ...and system_error appends ": <errno text>" after the closing ')'.
        text = text.substr(at + marker.size());
        std::size_t close = text.rfind(')');
        if (close != std::string::npos)
            text.erase(close);
    }
    // The user knows the file by its name, not by our private copy's.
    for (std::size_t pos = 0; !loadPath.empty() && (pos = text.find(loadPath, pos)) != std::string::npos;)
    {
        text.replace(pos, loadPath.size(), file);
        pos += file.size();
    }
    return text;
}

std::string keyOf(const std::string& kind, const std::string& name)
{
    return kind + "/" + name;
}

} // namespace

struct PluginManager::Impl
{
    struct Plugin
    {
        PluginInfo info;
        plugin::LibraryTracker::LibraryPtr library;
        MtPluginCreateFn* create = nullptr;
    };
    struct TrackedFile
    {
        plugin::FileSignature signature;
        std::string key;
    };
    /// A snapshot's copy of the maps below.
    struct State
    {
        std::map<std::string, Plugin> plugins;
        std::map<std::string, TrackedFile> files;
        std::map<std::string, plugin::FileSignature> failed;
    };

    explicit Impl(Poco::Logger& log) : logger(log), tracker(std::make_shared<plugin::LibraryTracker>()) {}

    Plugin open(const std::string& file) const;
    /// Returns true if it replaced an older version of the same file.
    bool install(const std::string& file, const plugin::FileSignature& signature, Plugin plugin);
    void forget(const std::string& file);

    Poco::Logger& logger;
    std::shared_ptr<plugin::LibraryTracker> tracker;
    std::mutex loadMutex; ///< one load/scan at a time
    mutable std::mutex mutex; ///< guards the maps below
    std::map<std::string, Plugin> plugins;     ///< "kind/name"
    std::map<std::string, TrackedFile> files;  ///< absolute file
    std::map<std::string, plugin::FileSignature> failed; ///< reported once until the file changes
};

PluginManager::Impl::Plugin PluginManager::Impl::open(const std::string& file) const
{
    plugin::FileSignature signature;
    if (!plugin::readSignature(file, signature))
        throw PluginError("plugin file " + file +
                          " does not exist or is not a regular file; check the path and the plugin directory setting");

    // dlopen() hands back the already-mapped library when asked for a path
    // (or an inode) it has loaded before, so loading a changed file at the
    // same path while the old version is still mapped (objects alive) would
    // silently give the old code. Loading a private copy under a unique name
    // gives every version its own mapping; the copy is unlinked at once (the
    // mapping keeps it), so nothing is left behind even after a crash. It
    // also protects the running server from a `cp` over the original, which
    // rewrites the file in place and would corrupt a mapped library.
    std::string loadPath = plugin::makeLoadCopy(file);
    bool copied = !loadPath.empty();
    if (!copied)
        loadPath = file;

    std::unique_ptr<boost::dll::shared_library> raw;
    try
    {
        raw = std::make_unique<boost::dll::shared_library>(
            boost::dll::fs::path(loadPath), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    }
    catch (const std::exception& e)
    {
        if (copied)
            ::unlink(loadPath.c_str());
        throw PluginError("plugin file " + file + " is not a loadable shared object: " +
                          dlerrorText(e.what(), loadPath, file) + "; " + kFixBuild + ", or remove the file");
    }
    if (copied)
        ::unlink(loadPath.c_str());

    Plugin plugin;
    plugin.library = tracker->adopt(raw.release(), file);
    boost::dll::shared_library& lib = *plugin.library;

    if (!lib.has("mt_plugin_descriptor"))
        throw PluginError("plugin file " + file + " does not export the symbol mt_plugin_descriptor; " + kFixBuild);
    const auto& descriptor = lib.get<const PluginDescriptor>("mt_plugin_descriptor");
    // apiVersion first: the rest of the layout is only known for our version.
    if (descriptor.apiVersion != kPluginApiVersion)
        throw PluginError("plugin file " + file + " was built against API " + std::to_string(descriptor.apiVersion) +
                          ", this server speaks " + std::to_string(kPluginApiVersion) +
                          ": rebuild the plugin against this server's headers");
    if (!descriptor.kind || !descriptor.name || !*descriptor.name)
        throw PluginError("plugin file " + file + " has a descriptor without kind or name; " + kFixBuild);
    std::string kind = descriptor.kind;
    if (!allowedKind(kind))
        throw PluginError("plugin file " + file + " declares the unknown kind '" + kind + "'; allowed kinds are " +
                          allowedKinds() + ": fix the first argument of MT_PLUGIN and rebuild");
    if (!lib.has("mt_plugin_create"))
        throw PluginError("plugin file " + file + " does not export the symbol mt_plugin_create; " + kFixBuild);
    plugin.create = &lib.get<MtPluginCreateFn>("mt_plugin_create");

    plugin.info.kind = kind;
    plugin.info.name = descriptor.name;
    plugin.info.version = descriptor.version ? descriptor.version : "";
    plugin.info.description = descriptor.description ? descriptor.description : "";
    plugin.info.file = file;
    plugin.info.configKeys = splitKeys(descriptor.configKeys);
    return plugin;
}

bool PluginManager::Impl::install(const std::string& file, const plugin::FileSignature& signature, Plugin plugin)
{
    std::string key = keyOf(plugin.info.kind, plugin.info.name);
    // Unmapping happens outside the lock: a plugin's destructors may log.
    std::vector<plugin::LibraryTracker::LibraryPtr> released;
    bool replaced = false;
    {
        std::lock_guard<std::mutex> lock(mutex);
        auto same = plugins.find(key);
        if (same != plugins.end() && same->second.info.file != file)
            throw PluginError("plugin file " + file + " declares " + key + ", which is already loaded from " +
                              same->second.info.file + "; remove one of the two files");
        auto tracked = files.find(file);
        if (tracked != files.end())
        {
            replaced = true;
            auto old = plugins.find(tracked->second.key);
            if (old != plugins.end())
            {
                tracker->drop(old->second.library);
                released.push_back(std::move(old->second.library));
                plugins.erase(old);
            }
        }
        files[file] = TrackedFile{signature, key};
        failed.erase(file);
        plugins[key] = std::move(plugin);
    }
    return replaced;
}

void PluginManager::Impl::forget(const std::string& file)
{
    plugin::LibraryTracker::LibraryPtr released;
    {
        std::lock_guard<std::mutex> lock(mutex);
        auto tracked = files.find(file);
        if (tracked == files.end())
            return;
        auto old = plugins.find(tracked->second.key);
        if (old != plugins.end())
        {
            tracker->drop(old->second.library);
            released = std::move(old->second.library);
            plugins.erase(old);
        }
        files.erase(tracked);
    }
}

PluginManager::PluginManager(Poco::Logger& logger) : _impl(std::make_unique<Impl>(logger))
{
}

PluginManager::~PluginManager()
{
    // Objects still alive keep their libraries; the tracker outlives us through them.
    std::lock_guard<std::mutex> lock(_impl->mutex);
    for (auto& [key, plugin] : _impl->plugins)
        _impl->tracker->drop(plugin.library);
}

PluginInfo PluginManager::load(const std::string& file)
{
    std::lock_guard<std::mutex> serial(_impl->loadMutex);
    std::string path = plugin::normalizePluginPath(file);
    plugin::FileSignature signature;
    if (plugin::readSignature(path, signature))
    {
        std::lock_guard<std::mutex> lock(_impl->mutex);
        auto tracked = _impl->files.find(path);
        if (tracked != _impl->files.end() && tracked->second.signature == signature)
            return _impl->plugins.at(tracked->second.key).info;
    }
    Impl::Plugin plugin = _impl->open(path);
    PluginInfo info = plugin.info;
    bool replaced = _impl->install(path, signature, std::move(plugin));
    _impl->logger.information("plugin %s/%s %s %s from %s", info.kind, info.name, info.version,
                              std::string(replaced ? "reloaded" : "loaded"), path);
    return info;
}

ScanReport PluginManager::scan(const std::string& dir)
{
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw PluginError("plugin directory " + dir +
                          " does not exist or is not a directory; create it or fix the plugin directory setting");
    fs::path root = fs::canonical(dir, ec);
    if (ec)
        throw PluginError("plugin directory " + dir + " cannot be resolved (" + ec.message() + ")");

    std::vector<std::string> present;
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
    {
        std::error_code typeError;
        if (it->path().extension() == ".so" && it->is_regular_file(typeError))
            present.push_back(it->path().string());
    }
    if (ec)
        throw PluginError("plugin directory " + dir + " cannot be listed (" + ec.message() + ")");
    std::sort(present.begin(), present.end());

    ScanReport report;
    std::lock_guard<std::mutex> serial(_impl->loadMutex);

    // Removals first, so a plugin that moved to another file (or the plugin
    // directory to another place) is not reported as a duplicate of its old self.
    std::vector<std::pair<std::string, std::string>> gone;
    {
        std::lock_guard<std::mutex> lock(_impl->mutex);
        for (const auto& [file, tracked] : _impl->files)
            if (!std::binary_search(present.begin(), present.end(), file))
                gone.emplace_back(file, tracked.key);
        for (auto it = _impl->failed.begin(); it != _impl->failed.end();)
        {
            if (!std::binary_search(present.begin(), present.end(), it->first))
                it = _impl->failed.erase(it);
            else
                ++it;
        }
    }
    for (const auto& [file, key] : gone)
    {
        _impl->forget(file);
        report.removed.push_back(key + " (" + file + ")");
        _impl->logger.information("plugin %s removed: %s is gone", key, file);
    }

    for (const std::string& file : present)
    {
        plugin::FileSignature signature;
        if (!plugin::readSignature(file, signature))
            continue;
        {
            std::lock_guard<std::mutex> lock(_impl->mutex);
            auto tracked = _impl->files.find(file);
            if (tracked != _impl->files.end() && tracked->second.signature == signature)
                continue;
            auto failed = _impl->failed.find(file);
            if (failed != _impl->failed.end() && failed->second == signature)
                continue;
        }
        try
        {
            Impl::Plugin plugin = _impl->open(file);
            std::string line = keyOf(plugin.info.kind, plugin.info.name) + " " + plugin.info.version + " (" + file + ")";
            if (_impl->install(file, signature, std::move(plugin)))
            {
                report.reloaded.push_back(line);
                _impl->logger.information("plugin reloaded: %s", line);
            }
            else
            {
                report.loaded.push_back(line);
                _impl->logger.information("plugin loaded: %s", line);
            }
        }
        catch (const PluginError& e)
        {
            report.errors.push_back(e.what());
            _impl->logger.error(e.what());
            std::lock_guard<std::mutex> lock(_impl->mutex);
            _impl->failed[file] = signature;
        }
    }
    return report;
}

std::vector<PluginInfo> PluginManager::plugins() const
{
    std::lock_guard<std::mutex> lock(_impl->mutex);
    std::vector<PluginInfo> out;
    for (const auto& [key, plugin] : _impl->plugins)
        out.push_back(plugin.info);
    return out;
}

bool PluginManager::has(const std::string& kind, const std::string& name) const
{
    std::lock_guard<std::mutex> lock(_impl->mutex);
    return _impl->plugins.count(keyOf(kind, name)) > 0;
}

PluginInfo PluginManager::info(const std::string& kind, const std::string& name) const
{
    std::lock_guard<std::mutex> lock(_impl->mutex);
    auto it = _impl->plugins.find(keyOf(kind, name));
    if (it == _impl->plugins.end())
    {
        std::string available;
        for (const auto& [key, plugin] : _impl->plugins)
            if (plugin.info.kind == kind)
                available += (available.empty() ? "" : ", ") + plugin.info.name;
        throw PluginError("no plugin " + keyOf(kind, name) + " is loaded (loaded " + kind + " plugins: " +
                          (available.empty() ? "none" : available) + "); put " + kind + "-" + name +
                          ".so in the plugin directory or fix the name");
    }
    return it->second.info;
}

std::shared_ptr<PluginObject> PluginManager::createObject(const std::string& kind, const std::string& name,
                                                          const PluginContext& context)
{
    plugin::LibraryTracker::LibraryPtr library;
    MtPluginCreateFn* create = nullptr;
    std::string file;
    {
        std::lock_guard<std::mutex> lock(_impl->mutex);
        auto it = _impl->plugins.find(keyOf(kind, name));
        if (it != _impl->plugins.end())
        {
            library = it->second.library;
            create = it->second.create;
            file = it->second.info.file;
        }
    }
    if (!library)
        info(kind, name); // throws the "not loaded" message

    std::string who = "plugin " + keyOf(kind, name) + " (" + file + ")";
    PluginObject* raw = nullptr;
    try
    {
        raw = create(context);
    }
    catch (const PluginConfigError& e)
    {
        throw PluginConfigError(who + ": " + e.what());
    }
    catch (const std::exception& e)
    {
        throw PluginError(who + " failed to create its object: " + e.what() +
                          "; check its settings, or fix and rebuild the plugin");
    }
    catch (...)
    {
        throw PluginError(who + " failed to create its object (unknown exception); fix and rebuild the plugin");
    }
    if (!raw)
        throw PluginError(who + " returned no object from mt_plugin_create; fix and rebuild the plugin");

    return std::shared_ptr<PluginObject>(raw, ObjectDeleter{std::move(library)});
}

void PluginManager::ObjectDeleter::operator()(PluginObject* object)
{
    delete object;
    library.reset();
}

bool PluginManager::isRegistered(const void* library) const
{
    std::lock_guard<std::mutex> lock(_impl->mutex);
    return std::any_of(_impl->plugins.begin(), _impl->plugins.end(),
                       [&](const auto& entry) { return entry.second.library.get() == library; });
}

PluginManager::Snapshot PluginManager::snapshot() const
{
    std::lock_guard<std::mutex> lock(_impl->mutex);
    Snapshot snapshot;
    snapshot._state = std::make_shared<const Impl::State>(Impl::State{_impl->plugins, _impl->files, _impl->failed});
    return snapshot;
}

void PluginManager::restore(const Snapshot& snapshot)
{
    auto state = std::static_pointer_cast<const Impl::State>(snapshot._state);
    if (!state)
        return;
    std::lock_guard<std::mutex> serial(_impl->loadMutex);
    // Unmapping happens outside the lock: a plugin's destructors may log.
    std::vector<plugin::LibraryTracker::LibraryPtr> released;
    {
        std::lock_guard<std::mutex> lock(_impl->mutex);
        for (auto& [key, plugin] : _impl->plugins)
        {
            bool kept = std::any_of(state->plugins.begin(), state->plugins.end(),
                                    [&](const auto& entry) { return entry.second.library == plugin.library; });
            if (kept)
                continue;
            _impl->tracker->drop(plugin.library);
            released.push_back(std::move(plugin.library));
        }
        for (const auto& [key, plugin] : state->plugins)
            _impl->tracker->keep(plugin.library);
        _impl->plugins = state->plugins;
        _impl->files = state->files;
        _impl->failed = state->failed;
    }
    _impl->logger.information("plugins restored as they were before the last scan");
}

std::size_t PluginManager::liveLibraries() const
{
    return _impl->tracker->mapped();
}

bool PluginManager::waitUnloaded(int timeoutMs)
{
    if (_impl->tracker->waitDropped(timeoutMs))
        return true;
    _impl->logger.warning("plugin libraries still in use after %d ms: %s", timeoutMs, _impl->tracker->droppedFiles());
    return false;
}

} // namespace mt
