#include "mt/VersionVector.h"

#include <algorithm>

namespace mt {

void VersionVector::increment(const std::string& node)
{
    ++_entries[node];
}

std::uint64_t VersionVector::get(const std::string& node) const
{
    auto it = _entries.find(node);
    return it == _entries.end() ? 0 : it->second;
}

void VersionVector::set(const std::string& node, std::uint64_t counter)
{
    if (counter == 0)
        _entries.erase(node);
    else
        _entries[node] = counter;
}

void VersionVector::merge(const VersionVector& other)
{
    for (const auto& [node, counter] : other._entries)
    {
        auto& mine = _entries[node];
        mine = std::max(mine, counter);
    }
}

VersionVector::Order VersionVector::compare(const VersionVector& other) const
{
    bool someLess = false;
    bool someGreater = false;
    for (const auto& [node, counter] : _entries)
    {
        auto theirs = other.get(node);
        if (counter < theirs) someLess = true;
        if (counter > theirs) someGreater = true;
    }
    for (const auto& [node, counter] : other._entries)
        if (get(node) < counter) someLess = true;
    if (someLess && someGreater) return Order::Concurrent;
    if (someLess) return Order::Before;
    if (someGreater) return Order::After;
    return Order::Equal;
}

} // namespace mt
