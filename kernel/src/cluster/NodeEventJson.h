#pragma once
// One way to write times and node events, for /cluster/events, its SSE
// stream and /cluster/status alike.

#include "cluster/NodeStatusManager.h"

#include <Poco/JSON/Object.h>

#include <string>

namespace mt {

/// "2026-11-29T14:58:57.737Z" (UTC, milliseconds); "" for 0 (never).
std::string isoTime(TimeMs ms);
/// {"sequence","time","node","from","to","incarnation","reason"}
Poco::JSON::Object::Ptr toJson(const NodeEvent& event);

} // namespace mt
