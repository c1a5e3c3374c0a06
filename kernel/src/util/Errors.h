#pragma once
// Poco's exceptions keep their message in displayText(); what() is only the class name.

#include <Poco/Exception.h>

#include <exception>
#include <string>

namespace mt {

inline std::string describe(const std::exception& e)
{
    if (auto* poco = dynamic_cast<const Poco::Exception*>(&e)) return poco->displayText();
    return e.what();
}

} // namespace mt
