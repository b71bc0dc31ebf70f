#!/usr/bin/env bash
# Memory per record and SE rejoin time: start an n=3 network, create R records through
# nr-bench sessions (resident memory of every daemon before/after), then SIGKILL member 1
# and restart it with `narrator up --node 1`, which returns once it is ACTIVE again: the
# time of that restart is the rejoin time with R records (process start, channels, join
# quorum, merge). A final nr-bench run checks that the network still serves every member.
# usage: bench/rejoin.sh [--build DIR] [--out DIR] [--records R] [--sessions S]
#                         [--max-records M]
# R must fit the members' MaxRecords (200000 in the configs `narrator up` writes);
# --max-records M first restarts every member, one at a time, with MaxRecords = M.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
OUT=""
RECORDS=100000
SESSIONS=4
MAXREC=""
while (($#)); do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --records) RECORDS=$2; shift 2 ;;
    --sessions) SESSIONS=$2; shift 2 ;;
    --max-records) MAXREC=$2; shift 2 ;;
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
if [ -n "$MAXREC" ]; then
  for i in 0 1 2; do
    pid=$(cat "$NET/node$i/narratord.pid")
    kill "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    sed -i "s/^MaxRecords = .*/MaxRecords = $MAXREC/" "$NET/node$i/se.ini"
    "$CLI" up --dir "$NET" --node "$i" >>"$OUT/up.txt" 2>&1 || { cat "$OUT/up.txt" >&2; exit 1; }
  done
  echo "members restarted with MaxRecords = $MAXREC" | tee -a "$OUT/up.txt"
fi
# Create the records through sessions (pipelined open, read and first update of every record,
# SESSIONS connections in parallel), then 1 s of updates; RSS of every daemon before/after.
rss() { awk '/^VmRSS/ {print $2 * 1024}' "/proc/$1/status"; }
declare -A RSS0
for i in 0 1 2; do RSS0[$i]=$(rss "$(cat "$NET/node$i/narratord.pid")"); done
t0=$(date +%s.%N)
"$NRB" --net "$NET" --clients "$SESSIONS" --records $((RECORDS / SESSIONS)) --window 1 \
  --duration 1 --warmup 0 --timeout-ms 60000 --label populate --json "$OUT/populate.json" \
  | tee "$OUT/populate.txt"
t1=$(date +%s.%N)
{
  echo "records: $RECORDS created in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a - 1}') s (setup, through $SESSIONS sessions)"
  for i in 0 1 2; do
    r1=$(rss "$(cat "$NET/node$i/narratord.pid")")
    awk -v i="$i" -v a="${RSS0[$i]}" -v b="$r1" -v n="$RECORDS" \
      'BEGIN {printf "se%d: rss %.1f MB -> %.1f MB (%.0f bytes per record)\n", i, a / 1e6, b / 1e6, (b - a) / n}'
  done
} | tee -a "$OUT/populate.txt"

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
