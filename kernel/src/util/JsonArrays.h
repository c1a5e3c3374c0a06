#pragma once
// Strings as a JSON array, for reports and status answers.

#include <Poco/JSON/Array.h>

#include <string>
#include <vector>

namespace mt {

inline Poco::JSON::Array::Ptr toJsonArray(const std::vector<std::string>& items)
{
    Poco::JSON::Array::Ptr array = new Poco::JSON::Array;
    for (const auto& item : items) array->add(item);
    return array;
}

} // namespace mt
