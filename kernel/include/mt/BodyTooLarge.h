#pragma once
#include "mt/Api.h"

#include <stdexcept>

namespace mt {

/// Thrown while reading a request body past the configured limit; the kernel answers 413.
class MT_API BodyTooLarge : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

} // namespace mt
