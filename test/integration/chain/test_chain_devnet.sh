#!/usr/bin/env bash
# Integration: scripts/devnet.sh and the narrator-chain tool end to end on a real anvil.
#   test_chain_devnet.sh <narrator-chain> <NarratorRegistry.bin>
# Starts the devnet on a free loopback port in a temporary directory, initialises a 3-member
# system with the tool (one funded account per state enclave), checks the rejections and the
# verified read-back, and stops the devnet whatever happens.
set -euo pipefail
TOOL=$1
BIN=$2
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
TMP=$(mktemp -d)
export NARRATOR_DEVNET_DIR=$TMP/devnet NARRATOR_CHAIN=$TOOL NARRATOR_REGISTRY_BIN=$BIN
export NARRATOR_DEVNET_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { "$ROOT/scripts/devnet.sh" down >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT
passed=0 failed=0
check() { # name, command...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
# Runs a command that must fail with exit status 1 and print every given pattern.
fails_with() { # pattern1|pattern2 command...
  local pats=$1; shift
  local out st
  out=$("$@" 2>&1) && st=0 || st=$?
  echo "     $out" | head -2
  [ "$st" = 1 ] || return 1
  local p
  IFS='|' read -ra ps <<<"$pats"
  for p in "${ps[@]}"; do grep -q -- "$p" <<<"$out" || return 1; done
}

# Three state enclave accounts (fixed test keys, funded by the devnet).
for i in 1 2 3; do printf '%064x\n' $((0x5e0000 + i)) >"$TMP/se$i.key"; done
ADDRS=()
for i in 1 2 3; do ADDRS+=("$("$TOOL" --key-file "$TMP/se$i.key" address)"); done

"$ROOT/scripts/devnet.sh" up "${ADDRS[@]}"
CFG=$NARRATOR_DEVNET_DIR/chain.ini
check "chain.ini written" grep -q '^Contract = 0x' "$CFG"
check "second up is a no-op" "$ROOT/scripts/devnet.sh" up
M=0x$(printf 'ab%.0s' {1..32})
C=("$TOOL" --config "$CFG")

check "create" "${C[@]}" --key-file "$NARRATOR_DEVNET_DIR/deployer.key" create --system devnet-test --n 3 --f 1 --measurement "$M"
check "second create rejected with its reason" fails_with 'NR_EREVERT|system already exists' \
  "${C[@]}" --key-file "$NARRATOR_DEVNET_DIR/deployer.key" create --system devnet-test --n 3 --f 1 --measurement "$M"
for i in 1 2 3; do
  check "register $i" "${C[@]}" --key-file "$TMP/se$i.key" register --system devnet-test \
    --platform 0x$(printf "0$i%.0s" {1..32}) --identity 0x$(printf "1$i%.0s" {1..32})
done
check "finalize by non-creator rejected" fails_with 'only the creator can finalize' \
  "${C[@]}" --key-file "$TMP/se1.key" finalize --system devnet-test
check "finalize" "${C[@]}" --key-file "$NARRATOR_DEVNET_DIR/deployer.key" finalize --system devnet-test
out=$("${C[@]}" show --system devnet-test --verify --measurement "$M")
echo "$out"
check "verified read-back" grep -q '^verified=1$' <<<"$out"
check "three members" [ "$(grep -c '^member\.' <<<"$out")" = 3 ]
check "unreachable endpoint is a clear error" fails_with 'NR_EUNREACHABLE|after 4 attempts' \
  "${C[@]}" --rpc http://127.0.0.1:1 chain-id
check "wrong chain id is a clear error" fails_with 'NR_ECHAINID' "${C[@]}" --chain-id 1 show --system devnet-test
"$ROOT/scripts/devnet.sh" down
check "down stops anvil" fails_with 'NR_EUNREACHABLE' "${C[@]}" chain-id
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
