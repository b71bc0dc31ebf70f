#!/usr/bin/env bash
# Memory per record and SE rejoin time: start an n=3 network, create R records through
# nr-bench --populate (resident memory of every daemon before/after), then SIGKILL member 1
# and restart it with `narrator up --node 1`, which returns once it is ACTIVE again: the
# time of that restart is the rejoin time with R records (process start, channels, join
# quorum, merge). A final nr-bench run checks that the network still serves every member.
# usage: bench/rejoin.sh [--build DIR] [--out DIR] [--records R] [--threads T]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
OUT=""
RECORDS=10000
THREADS=8
while (($#)); do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --records) RECORDS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "rejoin.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
NRB=$BUILD/bench/nr-bench
CLI=${NARRATOR_CLI:-$BUILD/src/cli/narrator}
export NARRATORD=${NARRATORD:-$BUILD/src/host/narratord}
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
WORK=$(mktemp -d /tmp/nr-rejoin.XXXXXX)
[ -n "$OUT" ] || OUT=$WORK/results
mkdir -p "$OUT"
NET=$WORK/net
cleanup() { "$CLI" down --dir "$NET" >/dev/null 2>&1 || true; rm -rf "$NET"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

machine_info | tee "$OUT/machine.txt" >&2
"$CLI" up -n 3 $(up_flags) --dir "$NET" --base-port $((25000 + ($$ % 500) * 10)) >"$OUT/up.txt" 2>&1 || {
  cat "$OUT/up.txt" >&2; exit 1; }
wait_active "$NET"
"$NRB" --net "$NET" --populate "$RECORDS" --threads "$THREADS" --duration 55 \
  --label populate --json "$OUT/populate.json" | tee "$OUT/populate.txt"

pid=$(cat "$NET/node1/narratord.pid")
kill -9 "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
t0=$(date +%s.%N)
"$CLI" up --dir "$NET" --node 1 >"$OUT/restart.txt" 2>&1 || { cat "$OUT/restart.txt" >&2; exit 1; }
t1=$(date +%s.%N)
rejoin=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
echo "rejoin: member 1 ACTIVE again $rejoin s after restart, with $RECORDS records" | tee "$OUT/rejoin.txt"
grep -i "join\|merge\|active" "$NET/node1/narratord.log" | tail -n 5 >>"$OUT/rejoin.txt" || true
# The restarted member serves again, and its records are the network's.
"$NRB" --net "$NET" --nodes 1 --clients 4 --window 4 --duration 2 --warmup 0.2 --label after-rejoin \
  --quiet --json "$OUT/after-rejoin.json"
