#pragma once
// A node-to-node message: what a frame carries once decoded and authenticated.

#include <cstdint>
#include <string>

namespace mt {

enum class MessageType : std::uint8_t
{
    Heartbeat = 1, ///< "I am alive"; payload empty
    Join = 2,      ///< "I (re)started": sent at start with a new incarnation
    Leave = 3,     ///< "I am leaving gracefully"
    // 16..63 gossip, 64..127 raft (later issues)
};

struct ClusterMessage
{
    MessageType type = MessageType::Heartbeat;
    std::string cluster;          ///< cluster name (a frame for another cluster is refused)
    std::string sender;           ///< node name
    std::uint64_t incarnation = 0;///< sender's incarnation
    /// Sender's clock, which its transport makes strictly increasing in the
    /// order frames are queued: a frame no newer than the last one taken
    /// from its sender (same incarnation) is a replay, and is dropped. Never
    /// used as a time for detection.
    std::uint64_t sentAtMs = 0;
    std::string payload;          ///< type-specific bytes
};

} // namespace mt
