#!/usr/bin/env bash
# Local Ethereum devnet for Narrator: anvil (from node_modules, npm ci) on loopback, with the
# NarratorRegistry contract deployed.
#
#   scripts/devnet.sh up [ADDR...]     start anvil, deploy, write chain.ini, fund ADDRs (10 ETH)
#   scripts/devnet.sh fund ADDR [ETH]  send ETH (default 10) from the deployer to ADDR
#   scripts/devnet.sh status           print chain.ini and whether anvil runs
#   scripts/devnet.sh down             stop anvil
#
# Files (under .narrator/devnet/, or $NARRATOR_DEVNET_DIR):
#   anvil.pid, anvil.log, chain.ini ([Chain] RpcUrl, ChainId, Contract, Confirmations),
#   deployer.key (anvil's first development account: a publicly known test key, never use it
#   on a real chain).
# Environment: NARRATOR_DEVNET_PORT (8545), NARRATOR_DEVNET_CHAIN_ID (31337),
#   NARRATOR_DEVNET_BLOCK_TIME (seconds; unset = a block per transaction),
#   BUILD_DIR (./build: where narrator-chain and contracts/NarratorRegistry.bin are).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${NARRATOR_DEVNET_DIR:-$ROOT/.narrator/devnet}
PORT=${NARRATOR_DEVNET_PORT:-8545}
CHAIN_ID=${NARRATOR_DEVNET_CHAIN_ID:-31337}
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
TOOL=${NARRATOR_CHAIN:-$BUILD_DIR/src/eth/narrator-chain}
BIN=${NARRATOR_REGISTRY_BIN:-$BUILD_DIR/contracts/NarratorRegistry.bin}
RPC=http://127.0.0.1:$PORT
# anvil's first development account (mnemonic "test test ... junk"): public, devnet only.
DEPLOYER_SK=ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80

die() { echo "devnet: $*" >&2; exit 1; }

find_anvil() {
  local a
  for a in "$ROOT"/node_modules/@foundry-rs/anvil-*/bin/anvil; do
    [ -x "$a" ] && { echo "$a"; return; }
  done
  [ -x "$ROOT/node_modules/.bin/anvil" ] && { echo "$ROOT/node_modules/.bin/anvil"; return; }
  die "anvil not found in node_modules: run scripts/deps.sh (npm ci)"
}

running() { [ -f "$DIR/anvil.pid" ] && kill -0 "$(cat "$DIR/anvil.pid")" 2>/dev/null; }

need_tool() {
  [ -x "$TOOL" ] || die "$TOOL missing: build first (cmake --build $BUILD_DIR --target narrator_chain)"
}

fund() {
  local addr=$1 eth=${2:-10}
  need_tool
  "$TOOL" --config "$DIR/chain.ini" --key-file "$DIR/deployer.key" fund --to "$addr" --eth "$eth"
}

up() {
  mkdir -p "$DIR"
  if running; then
    echo "devnet: anvil already running (pid $(cat "$DIR/anvil.pid")), $RPC"
  else
    need_tool
    [ -f "$BIN" ] || die "$BIN missing: build the contract (cmake --build $BUILD_DIR --target nr_contract)"
    local anvil args
    anvil=$(find_anvil)
    args=(--host 127.0.0.1 --port "$PORT" --chain-id "$CHAIN_ID")
    [ -n "${NARRATOR_DEVNET_BLOCK_TIME:-}" ] && args+=(--block-time "$NARRATOR_DEVNET_BLOCK_TIME")
    if "$TOOL" --rpc "$RPC" chain-id >/dev/null 2>&1; then
      die "something already answers on $RPC (not our anvil): set NARRATOR_DEVNET_PORT"
    fi
    setsid "$anvil" "${args[@]}" >"$DIR/anvil.log" 2>&1 </dev/null &
    echo $! >"$DIR/anvil.pid"
    local i
    for i in $(seq 1 100); do
      "$TOOL" --rpc "$RPC" chain-id >/dev/null 2>&1 && break
      running || die "anvil exited; see $DIR/anvil.log"
      sleep 0.2
    done
    "$TOOL" --rpc "$RPC" chain-id >/dev/null 2>&1 || { down; die "anvil did not answer on $RPC within 20 s"; }
    (umask 077; echo "$DEPLOYER_SK" >"$DIR/deployer.key")
    local out contract
    out=$("$TOOL" --rpc "$RPC" --chain-id "$CHAIN_ID" --key-file "$DIR/deployer.key" deploy --bin "$BIN") \
      || { down; die "deploying the registry failed"; }
    echo "$out"
    contract=$(echo "$out" | sed -n 's/^contract=//p')
    cat >"$DIR/chain.ini" <<INI
# Written by scripts/devnet.sh: local anvil devnet.
[Chain]
RpcUrl = $RPC
ChainId = $CHAIN_ID
Contract = $contract
Confirmations = 1
INI
    echo "devnet: anvil pid $(cat "$DIR/anvil.pid") on $RPC, registry $contract, config $DIR/chain.ini"
  fi
  local a
  for a in "$@" ${NARRATOR_DEVNET_FUND:-}; do fund "$a"; done
}

down() {
  if running; then
    local pid
    pid=$(cat "$DIR/anvil.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    echo "devnet: stopped anvil (pid $pid)"
  else
    echo "devnet: not running"
  fi
  rm -f "$DIR/anvil.pid"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  fund) shift; [ $# -ge 1 ] || die "usage: devnet.sh fund ADDR [ETH]"; running || die "not running"; fund "$@" ;;
  status)
    if running; then echo "devnet: running (pid $(cat "$DIR/anvil.pid"))"; else echo "devnet: not running"; fi
    [ -f "$DIR/chain.ini" ] && cat "$DIR/chain.ini"
    ;;
  *) echo "usage: $0 up [ADDR...] | fund ADDR [ETH] | status | down" >&2; exit 2 ;;
esac
