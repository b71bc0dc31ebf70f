#!/usr/bin/env bash
# Configure and build into ./build (extra cmake args pass through, e.g. -DNR_SANITIZE=ON).
#   BUILD_DIR (build), BUILD_TYPE (RelWithDebInfo), BUILD_TARGETS (all; e.g. "narrator_cli")
# Dependencies first: without everything scripts/deps.sh installs (Debian packages, the npm
# modules that build the registry contract and run the devnet) this fails and says so;
# NARRATOR_SKIP_DEPS_CHECK=1 builds anyway (parts are then skipped: see the configure notes).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ "${NARRATOR_SKIP_DEPS_CHECK:-0}" != 1 ] && ! ./scripts/deps.sh --check >&2; then
  echo "build: dependencies missing: run ./scripts/deps.sh first (root or sudo for apt-get)," >&2
  echo "       or NARRATOR_SKIP_DEPS_CHECK=1 to build without them" >&2
  exit 1
fi
mkdir -p "$BUILD_DIR"
if ! cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "$@" \
  >"$BUILD_DIR/configure.log" 2>&1; then
  cat "$BUILD_DIR/configure.log" >&2
  exit 1
fi
# What configure skipped (e.g. the contract without node_modules) is worth a line each.
grep -E 'skipped|missing|waiting for|Warning' "$BUILD_DIR/configure.log" | sed 's/^-- */build: /' >&2 || true
targets=()
for t in ${BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$BUILD_DIR" -j"$(nproc)" "${targets[@]}"
