#!/usr/bin/env bash
# Narrator demo, from a fresh clone: install dependencies, build, start a local network of
# three state enclaves, run the PIN-limiter example and the rollback attack it defeats, stop.
#   ./scripts/demo.sh            (DEMO_BASE_PORT=7300 and BUILD_DIR=build by default)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
export BUILD_DIR
NET="$ROOT/.narrator/demo"
PORT=${DEMO_BASE_PORT:-7300}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
host() { printf '\033[33m[host]\033[0m %s\n' "$*"; }
ae() { printf '\033[36m[pin]\033[0m $ pin %s\n' "$*"; }

step "1/6 dependencies (scripts/deps.sh)"
./scripts/deps.sh

step "2/6 build (scripts/build.sh; output in .narrator/build.log)"
mkdir -p .narrator
if ! ./scripts/build.sh >.narrator/build.log 2>&1; then
    tail -n 40 .narrator/build.log >&2
    echo "demo: build failed (full log: .narrator/build.log)" >&2
    exit 1
fi
NARRATOR="$ROOT/$BUILD_DIR/src/cli/narrator"
PIN="$ROOT/$BUILD_DIR/examples/pin"
for b in "$NARRATOR" "$PIN" "$ROOT/$BUILD_DIR/src/host/narratord"; do
    [ -x "$b" ] || { echo "demo: $b was not built" >&2; exit 1; }
done

stop_network() { "$NARRATOR" down --dir "$NET" >/dev/null 2>&1 || true; }
trap stop_network EXIT

step "3/6 a local network: 3 state enclaves (narratord) on loopback, sim TEE, initialised on a private anvil chain"
stop_network
rm -rf "$NET"
"$NARRATOR" up -n 3 --dir "$NET" --base-port "$PORT"
"$NARRATOR" status --dir "$NET"

step "4/6 the PIN limiter: 3 wrong guesses lock it; every guess is committed before it is answered"
# shellcheck disable=SC1091
. "$NET/node0/client.env"
export PIN_STATE="$NET/pin-state"
pin() { ae "$*"; set +e; "$PIN" "$@"; local rc=$?; set -e; return $rc; }
pin init 2468
pin guess 1111 || true
pin guess 2222 || true
pin status

step "5/6 the rollback attack"
host "copies the sealed state after 2 wrong guesses"
mkdir -p "$NET/stolen" && cp "$PIN_STATE".0 "$PIN_STATE".1 "$NET/stolen/"
pin guess 3333 || true
host "puts the old sealed state back, hoping for 3 more guesses"
cp "$NET/stolen/"* "$NET/"
rc=0
pin guess 1234 || rc=$?
if [ $rc -ne 3 ]; then
    echo "demo: the rollback was NOT detected (exit $rc)" >&2
    exit 1
fi
echo "=> the enclave refused to run on rolled-back state: the attack gained nothing."

step "6/6 stop the network"
"$NARRATOR" down --dir "$NET"
trap - EXIT
echo
echo "Done. Try it yourself: $BUILD_DIR/src/cli/narrator up; . .narrator/net/node0/client.env;"
echo "      $BUILD_DIR/examples/pin init 2468; $BUILD_DIR/examples/pin guess 1234; $BUILD_DIR/src/cli/narrator down"
