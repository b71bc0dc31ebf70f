#!/usr/bin/env bash
# Side-by-side benchmark on one machine, all on loopback:
#   1. etcd: a 3-node cluster (Debian etcd-server), puts through its HTTP/JSON gateway driven
#      by wrk + bench/etcd_put.lua, at the same concurrency as the Narrator run, plus a
#      single-connection run for latency;
#   2. Narrator n=3: three narratord processes, driven by nr-bench; then ("disk") the same
#      network restarted member by member with Durability=disk;
#   3. the null server (bench/null_server.c): the AE-side protocol with no replication, the
#      loopback limit of the client path;
#   4. optional (--tpm): a swtpm NV counter incremented with tpm2_nvincrement.
# Prints a table and the ratios Narrator/etcd and Narrator/limit. Every process it starts is
# stopped on exit (trap). Results (raw outputs, JSON) go to --out DIR.
#
# usage: bench/compare.sh [--build DIR] [--out DIR] [--duration S] [--conns C] [--window W]
#                         [--threads T] [--n N] [--only etcd,narrator,disk,null,tpm] [--tpm]
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
SESSIONS=4      # session mode: 4 AE connections x 256 records x 4 updates in flight
SREC=256
SWIN=4
ONLY="etcd,narrator,disk,null"
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
NR_NET=""
ETCD_PIDS=()
ETCD_DATA=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${NR_NET:-}" ] && [ -x "${CLI:-}" ]; then "$CLI" down --dir "$NR_NET" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK/etcd" "$WORK/nr" "$WORK/null" "$WORK/tpm"
  for p in "${ETCD_DATA[@]}"; do rm -rf "$p"; done
  rmdir "$WORK" 2>/dev/null || true # kept only when it holds the results (no --out)
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== $*" >&2; }
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

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
  echo "${rps:-0} ${p50:-nan} ${p99:-nan} ${errs:-0} nan"
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
  local t0 t1
  t0=$(cpu_ticks "${ETCD_PIDS[@]}")
  wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/etcd_put.lua" "$url" \
    >"$OUT/etcd-$mode-c$CONNS.txt" 2>&1
  t1=$(cpu_ticks "${ETCD_PIDS[@]}")
  echo "etcd ($mode, $CONNS conns): 3 etcd processes used $(cpu_percent "$t0" "$t1" "$DURATION")% of one core in total" \
    | tee "$OUT/etcd-$mode-cpu.txt" >&2
  RES[etcd_${mode}]=$(parse_wrk "$OUT/etcd-$mode-c$CONNS.txt")
  # server CPU per put: the 3 etcd processes' CPU time over the requests wrk completed
  local reqs cpu_op
  reqs=$(awk '/requests in/ {print $1}' "$OUT/etcd-$mode-c$CONNS.txt")
  cpu_op=$(awk -v a="$t0" -v b="$t1" -v n="${reqs:-0}" -v hz="$(getconf CLK_TCK)" \
    'BEGIN {if (n > 0) printf "%.1f", (b - a) / hz / n * 1e6; else print "nan"}')
  read -r r1 r2 r3 r4 _ <<<"${RES[etcd_${mode}]}"
  RES[etcd_${mode}]="$r1 $r2 $r3 $r4 $cpu_op"
  # The puts landed: the store's revision counts them (one revision per put).
  curl -sf -X POST -d '{"key":"bnItYmVuY2gvcHJvYmU="}' "$url/v3/kv/range" \
    >"$OUT/etcd-$mode-range.json" || true
  local p
  for p in "${ETCD_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${ETCD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}

# ---- nr-bench runs ------------------------------------------------------------------------
NRB=$BUILD/bench/nr-bench
NULLSRV=$BUILD/bench/nr-null-server
CLI=${NARRATOR_CLI:-$BUILD/src/cli/narrator}
export NARRATORD=${NARRATORD:-$BUILD/src/host/narratord}

# nrbench NAME ARGS...: one nr-bench run, result in RES[NAME]; raw output in $OUT/NAME.{txt,json}.
nrbench() {
  local name=$1; shift
  log "$name: nr-bench $*"
  "$NRB" "$@" --duration "$DURATION" --warmup 1 --label "$name" --json "$OUT/$name.json" \
    >"$OUT/$name.txt" 2>&1 || true
  cat "$OUT/$name.txt" >&2
  RES[$name]=$(json_res "$OUT/$name.json")
}

# ---- Narrator n=N: narratord processes started by `narrator up` ---------------------------
run_narrator() {
  [ -x "$NRB" ] && [ -x "$CLI" ] && [ -x "$NARRATORD" ] || {
    echo "compare.sh: need $NRB, $CLI and $NARRATORD (build them first)" >&2; return 1; }
  local net=$WORK/nr/net base=$((21000 + ($$ % 500) * 20))
  mkdir -p "$WORK/nr"
  NR_NET=$net
  "$CLI" up -n "$NMEMBERS" $(up_flags) --dir "$net" --base-port "$base" >"$OUT/narrator-up.txt" 2>&1 || {
    cat "$OUT/narrator-up.txt" >&2; return 1; }
  wait_active "$net" || return 1
  nrbench narrator_c1 --net "$net" --nodes 0 --clients 1 --window 1 --threads 1
  nrbench narrator_w1 --net "$net" --clients "$CONNS" --window 1 --threads "$THREADS"
  nrbench narrator --net "$net" --clients "$CONNS" --window "$WINDOW" --threads "$THREADS"
  nrbench narrator_read --net "$net" --clients "$CONNS" --window 1 --threads "$THREADS" \
    --read-ratio 1
  # Sessions: SESSIONS AEs' connections with SREC records each, WINDOW/4 updates in flight
  # per record (many records per channel, many requests per channel record).
  nrbench narrator_sess --net "$net" --clients "$SESSIONS" --records "$SREC" --window "$SWIN"
  nrbench narrator_sess_read --net "$net" --clients "$SESSIONS" --records "$SREC" --read-ratio 1
  if want disk; then
    # Durability=disk: rolling restart of every member with the new setting (one at a time,
    # so the network keeps a quorum; each restart is a rejoin), then the same runs.
    local i pid
    for ((i = 0; i < NMEMBERS; i++)); do
      pid=$(cat "$net/node$i/narratord.pid")
      kill "$pid"
      while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
      sed -i 's/^Durability = .*/Durability = disk/' "$net/node$i/se.ini"
      "$CLI" up --dir "$net" --node "$i" >>"$OUT/narrator-up.txt" 2>&1 || {
        cat "$OUT/narrator-up.txt" >&2; return 1; }
    done
    grep -h "durability" "$net"/node*/narratord.log | tail -n "$NMEMBERS" >>"$OUT/narrator-up.txt" || true
    nrbench narrator_disk_c1 --net "$net" --nodes 0 --clients 1 --window 1 --threads 1
    nrbench narrator_disk_w1 --net "$net" --clients "$CONNS" --window 1 --threads "$THREADS"
  fi
  "$CLI" down --dir "$net" >/dev/null 2>&1 || true
  NR_NET=""
}
# ---- null server: the AE path without replication -----------------------------------------
run_null() {
  [ -x "$NRB" ] && [ -x "$NULLSRV" ] || { echo "compare.sh: need $NRB and $NULLSRV" >&2; return 1; }
  local d=$WORK/null
  mkdir -p "$d"
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$d/system_id"
  "$NULLSRV" --socket "$d/null.sock" --platform-dir "$d/platform" --system-id "@$d/system_id" \
    --init-platform "$d/root" 2>"$d/null.log" &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 50); do [ -S "$d/null.sock" ] && break; sleep 0.1; done
  local se=(--se "$d/null.sock,$d/platform" --system-id "@$d/system_id" --pid "$pid:null")
  nrbench null_c1 "${se[@]}" --clients 1 --window 1 --threads 1
  nrbench null "${se[@]}" --clients "$CONNS" --window "$WINDOW" --threads "$THREADS"
  nrbench null_sess "${se[@]}" --clients "$SESSIONS" --records "$SREC" --window "$SWIN"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# ---- TPM NV counter (swtpm), the paper's hardware-counter baseline -------------------------
run_tpm() {
  command -v swtpm >/dev/null && command -v tpm2_nvincrement >/dev/null || {
    echo "compare.sh: swtpm or tpm2-tools missing: run bench/deps.sh" >&2; return 1; }
  local d=$WORK/tpm port=$((ETCD_BASE + 31))
  mkdir -p "$d/state"
  swtpm socket --tpm2 --tpmstate dir="$d/state" \
    --server type=tcp,port=$port,bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
    --flags not-need-init,startup-clear >"$d/swtpm.log" 2>&1 &
  PIDS+=($!)
  export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$port"
  local ok=0
  for _ in $(seq 1 50); do
    tpm2_nvdefine -C o -s 8 -a "ownerread|ownerwrite|nt=counter" 0x1500016 >/dev/null 2>&1 && {
      ok=1; break; }
    sleep 0.1
  done
  ((ok)) || { echo "compare.sh: swtpm NV define failed" >&2; return 1; }
  # One tpm2_nvincrement per increment (a process start each, as a caller without a
  # resident TSS would do); the counter's final value proves every increment landed.
  local n=0 errs=0 t0 t1
  t0=$(date +%s.%N)
  local stop_at
  stop_at=$(awk -v t="$t0" -v d="$DURATION" 'BEGIN {printf "%.3f", t + d}')
  while awk -v now="$(date +%s.%N)" -v s="$stop_at" 'BEGIN {exit !(now < s)}'; do
    if tpm2_nvincrement -C o 0x1500016 >/dev/null 2>&1; then n=$((n + 1)); else errs=$((errs + 1)); fi
  done
  t1=$(date +%s.%N)
  local val
  val=$(tpm2_nvread -C o 0x1500016 2>/dev/null | od -An -tu1 | awk '{for (i = 1; i <= NF; i++) v = v * 256 + $i} END {print v + 0}')
  [ "$val" = "$n" ] || { echo "compare.sh: TPM counter $val != $n increments" >&2; errs=$((errs + 1)); }
  RES[tpm]=$(awk -v n="$n" -v a="$t0" -v b="$t1" -v e="$errs" \
    'BEGIN {printf "%.1f %.1f nan %d nan", n / (b - a), (b - a) / n * 1e6, e}')
  echo "tpm: $n increments in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}') s, counter=$val" \
    >"$OUT/tpm.txt"
}

machine_info | tee "$OUT/machine.txt" >&2
if want etcd; then
  for m in $ETCD_MODES; do run_etcd "$m" || RES[etcd_$m]="fail"; done
fi
if want narrator; then run_narrator || RES[narrator]="fail"; fi
if want null; then run_null || RES[null]="fail"; fi
if want tpm; then run_tpm || RES[tpm]="fail"; fi

# ---- report --------------------------------------------------------------------------------
{
  printf '%-28s %12s %10s %10s %8s %12s\n' "system" "ops/s" "p50 us" "p99 us" "errors" \
    "srv cpu us/op"
  for k in etcd_disk_c1 etcd_disk etcd_tmpfs_c1 etcd_tmpfs narrator_c1 narrator_w1 narrator \
           narrator_read narrator_sess narrator_sess_read narrator_disk_c1 narrator_disk_w1 \
           null_c1 null null_sess tpm; do
    [ -n "${RES[$k]:-}" ] || continue
    if [ "${RES[$k]}" = fail ]; then printf '%-28s %12s\n' "$k" "FAILED"; continue; fi
    read -r ops p50 p99 errs cpu <<<"${RES[$k]}"
    case $k in
      etcd_disk_c1) name="etcd 3 nodes disk, 1 conn" ;;
      etcd_disk) name="etcd 3 nodes disk, $CONNS conns" ;;
      etcd_tmpfs_c1) name="etcd 3 nodes tmpfs, 1 conn" ;;
      etcd_tmpfs) name="etcd 3 nodes tmpfs, $CONNS conns" ;;
      narrator_c1) name="narrator n=$NMEMBERS, 1 client" ;;
      narrator_w1) name="narrator n=$NMEMBERS, ${CONNS}x1" ;;
      narrator) name="narrator n=$NMEMBERS, ${CONNS}x$WINDOW" ;;
      narrator_read) name="narrator reads, ${CONNS}x1" ;;
      narrator_sess) name="narrator sessions ${SESSIONS}x${SREC}x$SWIN" ;;
      narrator_sess_read) name="narrator reads, sessions" ;;
      null_sess) name="null server, sessions" ;;
      narrator_disk_c1) name="narrator disk, 1 client" ;;
      narrator_disk_w1) name="narrator disk, ${CONNS}x1" ;;
      null_c1) name="null server, 1 client" ;;
      null) name="null server, ${CONNS}x$WINDOW" ;;
      tpm) name="swtpm NV counter" ;;
    esac
    note=""; [ "$errs" = 0 ] || note="  NOT A RESULT"
    printf '%-28s %12.1f %10s %10s %8s %12s%s\n' "$name" "$ops" "$p50" "$p99" "$errs" "${cpu:-nan}" "$note"
  done
  ratio() { # a b -> a/b
    local a=${RES[$1]:-} b=${RES[$2]:-}
    [[ -n "$a" && -n "$b" && "$a" != fail && "$b" != fail ]] || { echo "n/a"; return; }
    awk -v x="${a%% *}" -v y="${b%% *}" 'BEGIN { if (y > 0) printf "%.2fx", x / y; else print "n/a" }'
  }
  echo
  echo "narrator/etcd(disk): $(ratio narrator etcd_disk)   narrator/etcd(tmpfs): $(ratio narrator etcd_tmpfs)"
  echo "same concurrency (${CONNS} outstanding): narrator/etcd(disk): $(ratio narrator_w1 etcd_disk)"
  echo "one client: narrator/etcd(disk): $(ratio narrator_c1 etcd_disk_c1)"
  echo "both on disk: narrator/etcd, ${CONNS} outstanding: $(ratio narrator_disk_w1 etcd_disk);" \
       "one client: $(ratio narrator_disk_c1 etcd_disk_c1)"
  echo "narrator/null-server limit: $(ratio narrator null); sessions: $(ratio narrator_sess null_sess)"
  echo "sessions: narrator/etcd(disk): $(ratio narrator_sess etcd_disk), narrator/etcd(tmpfs): $(ratio narrator_sess etcd_tmpfs)"
  cpu_ratio() { # a b -> server CPU per op of a / of b (robust to other load on the machine)
    local a=${RES[$1]:-} b=${RES[$2]:-}
    [[ -n "$a" && -n "$b" && "$a" != fail && "$b" != fail ]] || { echo "n/a"; return; }
    awk -v x="$(echo "$a" | awk '{print $5}')" -v y="$(echo "$b" | awk '{print $5}')" \
      'BEGIN { if (x + 0 > 0 && y + 0 > 0) printf "%.1fx", x / y; else print "n/a" }'
  }
  echo "server CPU per op, etcd/narrator: disk $(cpu_ratio etcd_disk narrator)," \
       "tmpfs $(cpu_ratio etcd_tmpfs narrator); sessions: $(cpu_ratio etcd_disk narrator_sess)"
  [ -z "${RES[tpm]:-}" ] || echo "narrator/tpm: $(ratio narrator tpm)"
  echo "load after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/summary.txt"
echo "raw outputs in $OUT" >&2
# Exit status: nonzero if any run failed or had errors (its numbers are not a result).
bad=0
for k in "${!RES[@]}"; do
  if [ "${RES[$k]}" = fail ]; then bad=1; continue; fi
  read -r _ _ _ errs _ <<<"${RES[$k]}"
  [ "$errs" = 0 ] || bad=1
done
exit $bad
