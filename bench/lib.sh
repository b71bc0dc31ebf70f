# Shared helpers of the benchmark scripts (sourced by compare.sh and sweep.sh).
# Callers set CLI (the narrator tool) before using wait_active.

# json_res FILE -> "ops/s p50_us p99_us errors server_cpu_us_per_op" from nr-bench's JSON
# (the "all" row); a run that is not a result (errors, or nothing completed) has errors >= 1.
json_res() {
  python3 - "$1" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
    a = r["all"]
    errors = r["errors"] if r["errors"] else (0 if r["result"] else 1)
    cpu = r.get("cpu_us_per_op", {})
    cpu_s = "%.1f" % cpu["daemons"] if cpu.get("all_daemons_sampled") and cpu.get("daemons") else "nan"
    print("%.1f %.1f %.1f %d %s" % (a["per_s"], a["latency_us"]["p50"], a["latency_us"]["p99"],
                                    errors, cpu_s))
except Exception:
    print("0 nan nan 1 nan")
PY
}
# Wait until every member of the network reports ACTIVE (narrator status), at most 30 s.
wait_active() {
  local net=$1 n
  n=$(cat "$net/nodes")
  for _ in $(seq 1 150); do
    if [ "$("$CLI" status --dir "$net" 2>/dev/null | grep -c ACTIVE || true)" -ge "$n" ]; then
      return 0
    fi
    sleep 0.2
  done
  echo "bench: network in $net did not become ACTIVE" >&2
  "$CLI" status --dir "$net" >&2 || true
  return 1
}

# machine_info: the facts every result table needs next to it.
machine_info() {
  echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpus:    $(nproc) x $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "memory:  $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel:  $(uname -sr)"
  echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min, before the run)"
}
# cpu_ticks PID...: user+system clock ticks consumed so far by these processes, summed.
cpu_ticks() {
  local p t=0 v
  for p in "$@"; do
    v=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null || echo 0)
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
# cpu_percent TICKS0 TICKS1 SECONDS: percent of one core.
cpu_percent() {
  awk -v a="$1" -v b="$2" -v s="$3" -v hz="$(getconf CLK_TCK)" \
    'BEGIN {printf "%.1f", (b - a) / hz / s * 100}'
}
# up_flags: extra flags for `narrator up -n N` in benchmarks. The chain is used once, at
# initialisation, and is not on the update path: benchmarks create networks from the genesis
# file alone (--no-chain, where the CLI has it) unless NR_BENCH_CHAIN=1.
up_flags() {
  if [ "${NR_BENCH_CHAIN:-0}" != 1 ] && "$CLI" help up 2>&1 | grep -q -- '--no-chain'; then
    echo "--no-chain"
  fi
}
