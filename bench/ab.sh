#!/usr/bin/env bash
# Before/after comparison of two builds (e.g. two commits) on the same machine in the same
# minutes: for each round, a fresh n=3 network from build A, then one from build B, each
# driven by that build's nr-bench with the same arguments. Alternating A, B, A, B... spreads
# the drift of a shared machine over both. Prints every run and the median of each side.
# usage: bench/ab.sh BUILD_A BUILD_B [--rounds R] [--duration S] [-- nr-bench args...]
#   default nr-bench args: --clients 64 --window 1 --threads 2
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
A=$1 B=$2; shift 2
ROUNDS=3
DURATION=5
while (($#)); do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "ab.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
ARGS=("$@")
((${#ARGS[@]})) || ARGS=(--clients 64 --window 1 --threads 2)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
WORK=$(mktemp -d /tmp/nr-ab.XXXXXX)
NET=""
CLI=""
cleanup() { [ -z "$NET" ] || "$CLI" down --dir "$NET" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
machine_info >&2
bad=0
declare -A ALL=([A]="" [B]="")
median() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "nan"}'; }
for r in $(seq 1 "$ROUNDS"); do
  for side in A B; do
    build=$A off=0
    [ "$side" = A ] || { build=$B; off=3; }
    CLI=$build/src/cli/narrator
    export NARRATORD=$build/src/host/narratord
    NET=$WORK/net-$side-$r
    "$CLI" up -n 3 $(up_flags) --dir "$NET" --base-port $((26000 + ($$ % 100) * 60 + r * 6 + off)) \
      >"$WORK/up.txt" 2>&1 || { cat "$WORK/up.txt" >&2; exit 1; }
    wait_active "$NET"
    "$build/bench/nr-bench" --net "$NET" "${ARGS[@]}" --duration "$DURATION" --warmup 1 --quiet \
      --label "$side$r" --json "$WORK/$side$r.json" >/dev/null || true
    res=$(json_res "$WORK/$side$r.json")
    read -r ops p50 p99 errs cpu <<<"$res"
    [ "$errs" = 0 ] || bad=1
    printf '%s round %d: %10.1f ops/s  p50 %8s us  p99 %8s us  errors %s  daemon cpu %s us/op\n' \
      "$side" "$r" "$ops" "$p50" "$p99" "$errs" "$cpu"
    ALL[$side]+="$ops $cpu"$'\n'
    "$CLI" down --dir "$NET" >/dev/null 2>&1 || true
    NET=""
  done
done
for side in A B; do
  ops_m=$(printf '%s' "${ALL[$side]}" | awk 'NF {print $1}' | median)
  cpu_m=$(printf '%s' "${ALL[$side]}" | awk 'NF {print $2}' | median)
  printf '%s median: %s ops/s, %s us daemon CPU per op\n' "$side" "$ops_m" "$cpu_m"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $bad
