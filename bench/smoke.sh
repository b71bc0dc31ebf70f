#!/usr/bin/env bash
# CI smoke test (CTest label "bench"): a 5-second nr-bench run against a 3-node loopback
# network started with `narrator up`. Fails only if the run reports errors (nr-bench exits
# nonzero and prints "NOT A RESULT") or the network does not come up; no speed assertion.
# usage: smoke.sh NR_BENCH NARRATOR_CLI NARRATORD WORKDIR
set -euo pipefail
NRB=$1 CLI=$2 WORK=$4
export NARRATORD=$3
rm -rf "$WORK"
mkdir -p "$WORK"
NET=$WORK/net
# Ports: derived from the pid so that parallel test runs do not collide.
BASE=$((30000 + ($$ % 1000) * 16))
cleanup() {
  "$CLI" down --dir "$NET" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# The chain is only used at initialisation: start from the genesis file (no anvil needed).
UPFLAGS=()
if "$CLI" help up 2>&1 | grep -q -- '--no-chain'; then UPFLAGS=(--no-chain); fi
"$CLI" up -n 3 "${UPFLAGS[@]}" --dir "$NET" --base-port "$BASE"
active=0
for _ in $(seq 1 150); do
  if [ "$("$CLI" status --dir "$NET" 2>/dev/null | grep -c ACTIVE || true)" -ge 3 ]; then
    active=1
    break
  fi
  sleep 0.2
done
if [ "$active" != 1 ]; then
  echo "smoke: the network did not become ACTIVE" >&2
  "$CLI" status --dir "$NET" >&2 || true
  for i in 0 1 2; do tail -n 20 "$NET/node$i/narratord.log" >&2 || true; done
  exit 1
fi
# Writers and readers on every member, pipelined: exercises update, read and batching.
"$NRB" --net "$NET" --clients 12 --window 8 --threads 2 --read-ratio 0.25 \
  --duration 5 --warmup 0.5 --timeout-ms 10000 --label smoke --json "$WORK/smoke.json"
