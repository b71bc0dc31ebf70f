#!/usr/bin/env bash
# Curves for docs/benchmarks.md, all on loopback:
#   latency: throughput vs latency for Narrator n=3 and for the null server (the limit), by
#            sweeping the pipelining window at a fixed number of AE clients (closed loop);
#            and for sessions (4 AE connections, 4..1024 records each, 4 updates in flight per
#            record);
#   scaling: committed updates/s and latency for n = 3, 5, 7 at one fixed load (sessions
#            4 x 256 records x 4);
#   openloop: latency at fixed offered rates (nr-bench --rate, latency from the intended
#            send time), Narrator n=3.
# Writes TSV files and, with gnuplot, PNG plots (bench/plot.gp) into --out DIR.
#
# usage: bench/sweep.sh [--build DIR] [--out DIR] [--duration S] [--clients C] [--threads T]
#                       [--windows "1 4 16 64"] [--sizes "3 5 7"] [--rates "2000 5000"]
#                       [--only latency,scaling,openloop]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
OUT=$HERE/results
DURATION=5
CLIENTS=32
THREADS=2
WINDOWS="1 2 4 8 16 32 64"
SIZES="3 5 7"
RATES="2000 5000 10000 15000 20000"
SRECORDS="4 16 64 256 1024"
ONLY="latency,scaling,openloop"
while (($#)); do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --windows) WINDOWS=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --rates) RATES=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "sweep.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }
NRB=$BUILD/bench/nr-bench
NULLSRV=$BUILD/bench/nr-null-server
CLI=${NARRATOR_CLI:-$BUILD/src/cli/narrator}
export NARRATORD=${NARRATORD:-$BUILD/src/host/narratord}
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
for b in "$NRB" "$NULLSRV" "$CLI" "$NARRATORD"; do
  [ -x "$b" ] || { echo "sweep.sh: missing $b (build first)" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/nr-sweep.XXXXXX)
mkdir -p "$OUT"
NET=""
NULLPID=""
cleanup() {
  [ -z "$NET" ] || "$CLI" down --dir "$NET" >/dev/null 2>&1 || true
  if [ -n "$NULLPID" ]; then kill "$NULLPID" 2>/dev/null || true; wait "$NULLPID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bad=0
machine_info | tee "$OUT/machine.txt" >&2

# run NAME TSV PREFIX_COLUMNS ARGS...: one nr-bench run, one TSV row.
run() {
  local name=$1 tsv=$2 cols=$3; shift 3
  echo "== $name: nr-bench $*" >&2
  "$NRB" "$@" --duration "$DURATION" --warmup 1 --quiet --label "$name" \
    --json "$WORK/$name.json" >&2 || true
  local r
  r=$(json_res "$WORK/$name.json")
  read -r ops p50 p99 errs cpu <<<"$r"
  [ "$errs" = 0 ] || { bad=1; echo "sweep.sh: $name: NOT A RESULT ($errs errors)" >&2; return 0; }
  printf '%s\t%s\t%s\t%s\t%s\n' "$cols" "$ops" "$p50" "$p99" "$cpu" >>"$tsv"
}

NETS=0
net_up() { # N: a fresh network (new directory: a reused one would hold sealed hints)
  NETS=$((NETS + 1))
  NET=$WORK/net$NETS-n$1
  "$CLI" up -n "$1" $(up_flags) --dir "$NET" --base-port $((22000 + ($$ % 100) * 100 + NETS * 20)) \
    >"$WORK/up$NETS.txt" 2>&1 || { cat "$WORK/up$NETS.txt" >&2; return 1; }
  wait_active "$NET"
}
net_down() {
  "$CLI" down --dir "$NET" >/dev/null 2>&1 || true
  NET=""
}

if want latency; then
  tsv=$OUT/latency-narrator.tsv
  printf '# window\tclients\tops_per_s\tp50_us\tp99_us\tsrv_cpu_us_per_op\n' >"$tsv"
  net_up 3
  for w in $WINDOWS; do
    run "narrator-w$w" "$tsv" "$w	$CLIENTS" --net "$NET" --clients "$CLIENTS" --window "$w" \
      --threads "$THREADS"
  done
  net_down
  tsv=$OUT/latency-null.tsv
  printf '# window\tclients\tops_per_s\tp50_us\tp99_us\tsrv_cpu_us_per_op\n' >"$tsv"
  d=$WORK/null
  mkdir -p "$d"
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$d/system_id"
  "$NULLSRV" --socket "$d/null.sock" --platform-dir "$d/platform" --system-id "@$d/system_id" \
    --init-platform "$d/root" 2>"$d/null.log" &
  NULLPID=$!
  for _ in $(seq 1 50); do [ -S "$d/null.sock" ] && break; sleep 0.1; done
  for w in $WINDOWS; do
    run "null-w$w" "$tsv" "$w	$CLIENTS" --se "$d/null.sock,$d/platform" \
      --system-id "@$d/system_id" --clients "$CLIENTS" --window "$w" --threads "$THREADS"
  done
  kill "$NULLPID"; wait "$NULLPID" 2>/dev/null || true; NULLPID=""
  # Sessions: 4 AE connections, R records each, 4 updates in flight per record.
  tsv=$OUT/latency-sessions.tsv
  printf '# records_per_session\tsessions\tops_per_s\tp50_us\tp99_us\tsrv_cpu_us_per_op\n' >"$tsv"
  net_up 3
  for r in $SRECORDS; do
    run "sessions-r$r" "$tsv" "$r	4" --net "$NET" --clients 4 --records "$r" --window 4
  done
  net_down
fi

if want scaling; then
  tsv=$OUT/scaling.tsv
  printf '# n\tclients\tops_per_s\tp50_us\tp99_us\tsrv_cpu_us_per_op\n' >"$tsv"
  for n in $SIZES; do
    net_up "$n" || { bad=1; continue; }
    run "scale-n$n" "$tsv" "$n	4x256" --net "$NET" --clients 4 --records 256 --window 4
    net_down
  done
fi

if want openloop; then
  tsv=$OUT/openloop.tsv
  printf '# offered_per_s\tclients\tops_per_s\tp50_us\tp99_us\tsrv_cpu_us_per_op\n' >"$tsv"
  net_up 3
  for r in $RATES; do
    run "open-$r" "$tsv" "$r	$CLIENTS" --net "$NET" --clients "$CLIENTS" --window 4 --rate "$r"
  done
  net_down
fi

if command -v gnuplot >/dev/null; then
  gnuplot -e "dir='$OUT'" "$HERE/plot.gp" && echo "plots in $OUT" >&2
fi
exit $bad
