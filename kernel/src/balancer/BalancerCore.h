#pragma once
// The balancer's decisions, without I/O: which app nodes may get requests
// (membership UP, not ejected by passive health checks), their effective
// weights (slow start), sticky sessions, and the strategy plugin that
// chooses among the rest. The proxy (BalancerDispatcher) feeds it membership
// snapshots, attempt outcomes and the time; it answers with node names and
// with the nodes whose pooled connections must be closed. Times are the
// monotonic clock's (steadyNowMs): ejections and ramps are intervals, which a
// step of the wall clock must neither end nor prolong.
//
// Thread-safety: select() is lock-free apart from the strategy's own lock
// (it reads an atomically published snapshot); everything else is
// serialised by one mutex.

#include "balancer/OutlierDetector.h"
#include "mt/ClusterNode.h"
#include "mt/LoadBalancer.h"

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace mt::balancer {

class BalancerCore
{
public:
    struct Settings
    {
        OutlierDetector::Settings outlier;
        int slowStartMs = 10000;
    };
    using Candidates = std::shared_ptr<const std::vector<LbNode>>;

    BalancerCore() : BalancerCore(Settings()) {}
    explicit BalancerCore(Settings settings);

    void setSettings(const Settings& settings, TimeMs now);
    /// Installs a strategy (at start, or when reload switches it) and hands it
    /// the current candidates. Requests in flight keep the one they started with.
    void setStrategy(std::shared_ptr<LoadBalancer> strategy);
    std::shared_ptr<LoadBalancer> strategy() const { return std::atomic_load(&_strategy); }

    /// Membership: the app nodes with their status (others are ignored).
    /// Returns the nodes that stopped being selectable (close their connections).
    std::vector<std::string> setMembers(const std::vector<ClusterNode>& nodes, TimeMs now);
    /// An attempt on `node` succeeded / failed. onFailure returns true if it
    /// ejected the node (close its connections).
    void onSuccess(const std::string& node);
    bool onFailure(const std::string& node, TimeMs now);
    /// Ends ejections that are over and moves slow-start weights on. Call it
    /// every ~100 ms; cheap when nothing changes.
    void tick(TimeMs now);

    /// The node for this request: its session's route node if selectable and
    /// not excluded (sticky, whatever the strategy), else the strategy's
    /// choice; "" if none.
    std::string select(const LbRequest& request) const { return select(request, strategy().get()); }
    /// The same with the strategy the request holds (a reload may have switched it meanwhile).
    std::string select(const LbRequest& request, LoadBalancer* strategy) const;
    /// Nodes a request may go to now, with their effective weights.
    Candidates candidates() const { return std::atomic_load(&_candidates); }
    bool selectable(const std::string& node) const;
    bool ejected(const std::string& node) const;
    int ejections(const std::string& node) const;
    /// Effective weight now (0 if not selectable).
    int weight(const std::string& node) const;

private:
    struct Member
    {
        ClusterNode node;
        TimeMs since = 0;   ///< came back at (slow start); 0 = full weight
        bool selectable = false;
    };
    /// Recomputes the candidates and hands them to the strategy; returns the
    /// names that were selectable and no longer are. Caller holds _mutex.
    std::vector<std::string> publish(TimeMs now);

    mutable std::mutex _mutex;
    Settings _settings;
    OutlierDetector _outlier;
    std::map<std::string, Member> _members;
    std::set<std::string> _seenSelectable; ///< a node's first UP is not a "return": no slow start
    bool _ramping = false;
    std::shared_ptr<LoadBalancer> _strategy;
    Candidates _candidates = std::make_shared<const std::vector<LbNode>>();
};

} // namespace mt::balancer
