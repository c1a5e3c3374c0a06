#include "mt/SessionData.h"

namespace mt {

void SessionDelta::applyTo(SessionData& data) const
{
    if (lastAccessedTime > data.lastAccessedTime) data.lastAccessedTime = lastAccessedTime;
    bool changed = false;
    if (maxInactiveInterval && *maxInactiveInterval != data.maxInactiveInterval)
    {
        data.maxInactiveInterval = *maxInactiveInterval;
        changed = true;
    }
    for (const auto& name : removedAttributes)
        changed = data.attributes.erase(name) > 0 || changed;
    for (const auto& [name, json] : setAttributes)
    {
        auto [it, inserted] = data.attributes.try_emplace(name, json);
        if (!inserted && it->second != json)
        {
            it->second = json;
            changed = true;
        }
        changed = changed || inserted;
    }
    if (changed)
    {
        ++data.version;
        data.versionVector.increment(node);
    }
}

} // namespace mt
