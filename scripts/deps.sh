#!/usr/bin/env bash
# Install everything Narrator builds, tests and benchmarks with, on Debian 12.
# Idempotent: installs only what is missing. Needs root (or sudo) for apt-get.
#   scripts/deps.sh           install what is missing
#   scripts/deps.sh --check   install nothing: list what is missing, exit 1 if anything is
#                             (scripts/build.sh runs this first)
set -euo pipefail
cd "$(dirname "$0")/.."
CHECK=0
case "${1:-}" in
  --check) CHECK=1 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

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
npm_stale() {
  [ -f package-lock.json ] || return 1
  [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]
}
if [ "$CHECK" = 1 ]; then
  ((${#missing[@]})) && echo "deps: missing Debian packages: ${missing[*]}"
  npm_stale && echo "deps: npm modules (anvil, solc) missing or older than package-lock.json"
  if ((${#missing[@]})) || npm_stale; then exit 1; fi
  exit 0
fi
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm modules (anvil devnet, solc, cast) from the committed lock file.
if npm_stale; then
  echo "deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
