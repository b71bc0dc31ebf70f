#!/usr/bin/env bash
# The README's test command: install dependencies, build with warnings as errors, run every
# CTest suite (unit, fuzz corpora, sim, model, integration against anvil, e2e daemons,
# bench smoke). Extra arguments go to ctest (e.g. -L unit, -R core).
#   scripts/test.sh              full suite in ./build
#   SANITIZE=1 scripts/test.sh   ASan/UBSan build in ./build-asan
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh

if [ "${SANITIZE:-0}" = 1 ]; then
  BUILD_DIR=${BUILD_DIR:-build-asan}
  EXTRA=(-DNR_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
else
  BUILD_DIR=${BUILD_DIR:-build}
  EXTRA=()
fi
export BUILD_DIR
./scripts/build.sh -DNR_WERROR=ON "${EXTRA[@]}"

cd "$BUILD_DIR"
# --no-tests=error: a run that executed no test fails.
ctest --output-on-failure --no-tests=error -j"${CTEST_JOBS:-2}" "$@"
