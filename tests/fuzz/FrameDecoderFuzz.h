#pragma once
// Shared between the libFuzzer target and its standalone driver.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace mt::fuzz {

/// Valid frames and near misses, signed with the fuzz target's secret.
std::vector<std::string> frameDecoderSeeds();

} // namespace mt::fuzz
