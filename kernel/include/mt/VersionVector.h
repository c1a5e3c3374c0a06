#pragma once
// A version vector: node name -> number of writes that node made to one session.
// Value type; not thread-safe (copy it between threads).

#include "mt/Api.h"

#include <cstdint>
#include <map>
#include <string>

namespace mt {

class MT_API VersionVector
{
public:
    enum class Order { Equal, Before, After, Concurrent };

    /// Counts one more write by `node`.
    void increment(const std::string& node);
    std::uint64_t get(const std::string& node) const;
    void set(const std::string& node, std::uint64_t counter);
    /// Pointwise maximum: the vector of a state that has seen both.
    void merge(const VersionVector& other);
    /// Before: every counter <= other's and one is smaller (this happened before other).
    Order compare(const VersionVector& other) const;
    const std::map<std::string, std::uint64_t>& entries() const { return _entries; }
    bool operator==(const VersionVector& other) const { return _entries == other._entries; }
    bool operator!=(const VersionVector& other) const { return !(*this == other); }

private:
    std::map<std::string, std::uint64_t> _entries; // absent means 0; zero counters are never stored
};

} // namespace mt
