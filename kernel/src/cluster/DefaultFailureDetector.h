#pragma once
// Phi-accrual failure detector (Hayashibara et al. 2004, as in Akka and
// Cassandra) with hard silence bounds from the configuration.
//
// phi = -log10(P(a heartbeat arrives later than the silence observed so far)),
// with the inter-arrival times modelled as a normal distribution fitted to a
// sliding window. phi adapts to the sender's rhythm; the silence bounds keep
// the behaviour predictable whatever the history:
//
//   Unknown  no heartbeat yet (or after reset)
//   Down     silence > downTimeoutMs            (the detection bound)
//   Suspect  silence > suspectTimeoutMs or phi > phiThreshold
//   Alive    otherwise; in particular at the first heartbeat after Down
//
// Phi can only ever suspect: DOWN is decided by the silence bound alone, so
// a stopped node is DOWN within downTimeoutMs plus one evaluation interval,
// and no distribution estimate can declare a live node dead.
//
// Pure logic: no threads, no clock, no I/O. Beyond the interface's contract
// it takes a private lock, so a stray call from another thread (a reload
// resetting a removed node) cannot corrupt it; the lock is never contended
// when the caller serializes, as NodeStatusManager does.

#include "cluster/ClusterConfig.h"
#include "cluster/FailureDetector.h"

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mt {

class DefaultFailureDetector : public FailureDetector
{
public:
    struct Params
    {
        int heartbeatIntervalMs = 200;
        int suspectTimeoutMs = 600;
        int downTimeoutMs = 1000;
        double phiThreshold = 8.0;
        /// Inter-arrival samples kept per node.
        std::size_t windowSize = 100;
        /// Floor of the standard deviation: perfectly regular heartbeats would
        /// otherwise give a near-zero deviation, and phi would jump past any
        /// threshold on the first millisecond of delay.
        double minStdDeviationMs = 50.0;
        /// Added to the mean: the lateness we accept before phi starts to
        /// climb (a scheduling hiccup, a short GC-like pause on the sender).
        double acceptablePauseMs = 100.0;

        /// The defaults derived from the cluster configuration: min deviation
        /// = interval / 4, acceptable pause = interval / 2 (see the .cpp for why).
        static Params fromConfig(const ClusterConfig& config);
    };

    explicit DefaultFailureDetector(const ClusterConfig& config);
    explicit DefaultFailureDetector(const Params& params);

    void heartbeat(const std::string& node, TimeMs now) override;
    Verdict verdict(const std::string& node, TimeMs now) const override;
    double suspicion(const std::string& node, TimeMs now) const override;
    void reset(const std::string& node) override;

    const Params& params() const { return _params; }

    /// phi for a silence of `elapsedMs` given a normal inter-arrival
    /// distribution (mean, deviation). Finite and monotonic for every input,
    /// so logs and comparisons never meet inf or NaN.
    static double phi(double elapsedMs, double meanMs, double stdDeviationMs);

private:
    struct History
    {
        TimeMs last = 0;
        std::deque<double> intervals; ///< the last windowSize inter-arrival times, ms
    };

    double phiOf(const History& history, TimeMs now) const;

    Params _params;
    mutable std::mutex _mutex;
    std::unordered_map<std::string, History> _nodes;
};

} // namespace mt
