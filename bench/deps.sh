#!/usr/bin/env bash
# Install the benchmark baselines and tools on Debian 12: etcd (3-node cluster baseline),
# wrk (HTTP load generator for etcd's JSON gateway), gnuplot (plots), swtpm + tpm2-tools
# (TPM NV-counter baseline). Idempotent; needs root (or sudo) for apt-get.
set -euo pipefail

APT_PACKAGES=(etcd-server etcd-client wrk gnuplot-nox swtpm swtpm-tools tpm2-tools procps)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "bench deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
# The etcd-server package starts a system etcd on 2379/2380; the benchmark runs its own
# cluster on other ports, but a stray system instance would share the CPU: stop it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
  systemctl stop etcd || true
fi
if pgrep -x etcd >/dev/null 2>&1 && [ -f /etc/default/etcd ] && [ -z "${NR_BENCH_KEEP_ETCD:-}" ]; then
  echo "bench deps: note: an etcd process is running; benchmarks use their own ports" >&2
fi
exit 0
