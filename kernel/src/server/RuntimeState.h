#pragma once
// What requests read on every call, published as one immutable snapshot so
// that reload can swap it atomically while requests keep running.

#include "server/ContextTable.h"

#include <memory>
#include <string>

namespace mt {

struct RuntimeState
{
    std::shared_ptr<const ContextTable> contexts;
    std::string adminToken;
    bool adminAllowRemote = false;
    std::string cookieName;
};

} // namespace mt
