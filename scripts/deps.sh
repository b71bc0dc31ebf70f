#!/usr/bin/env bash
# Install everything Narrator builds, tests and benchmarks with, on Debian 12.
# Idempotent: installs only what is missing. Needs root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  libsodium-dev libsecp256k1-dev nettle-dev libcurl4-openssl-dev libcjson-dev
  libevent-dev liblmdb-dev lmdb-utils libinih-dev libcmocka-dev libssl-dev
  spin nodejs npm python3 curl procps iproute2
)
# Benchmark baselines (etcd, wrk, gnuplot, swtpm) are installed by bench/deps.sh.

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A machine may ship node/npm outside Debian's packages: accept those.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm modules (anvil devnet, solc, cast) from the committed lock file.
if [ -f package-lock.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "deps: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
