#!/usr/bin/env bash
# fresh clone: the README's "Using it" order must work or fail loudly. On a copy of the
# source tree without node_modules, scripts/build.sh must refuse and name scripts/deps.sh
# (it used to build without the contract, silently, so that `narrator up` failed later);
# a build configured before node_modules existed must re-configure and build the contract
# once node_modules appears; `narrator up` without the contract must say to rebuild (it used
# to print "devnet: starting anvil failed").
set -euo pipefail
: "${NR_SOURCE_DIR:?}" "${NARRATOR:?}"
W=$(mktemp -d /tmp/nr-fresh.XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL [fresh_clone]: $*" >&2; exit 1; }

# The tracked files only, as a clone has them.
git -C "$NR_SOURCE_DIR" ls-files -z | (cd "$NR_SOURCE_DIR" && xargs -0 cp --parents -t "$W" 2>/dev/null) ||
    fail "copying the tree"
mkdir -p "$W/src" && cd "$W"
[ ! -e node_modules ] || fail "copy has node_modules"

rc=0
out=$(BUILD_DIR=b ./scripts/build.sh 2>&1) || rc=$?
[ $rc -ne 0 ] || fail "build.sh without node_modules succeeded"
grep -q "run ./scripts/deps.sh" <<<"$out" || fail "build.sh does not name scripts/deps.sh: $out"
[ ! -d b/src ] || fail "build.sh configured although dependencies are missing"

# Configured without node_modules (dependency check skipped): the skip is said.
out=$(NARRATOR_SKIP_DEPS_CHECK=1 BUILD_DIR=b BUILD_TARGETS=nr_common ./scripts/build.sh 2>&1) ||
    fail "build.sh with NARRATOR_SKIP_DEPS_CHECK=1: $out"
grep -q "NarratorRegistry: .*skipped" <<<"$out" || fail "the contract skip is not shown: $out"

# `narrator up` against that build: no contract, so it must say so before starting anything.
if [ -d "$NR_SOURCE_DIR/node_modules/@foundry-rs" ]; then
    rc=0
    out=$(NARRATOR_BUILD_DIR="$W/b" "$NARRATOR" up -n 3 --dir "$W/net" --base-port 29100 2>&1) || rc=$?
    [ $rc -ne 0 ] || fail "up without a contract succeeded"
    grep -q "registry contract was not built" <<<"$out" || fail "up without a contract: $out"
    grep -q "scripts/build.sh" <<<"$out" || fail "up does not say to rebuild: $out"
    [ ! -e "$W/net/devnet/anvil.pid" ] || fail "a devnet was started without a contract"

    # npm ci happens (the modules of the source tree stand in for it): the next build
    # re-configures by itself and builds the contract.
    ln -s "$NR_SOURCE_DIR/node_modules" node_modules
    touch -r "$NR_SOURCE_DIR/package-lock.json" package-lock.json
    cmake --build b --target nr_common >/dev/null 2>&1 || fail "cmake --build after npm ci"
    cmake --build b --target nr_contract >/dev/null 2>&1 ||
        fail "cmake --build did not re-configure for node_modules (no nr_contract target)"
    [ -s b/contracts/NarratorRegistry.bin ] || fail "contract not built after node_modules appeared"
    ./scripts/deps.sh --check >/dev/null || fail "deps.sh --check fails with everything present"
else
    echo "fresh_clone: no node_modules in $NR_SOURCE_DIR: the contract part is not checked"
fi
echo "[fresh_clone] PASS"
