#pragma once
// Decides, from heartbeat arrival times alone, whether a peer is alive.
// Pure logic: no threads, no clock (the caller passes the time), no I/O, so
// tests run it on simulated time.
// Thread-safety: none; the caller serializes (the heartbeat service does).

#include "mt/SessionData.h"

#include <string>

namespace mt {

class FailureDetector
{
public:
    enum class Verdict { Unknown, Alive, Suspect, Down };

    virtual ~FailureDetector() = default;
    /// A heartbeat (or any message) from `node` arrived at `now`.
    virtual void heartbeat(const std::string& node, TimeMs now) = 0;
    virtual Verdict verdict(const std::string& node, TimeMs now) const = 0;
    /// Suspicion level (phi-accrual's phi, or an equivalent); for logs and monitoring.
    virtual double suspicion(const std::string& node, TimeMs now) const = 0;
    /// Forgets the history of `node` (after it restarted with a new incarnation, or was removed).
    virtual void reset(const std::string& node) = 0;
};

} // namespace mt
