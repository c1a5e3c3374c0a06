#!/usr/bin/env bash
# Command 2 of the README (and .ci/run): install what is missing, build, run every test.
# SANITIZE=address,undefined (or thread) with a BUILD_DIR of its own runs them
# all under sanitizers; see "Tests" in the README.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
root=$PWD
cd "${BUILD_DIR:-build}"
if [[ -z ${SANITIZE:-} ]]; then
  exec ctest --output-on-failure --timeout 300 -j2 "$@"
fi
# Every process writes its reports to a file here, the nodes the integration
# tests start included: a node that dies of a report only shows up in a test as
# a connection that got no answer, and its log is gone with the test's temp dir.
reports=$PWD/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"
export ASAN_OPTIONS="log_path=$reports/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export TSAN_OPTIONS="log_path=$reports/tsan:suppressions=$root/tests/sanitizer/tsan.supp${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
status=0
ctest --output-on-failure --timeout 600 -j2 "$@" || status=$?
if compgen -G "$reports/*" >/dev/null; then
  for report in "$reports"/*; do
    echo "==== sanitizer report $report"
    cat "$report"
  done
  echo "test.sh: sanitizer reports in $reports" >&2
  status=1
fi
exit $status
