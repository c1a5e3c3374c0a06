#pragma once
// The cluster's members and their availability. Hands out immutable
// snapshots (readers never lock each other out) and tells listeners about
// every change: status changes and topology changes (a node added or
// removed by editing cluster-config.xml and reloading).
//
// Thread-safety: every method may be called from any thread. Listeners are
// called after the change is visible in snapshot(), outside the registry's
// lock, in the order the changes happened; they must not block and must not
// call setStatus or setTopology (that would deadlock).

#include "mt/ClusterNode.h"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mt {

class ClusterRegistry
{
public:
    using Snapshot = std::shared_ptr<const std::vector<ClusterNode>>;
    struct Change
    {
        enum class Kind { Status, Added, Removed, Updated } kind;
        ClusterNode before; ///< empty name for Added
        ClusterNode after;  ///< empty name for Removed
    };
    using Listener = std::function<void(const Change&)>;

    explicit ClusterRegistry(std::vector<ClusterNode> nodes);

    Snapshot snapshot() const;
    /// A copy of one node; false if unknown.
    bool find(const std::string& name, ClusterNode& out) const;
    /// Records a new status (and incarnation / last-heard). Returns the
    /// status it had; unknown nodes are ignored (returns Unknown).
    NodeStatus setStatus(const std::string& name, NodeStatus status, std::uint64_t incarnation, TimeMs lastHeard);
    /// Updates last-heard and incarnation without a status change.
    void heard(const std::string& name, std::uint64_t incarnation, TimeMs when);
    /// Replaces the topology: nodes not in `nodes` are removed, new ones
    /// added (status Unknown), changed addresses/roles/weights updated
    /// (status kept). Returns the changes.
    std::vector<Change> setTopology(const std::vector<ClusterNode>& nodes);
    /// Returns an id for removeListener.
    int addListener(Listener listener);
    void removeListener(int id);

private:
    void notify(const std::vector<Change>& changes);

    mutable std::mutex _mutex;
    Snapshot _nodes;
    std::vector<std::pair<int, std::shared_ptr<Listener>>> _listeners;
    int _nextListenerId = 1;
    std::mutex _notifyMutex; ///< keeps listener calls in change order
};

} // namespace mt
