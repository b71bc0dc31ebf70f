#!/usr/bin/env bash
# Side-by-side benchmark on one machine, all on loopback:
#   1. etcd: a 3-node cluster (Debian etcd-server), puts through its HTTP/JSON gateway driven
#      by wrk + bench/etcd_put.lua, at the same concurrency as the Narrator run, plus a
#      single-connection run for latency;
#   2. Narrator n=3: three narratord processes, driven by nr-bench;
#   3. the null server (bench/null_server.c): the AE-side protocol with no replication, the
#      loopback limit of the client path;
#   4. optional (--tpm): a swtpm NV counter incremented with tpm2_nvincrement.
# Prints a table and the ratios Narrator/etcd and Narrator/limit. Every process it starts is
# stopped on exit (trap). Results (raw outputs, JSON) go to --out DIR.
#
# usage: bench/compare.sh [--build DIR] [--out DIR] [--duration S] [--conns C] [--window W]
#                         [--threads T] [--n N] [--only etcd,narrator,null,tpm] [--tpm]
#                         [--etcd-modes "disk tmpfs"]
# etcd runs twice by default: data on the disk (etcd's normal fsync-per-commit durability) and
# data on tmpfs (/dev/shm: no disk cost, comparable to Narrator's default in-memory
# replication). Narrator runs with its default durability (memory, f+1 enclaves).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
OUT=""
DURATION=10
CONNS=64        # etcd: wrk connections; Narrator: AE clients
WINDOW=16       # Narrator: pipelined updates per client
THREADS=2       # load-generator threads (wrk -t, nr-bench --threads)
NMEMBERS=3
ONLY="etcd,narrator,null"
ETCD_BASE=23790 # client ports 23791..23793, peer ports 23801..23803
ETCD_MODES="disk tmpfs" # etcd data on the disk (its default, fsync per commit) and on tmpfs

while (($#)); do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --window) WINDOW=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --n) NMEMBERS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --tpm) ONLY="$ONLY,tpm"; shift ;;
    --etcd-modes) ETCD_MODES=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }

WORK=$(mktemp -d /tmp/nr-compare.XXXXXX)
[ -n "$OUT" ] || OUT=$WORK/results
mkdir -p "$OUT"
PIDS=()
ETCD_PIDS=()
ETCD_DATA=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK/etcd" "$WORK/nr" "$WORK/null" "$WORK/tpm"
  for p in "${ETCD_DATA[@]}"; do rm -rf "$p"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== $*" >&2; }

# Results: name -> "ops/s p50_us p99_us errors"
declare -A RES

# ---- wrk output parsing ------------------------------------------------------------------
# Converts wrk's "1.23ms" / "456.00us" / "1.02s" to microseconds.
to_us() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.1f", v }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.1f", v * 1000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.1f", v * 1000000 }
    else printf "nan" }'
}
# parse_wrk FILE -> "rps p50_us p99_us errors"
parse_wrk() {
  local f=$1 rps p50 p99 errs
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$f")
  p50=$(to_us "$(awk '$1 == "50%" {print $2}' "$f")")
  p99=$(to_us "$(awk '$1 == "99%" {print $2}' "$f")")
  errs=$(awk '/Non-2xx or 3xx responses:/ {n += $NF}
              /Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10}
              END {print n + 0}' "$f")
  echo "${rps:-0} ${p50:-nan} ${p99:-nan} ${errs:-0}"
}

# ---- etcd --------------------------------------------------------------------------------
run_etcd() { # MODE (disk|tmpfs)
  local mode=$1 base="$WORK/etcd"
  [ "$mode" != tmpfs ] || base=$(mktemp -d /dev/shm/nr-compare-etcd.XXXXXX)
  ETCD_DATA+=("$base")
  command -v etcd >/dev/null && command -v wrk >/dev/null || {
    echo "compare.sh: etcd or wrk missing: run bench/deps.sh" >&2; return 1; }
  local cluster="" i
  for i in 1 2 3; do
    cluster+="${cluster:+,}e$i=http://127.0.0.1:$((ETCD_BASE + 10 + i))"
  done
  mkdir -p "$WORK/etcd" "$base"
  ETCD_PIDS=()
  for i in 1 2 3; do
    etcd --name "e$i" --data-dir "$base/e$i" \
      --listen-client-urls "http://127.0.0.1:$((ETCD_BASE + i))" \
      --advertise-client-urls "http://127.0.0.1:$((ETCD_BASE + i))" \
      --listen-peer-urls "http://127.0.0.1:$((ETCD_BASE + 10 + i))" \
      --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_BASE + 10 + i))" \
      --initial-cluster "$cluster" --initial-cluster-state new \
      --initial-cluster-token nr-bench --logger zap --log-level error \
      >"$WORK/etcd/e$i.log" 2>&1 &
    PIDS+=($!)
    ETCD_PIDS+=($!)
  done
  local ok=0
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$((ETCD_BASE + 1))/health" 2>/dev/null | grep -q '"health":"true"'; then
      ok=1; break
    fi
    sleep 0.2
  done
  ((ok)) || { echo "compare.sh: etcd cluster did not become healthy" >&2; cat "$WORK/etcd/e1.log" >&2; return 1; }
  # One put through the gateway must succeed before we measure.
  curl -sf -X POST -H 'Content-Type: application/json' \
    -d '{"key":"bnItYmVuY2gvcHJvYmU=","value":"MQ=="}' \
    "http://127.0.0.1:$((ETCD_BASE + 1))/v3/kv/put" | grep -q '"header"' || {
    echo "compare.sh: etcd gateway put failed" >&2; return 1; }
  local url="http://127.0.0.1:$((ETCD_BASE + 1))"
  log "etcd ($mode): wrk 1 connection, ${DURATION}s"
  wrk -t1 -c1 -d"${DURATION}s" --latency -s "$HERE/etcd_put.lua" "$url" \
    >"$OUT/etcd-$mode-c1.txt" 2>&1
  RES[etcd_${mode}_c1]=$(parse_wrk "$OUT/etcd-$mode-c1.txt")
  log "etcd ($mode): wrk $CONNS connections, $THREADS threads, ${DURATION}s"
  wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/etcd_put.lua" "$url" \
    >"$OUT/etcd-$mode-c$CONNS.txt" 2>&1
  RES[etcd_${mode}]=$(parse_wrk "$OUT/etcd-$mode-c$CONNS.txt")
  # The puts landed: the store's revision counts them (one revision per put).
  curl -sf -X POST -d '{"key":"bnItYmVuY2gvcHJvYmU="}' "$url/v3/kv/range" \
    >"$OUT/etcd-$mode-range.json" || true
  local p
  for p in "${ETCD_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${ETCD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}

# ---- Narrator, null server, TPM: filled in below as the pieces exist --------------------
run_narrator() { echo "compare.sh: narrator run not available yet" >&2; return 1; }
run_null() { echo "compare.sh: null server run not available yet" >&2; return 1; }
run_tpm() { echo "compare.sh: tpm run not available yet" >&2; return 1; }

if want etcd; then
  for m in $ETCD_MODES; do run_etcd "$m" || RES[etcd_$m]="fail"; done
fi
if want narrator; then run_narrator || RES[narrator]="fail"; fi
if want null; then run_null || RES[null]="fail"; fi
if want tpm; then run_tpm || RES[tpm]="fail"; fi

# ---- report --------------------------------------------------------------------------------
{
  printf '%-28s %12s %10s %10s %8s\n' "system" "ops/s" "p50 us" "p99 us" "errors"
  for k in etcd_disk_c1 etcd_disk etcd_tmpfs_c1 etcd_tmpfs narrator_c1 narrator null tpm; do
    [ -n "${RES[$k]:-}" ] || continue
    if [ "${RES[$k]}" = fail ]; then printf '%-28s %12s\n' "$k" "FAILED"; continue; fi
    read -r ops p50 p99 errs <<<"${RES[$k]}"
    case $k in
      etcd_disk_c1) name="etcd 3 nodes disk, 1 conn" ;;
      etcd_disk) name="etcd 3 nodes disk, $CONNS conns" ;;
      etcd_tmpfs_c1) name="etcd 3 nodes tmpfs, 1 conn" ;;
      etcd_tmpfs) name="etcd 3 nodes tmpfs, $CONNS conns" ;;
      narrator_c1) name="narrator n=$NMEMBERS, 1 client" ;;
      narrator) name="narrator n=$NMEMBERS, ${CONNS}x$WINDOW" ;;
      null) name="null server, ${CONNS}x$WINDOW" ;;
      tpm) name="swtpm NV counter" ;;
    esac
    note=""; [ "$errs" = 0 ] || note="  NOT A RESULT"
    printf '%-28s %12.1f %10s %10s %8s%s\n' "$name" "$ops" "$p50" "$p99" "$errs" "$note"
  done
  ratio() { # a b -> a/b
    local a=${RES[$1]:-} b=${RES[$2]:-}
    [[ -n "$a" && -n "$b" && "$a" != fail && "$b" != fail ]] || { echo "n/a"; return; }
    awk -v x="${a%% *}" -v y="${b%% *}" 'BEGIN { if (y > 0) printf "%.2fx", x / y; else print "n/a" }'
  }
  echo
  echo "narrator/etcd(disk): $(ratio narrator etcd_disk)   narrator/etcd(tmpfs): $(ratio narrator etcd_tmpfs)"
  echo "narrator/null-server limit: $(ratio narrator null)"
  [ -z "${RES[narrator_c1]:-}" ] || echo "narrator/etcd(tmpfs), 1 client: $(ratio narrator_c1 etcd_tmpfs_c1)"
  [ -z "${RES[tpm]:-}" ] || echo "narrator/tpm: $(ratio narrator tpm)"
} | tee "$OUT/summary.txt"
echo "raw outputs in $OUT" >&2
