#!/usr/bin/env bash
# Blockchain-anchored initialisation end to end (docs/chain.md "Initialisation", guarantee S4),
# on a real anvil devnet started by this test (`narrator devnet up`, free loopback port, from
# node_modules) and stopped at the end. Real narratord processes on loopback.
#
#   1. narrator up --chain: four steps, every SE verifies the finalised record, ACTIVE; an
#      update commits and reads back.
#   2. narrator up again with the same system id: refused by the first-initialisation check.
#   3. an SE whose membership file disagrees with the chain (member 1 replaced by another,
#      validly attested identity) refuses to serve: exit 1 and one log line.
#      (A hand-edited key is refused too, by the membership's own attestation check.)
#   4. a chain record that does not contain the SE: refused (not in the on-chain membership).
#   5. a system created on chain but never finalised: refused.
#   6. a wrong chain id: refused at once.
#   7. an unreachable chain endpoint: clear error lines, retries with backoff 500, 1000,
#      2000 ms..., exit 1 after StartTimeout; an endpoint that appears during the retries is
#      used; with Required = no an unreachable chain only warns and the SE serves.
#   8. a non-member SE (identity not in the membership; its host skips the chain check) is
#      refused by the members' channel handshakes and never becomes ACTIVE.
#   9. narrator up without --chain: a private devnet in DIR/devnet, stopped by narrator down.
# Environment (CTest sets it): NARRATOR, NARRATORD, NARRATOR_CHAIN_TOOL.
set -euo pipefail
: "${NARRATOR:?}" "${NARRATORD:?}" "${NARRATOR_CHAIN_TOOL:?}"
export NARRATORD

T=$(mktemp -d /tmp/nr-chaininit.XXXXXX)
NAME=chaininit
log() { echo "[$NAME $(date +%T)] $*"; }
fail() {
    echo "FAIL [$NAME]: $*" >&2
    for f in "$T"/*/node*/narratord.log "$T"/*.log; do
        [ -f "$f" ] && { echo "---- $f" >&2; tail -n 15 "$f" >&2; }
    done
    exit 1
}
cleanup() {
    local rc=$?
    for p in "$T"/*.pid; do [ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null || true; done
    for d in "$T"/net*; do [ -d "$d" ] && "$NARRATOR" down --dir "$d" >/dev/null 2>&1 || true; done
    "$NARRATOR" devnet down --dir "$T/devnet" >/dev/null 2>&1 || true
    if [ "$rc" -eq 0 ] && [ -z "${CHAININIT_KEEP:-}" ]; then rm -rf "$T"; else echo "files kept in $T" >&2; fi
}
trap cleanup EXIT

# A base port with base..base+15 and base+100..base+115 free, below the ephemeral range.
pick_ports() {
    local tries=0 base used lo p clash
    lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    [ "$lo" -gt 12000 ] || lo=32768
    used=$(ss -tanH 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
    while :; do
        base=$((10000 + (RANDOM % ((lo - 10200) / 100)) * 100))
        clash=0
        for p in $(seq "$base" $((base + 15))) $(seq $((base + 100)) $((base + 115))); do
            if grep -qx "$p" <<<"$used"; then clash=1; break; fi
        done
        [ "$clash" = 0 ] && { echo "$base"; return; }
        tries=$((tries + 1))
        [ "$tries" -lt 50 ] || return 1
    done
}

# Run narratord on a config that must be refused before serving: exit 1, and the log line.
expect_refused() { # config pattern what
    local rc=0
    timeout 60 "$NARRATORD" --config "$1" >"$T/refused.log" 2>&1 || rc=$?
    [ "$rc" -eq 1 ] || { cat "$T/refused.log" >&2; fail "$3: narratord exit $rc, expected 1"; }
    grep -q "$2" "$T/refused.log" || { cat "$T/refused.log" >&2; fail "$3: no log line /$2/"; }
    grep -q "listening for peers\|is ACTIVE" "$T/refused.log" && fail "$3: it served"
    log "refused ($3): $(grep -m1 "start-up failed" "$T/refused.log" | sed 's/^.*start-up failed: //')"
}

# A copy of node 0's config of net1 with some keys replaced (sed expressions).
variant() { # out sed-expr...
    local out=$1
    shift
    local args=()
    for e in "$@"; do args+=(-e "$e"); done
    sed "${args[@]}" "$T/net1/node0/se.ini" >"$out"
}

log "devnet up (anvil from node_modules on a free port)"
"$NARRATOR" devnet up --dir "$T/devnet" --port 0 >"$T/devnet.out" 2>&1 || { cat "$T/devnet.out"; fail "devnet up"; }
"$NARRATOR" devnet status --dir "$T/devnet" | grep running >/dev/null || fail "devnet status"
CHAIN="$T/devnet/chain.ini"
C=("$NARRATOR_CHAIN_TOOL" --config "$CHAIN")
SYS="chaininit-test-$$-$RANDOM"

# ---- 1: full initialisation through the chain ----
BASE=$(pick_ports) || fail "no free ports"
log "1. narrator up -n 3 --chain (system id text '$SYS')"
"$NARRATOR" up -n 3 --dir "$T/net1" --base-port "$BASE" --chain "$CHAIN" --system-id "$SYS" \
    --timeout-ms 60000 >"$T/up1.out" 2>&1 || { cat "$T/up1.out"; fail "narrator up with the chain"; }
for s in "step 3, first-initialisation check" "step 2, SE account" "step 4, createSystem" \
    "registerMember(member 2, from its own key)" "finalize tx=" "network up: 3 state enclaves ACTIVE"; do
    grep -qF "$s" "$T/up1.out" || { cat "$T/up1.out"; fail "narrator up output lacks '$s'"; }
done
for i in 0 1 2; do
    grep -q "^\[Chain\]" "$T/net1/node$i/se.ini" || fail "node $i config has no [Chain]"
    grep -q "is finalised on chain with this membership (n=3 f=1); this SE is member $i" \
        "$T/net1/node$i/narratord.log" || fail "node $i did not verify the chain record"
done
SYSHEX=$(cat "$T/net1/system_id")
"${C[@]}" show --system "0x$SYSHEX" --verify | grep "verified=1" >/dev/null || fail "narrator-chain show --verify"
D=$(printf '%064x' 4660)
"$NARRATOR" update --dir "$T/net1" --node 1 --name acct --version 1 --digest "$D" | grep committed >/dev/null \
    || fail "update did not commit"
"$NARRATOR" read --dir "$T/net1" --node 1 --name acct | grep "^1 $D" >/dev/null || fail "read back"
log "1. ok: all ACTIVE after the on-chain check; update committed"

# ---- 2: first-initialisation check ----
BASE2=$(pick_ports) || fail "no free ports"
rc=0
"$NARRATOR" up -n 3 --dir "$T/net2" --base-port "$BASE2" --chain "$CHAIN" --system-id "$SYS" \
    >"$T/up2.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "second initialisation of one system id accepted"
grep -q "first-initialisation check: system 0x$SYSHEX is already initialised on chain" "$T/up2.out" \
    || { cat "$T/up2.out"; fail "no first-initialisation message"; }
[ ! -e "$T/net2/node0" ] || fail "second up created members before the check"
# The contract itself refuses a second createSystem (what a racing initialiser would hit).
MEAS=$(awk '$1 == "measurement" {print $2; exit}' "$T/net1/membership.txt")
rc=0
"${C[@]}" --key-file "$T/devnet/deployer.key" create --system "0x$SYSHEX" --n 3 --f 1 \
    --measurement "0x$MEAS" >"$T/create2.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q "system already exists" "$T/create2.out" || { cat "$T/create2.out"; fail "createSystem twice"; }
log "2. ok: second initialisation refused (exit $rc from the contract, and by narrator up)"

# The refusal tests run narratord on net1's node-0 data while net1 is stopped.
"$NARRATOR" down --dir "$T/net1" >/dev/null

# ---- 3: membership file differs from the chain ----
# Member 1 replaced by another identity, validly attested on another platform of the same
# root: the file verifies on its own, only the chain shows it is not the recorded one.
mkdir -p "$T/alt"
"$NARRATOR" keygen --platform "$T/net1/node1/platform" --out "$T/alt/identity1" >/dev/null
"$NARRATOR" genesis --system-id "$SYSHEX" --root "$T/net1/root" --out "$T/alt/membership.txt" \
    "$T/net1/node0/data/identity" "$T/alt/identity1" "$T/net1/node2/data/identity" >/dev/null
variant "$T/alt.ini" "s|^Membership = .*|Membership = $T/alt/membership.txt|"
expect_refused "$T/alt.ini" "membership file differs from the chain: member 1 .* another identity key" \
    "membership file disagrees with the chain"
# A hand-edited key (member 1's identity) no longer verifies at all.
awk '$1 == "member" && $2 == "1" { $3 = "00" substr($3, 3) } { print }' "$T/net1/membership.txt" \
    >"$T/edited.txt"
variant "$T/edited.ini" "s|^Membership = .*|Membership = $T/edited.txt|"
expect_refused "$T/edited.ini" "start-up failed: membership" "hand-edited member key"
# Unchanged file: it passes the chain check (control).
timeout 60 "$NARRATORD" -t -c "$T/net1/node0/se.ini" >/dev/null || fail "narratord -t on a [Chain] config"

# ---- 4: the chain record does not contain this SE ----
BASE3=$(pick_ports) || fail "no free ports"
SYS2="$SYS-other"
"$NARRATOR" up -n 1 --dir "$T/net3" --base-port "$BASE3" --chain "$CHAIN" --system-id "$SYS2" \
    --no-wait >"$T/up3.out" 2>&1 || { cat "$T/up3.out"; fail "narrator up (other system)"; }
"$NARRATOR" down --dir "$T/net3" >/dev/null
SYS2HEX=$(cat "$T/net3/system_id")
"$NARRATOR" genesis --system-id "$SYS2HEX" --root "$T/net1/root" --out "$T/other-membership.txt" \
    "$T/net1/node0/data/identity" "$T/net1/node1/data/identity" "$T/net1/node2/data/identity" >/dev/null
variant "$T/other.ini" "s|^Membership = .*|Membership = $T/other-membership.txt|"
expect_refused "$T/other.ini" "is not in the finalised on-chain membership" "SE not in the chain record"

# ---- 5: created on chain, never finalised ----
SYS3HEX=$(printf '%s' "$SYS-unfinalised" | sha256sum | cut -c1-64)
"${C[@]}" --key-file "$T/devnet/deployer.key" create --system "0x$SYS3HEX" --n 3 --f 1 \
    --measurement "0x$MEAS" >/dev/null || fail "create an unfinalised system"
"$NARRATOR" genesis --system-id "$SYS3HEX" --root "$T/net1/root" --out "$T/unfin-membership.txt" \
    "$T/net1/node0/data/identity" "$T/net1/node1/data/identity" "$T/net1/node2/data/identity" >/dev/null
variant "$T/unfin.ini" "s|^Membership = .*|Membership = $T/unfin-membership.txt|"
expect_refused "$T/unfin.ini" "system is not finalized" "record not finalised"
# ... and a system id that is not on chain at all
"$NARRATOR" genesis --random --root "$T/net1/root" --out "$T/absent-membership.txt" \
    "$T/net1/node0/data/identity" "$T/net1/node1/data/identity" "$T/net1/node2/data/identity" >/dev/null
variant "$T/absent.ini" "s|^Membership = .*|Membership = $T/absent-membership.txt|"
expect_refused "$T/absent.ini" "system is not on chain" "record missing"

# ---- 6: wrong chain id ----
variant "$T/chainid.ini" "s|^ChainId = .*|ChainId = 1|"
expect_refused "$T/chainid.ini" "unexpected chain id" "wrong chain id"

# ---- 7: unreachable endpoint ----
DEAD=$(pick_ports) || fail "no free ports"
variant "$T/dead.ini" "s|^RpcUrl = .*|RpcUrl = http://127.0.0.1:$DEAD|" "s|^StartTimeout = .*|StartTimeout = 3|"
expect_refused "$T/dead.ini" "unreachable, giving up after StartTimeout (3000 ms" "unreachable chain"
grep -q "ERROR chain: http://127.0.0.1:$DEAD: endpoint unreachable" "$T/refused.log" || fail "no clear error line"
grep -q "retrying in 500 ms" "$T/refused.log" && grep -q "retrying in 1000 ms" "$T/refused.log" \
    || fail "no exponential backoff (500 ms, 1000 ms ...)"
log "7. ok: $(grep -c 'retrying in' "$T/refused.log") retries before giving up"
# The endpoint appears while narratord retries: it carries on and serves.
ANVIL_PORT=$(sed -n 's|^RpcUrl = http://127.0.0.1:||p' "$CHAIN")
variant "$T/late.ini" "s|^RpcUrl = .*|RpcUrl = http://127.0.0.1:$DEAD|" "s|^StartTimeout = .*|StartTimeout = 30|"
"$NARRATORD" --config "$T/late.ini" >"$T/late.log" 2>&1 &
echo $! >"$T/late.pid"
for _ in $(seq 1 100); do grep -q "retrying in 1000 ms" "$T/late.log" && break; sleep 0.1; done
grep -q "retrying in 1000 ms" "$T/late.log" || fail "late chain: no retries"
python3 "$(dirname "$0")/fwd.py" "$DEAD" "$ANVIL_PORT" &
echo $! >"$T/fwd.pid"
for _ in $(seq 1 150); do grep -q "listening for peers" "$T/late.log" && break; sleep 0.1; done
grep -q "is finalised on chain with this membership" "$T/late.log" && grep -q "listening for peers" "$T/late.log" \
    || fail "late chain: did not continue once the chain answered"
kill "$(cat "$T/late.pid")"; wait "$(cat "$T/late.pid")" 2>/dev/null || true; rm -f "$T/late.pid"
kill "$(cat "$T/fwd.pid")"; wait "$(cat "$T/fwd.pid")" 2>/dev/null || true; rm -f "$T/fwd.pid"
log "7. ok: a chain that comes up during the retries is used ($(grep -c 'retrying in' "$T/late.log") retries)"
variant "$T/dead-optional.ini" "s|^RpcUrl = .*|RpcUrl = http://127.0.0.1:$DEAD|" \
    "s|^StartTimeout = .*|StartTimeout = 1|" "s|^Required = .*|Required = no|"
"$NARRATORD" --config "$T/dead-optional.ini" >"$T/optional.log" 2>&1 &
echo $! >"$T/optional.pid"
for _ in $(seq 1 100); do grep -q "listening for peers" "$T/optional.log" && break; sleep 0.1; done
grep -q "Required = no: serving from the membership file WITHOUT the on-chain check" "$T/optional.log" \
    || fail "Required = no: no warning"
grep -q "listening for peers" "$T/optional.log" || fail "Required = no: did not start"
kill "$(cat "$T/optional.pid")"; wait "$(cat "$T/optional.pid")" 2>/dev/null || true; rm -f "$T/optional.pid"
log "7. ok: Required = no serves after StartTimeout with a warning"

# ---- 8: a non-member SE is refused by the members' channels ----
"$NARRATOR" up --dir "$T/net1" --fresh --base-port "$BASE" -n 3 --chain "$CHAIN" \
    --system-id "$SYS-second" --timeout-ms 60000 >"$T/up4.out" 2>&1 || { cat "$T/up4.out"; fail "narrator up (second network)"; }
SYS4HEX=$(cat "$T/net1/system_id")
mkdir -p "$T/outsider/data"
# Its own identity (in member slot 0 of its own membership file), on member 0's platform: a
# valid enclave of the right code, just not a member of the recorded system.
OUTPLAT="$T/net1/node0/platform"
"$NARRATOR" keygen --platform "$OUTPLAT" --out "$T/outsider/data/identity" >/dev/null
"$NARRATOR" genesis --system-id "$SYS4HEX" --root "$T/net1/root" --out "$T/outsider/membership.txt" \
    "$T/outsider/data/identity" "$T/net1/node1/data/identity" "$T/net1/node2/data/identity" >/dev/null
sed -e "s|^Listen = .*|Listen = 127.0.0.1:$((BASE + 9))|" -e "s|^Socket = .*|Socket = $T/outsider/se.sock|" \
    -e "s|^DataDir = .*|DataDir = $T/outsider/data|" -e "s|^Platform = .*|Platform = $OUTPLAT|" \
    -e "s|^Membership = .*|Membership = $T/outsider/membership.txt|" -e "s|^Metrics = .*|Metrics = 127.0.0.1:$((BASE + 109))|" \
    -e '/^\[Chain\]/,$d' "$T/net1/node0/se.ini" >"$T/outsider.ini"
"$NARRATORD" --config "$T/outsider.ini" >"$T/outsider.log" 2>&1 &
echo $! >"$T/outsider.pid"
for _ in $(seq 1 60); do
    grep -q "peer handshake with .* failed: peer is not a member" "$T/net1/node1/narratord.log" && break
    sleep 0.1
done
grep -q "peer handshake with .* failed: peer is not a member" "$T/net1/node1/narratord.log" \
    || fail "member 1 did not refuse the non-member SE"
sleep 1
grep -q "is ACTIVE" "$T/outsider.log" && fail "the non-member SE became ACTIVE"
kill "$(cat "$T/outsider.pid")"; wait "$(cat "$T/outsider.pid")" 2>/dev/null || true; rm -f "$T/outsider.pid"
"$NARRATOR" update --dir "$T/net1" --node 0 --name acct --version 1 --digest "$D" | grep committed >/dev/null \
    || fail "members stopped working"
log "8. ok: the non-member SE was refused (not a member), members still commit"
"$NARRATOR" down --dir "$T/net1" >/dev/null

# ---- 9: default: a private devnet per network ----
BASE5=$(pick_ports) || fail "no free ports"
"$NARRATOR" up -n 1 --dir "$T/net5" --base-port "$BASE5" --timeout-ms 60000 >"$T/up5.out" 2>&1 \
    || { cat "$T/up5.out"; fail "narrator up with a private devnet"; }
grep -q "starting a private anvil devnet in $T/net5/devnet" "$T/up5.out" || fail "no private devnet"
"$NARRATOR" devnet status --dir "$T/net5/devnet" | grep running >/dev/null || fail "private devnet not running"
"$NARRATOR" down --dir "$T/net5" | grep "stopped the network's chain" >/dev/null || fail "down kept the chain"
! "$NARRATOR" devnet status --dir "$T/net5/devnet" >/dev/null 2>&1 || fail "private devnet still running"
BASE6=$(pick_ports) || fail "no free ports"
"$NARRATOR" up -n 1 --dir "$T/net6" --base-port "$BASE6" --no-chain --timeout-ms 60000 >"$T/up6.out" 2>&1 \
    || { cat "$T/up6.out"; fail "narrator up --no-chain"; }
grep -q "^\[Chain\]" "$T/net6/node0/se.ini" && fail "--no-chain config has [Chain]"
[ ! -e "$T/net6/devnet" ] || fail "--no-chain started a devnet"
"$NARRATOR" down --dir "$T/net6" >/dev/null
log "9. ok: private devnet started and stopped with the network; --no-chain has none"
log "PASS"
