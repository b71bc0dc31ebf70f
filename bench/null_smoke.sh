#!/usr/bin/env bash
# CTest (label bench): nr-bench against the null server for 2 s, writers and readers, closed
# and open loop. Fails if either run reports an error or the server does not start.
# usage: null_smoke.sh NR_BENCH NULL_SERVER WORKDIR
set -euo pipefail
NRB=$1 NULLSRV=$2 WORK=$3
rm -rf "$WORK"
mkdir -p "$WORK"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/system_id"
"$NULLSRV" --socket "$WORK/null.sock" --platform-dir "$WORK/platform" \
  --system-id "@$WORK/system_id" --init-platform "$WORK/root" 2>"$WORK/null.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -S "$WORK/null.sock" ] && break; sleep 0.05; done
[ -S "$WORK/null.sock" ] || { cat "$WORK/null.log" >&2; exit 1; }
SE=(--se "$WORK/null.sock,$WORK/platform" --system-id "@$WORK/system_id" --pid "$pid:null")
"$NRB" "${SE[@]}" --clients 8 --window 4 --threads 2 --read-ratio 0.25 --duration 2 \
  --warmup 0.2 --label null-closed --json "$WORK/closed.json"
"$NRB" "${SE[@]}" --clients 4 --window 2 --rate 2000 --duration 2 --warmup 0.2 \
  --label null-open --json "$WORK/open.json"
# A write that is not last+1 is refused by the server and counted by nr-bench: a second
# nr-bench on the same record names must continue from the stored versions, without errors.
"$NRB" "${SE[@]}" --clients 2 --window 2 --duration 0.5 --warmup 0 --prefix again --quiet
"$NRB" "${SE[@]}" --clients 2 --window 2 --duration 0.5 --warmup 0 --prefix again --quiet
# Session mode: many record handles on one connection, pipelined opens, reads and updates.
"$NRB" "${SE[@]}" --clients 2 --records 64 --window 2 --read-ratio 0.5 --duration 1 \
  --warmup 0.2 --label null-sessions --quiet
