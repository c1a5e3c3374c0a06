#include "mt/ClusterNode.h"

namespace mt {

const char* toString(NodeStatus status)
{
    switch (status)
    {
    case NodeStatus::Unknown: return "UNKNOWN";
    case NodeStatus::Up: return "UP";
    case NodeStatus::Suspect: return "SUSPECT";
    case NodeStatus::Down: return "DOWN";
    case NodeStatus::Left: return "LEFT";
    }
    return "UNKNOWN";
}

} // namespace mt
