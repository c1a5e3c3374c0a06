#!/usr/bin/env bash
# Configures and builds into build/ (BUILD_DIR to change, BUILD_TYPE for the
# CMake build type, SANITIZE for a sanitizer build: address,undefined or thread).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" -DMT_SANITIZE="${SANITIZE:-}" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
