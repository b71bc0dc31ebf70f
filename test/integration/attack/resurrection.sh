#!/usr/bin/env bash
# Attack 10 (docs/attacks.md): resurrection. The host starts BLANK instances of every member
# from their identity files alone (no store, no hint) on other ports, reaching only each
# other, hoping that they run a second genesis beside the live network; then a further
# blank instance of member 0 that reaches one blank instance and one real member, and the PIN
# example beside it with sealed state copied from before its lock.
#
# 1. n = 3, the PIN example beside member 0: `pin init`; the host copies the sealed v1 files.
# 2. Member 2 is cut off (SIGSTOP): three wrong guesses commit v2..v4 through members 0 and 1:
#    LOCKED.
# 3. Blank instances A0, B1, C2 start from identity files only, reaching only each other.
# 4. A blank instance D0 of member 0 dials B1 and the real member 2 (resumed).
# 5. The PIN example is given the copied v1 files, beside A0 and beside D0.
#
# Expected, anchored (ATTACK_CHAIN=1: the network is initialised on a private anvil chain
# and every SE verifies the genesis record on chain): A0, B1, C2 and D0 find the genesis on
# chain, are not named in it, and never go ACTIVE: no AE beside them is served (NR_ENOTREADY),
# whether it brings the stale files or no files at all (the empty-state variant).
# Expected, unanchored (the default: --no-chain, development only): A0, B1, C2 may form a
# network of their own (the documented weakness); the PIN example beside it refuses the v1
# state with GENESIS MISMATCH (exit 3) instead of running three more guesses; members of the
# two networks drop each other's messages (narrator_msgs_dropped_genesis_total, log line);
# every blank instance logs UNANCHORED. The empty-state variant (the AE's files deleted) is
# not prevented without a chain: the test shows it, as the reason --no-chain is for
# development only.
# In both: the real network still holds v4 (LOCKED) and keeps working.
. "$(dirname "$0")/lib.sh"
: "${PIN:?PIN (path of the pin example) not set}"

if [ "${ATTACK_CHAIN:-0}" = 1 ]; then
    # a private anvil devnet for this test (the network's SEs verify the genesis on it)
    "$NARRATOR" devnet up --dir "$T_DIR/devnet" --port 0 >"$T_DIR/devnet.out" 2>&1 ||
        { cat "$T_DIR/devnet.out"; fail "devnet up"; }
    trap '"$NARRATOR" devnet down --dir "$T_DIR/devnet" >/dev/null 2>&1 || true; cleanup' EXIT
    # The network as `narrator up` starts it (its daemons are not our children): a stop and a
    # restart of every member from empty stores, as net_create does, would be a total
    # failure on an anchored network (the genesis is on chain; no member holds state).
    BASE_PORT=$(pick_ports)
    "$NARRATOR" up -n "$N" --dir "$NET" --base-port "$BASE_PORT" --timeout-ms 60000 \
        --chain "$T_DIR/devnet/chain.ini" >"$T_DIR/up.out" 2>&1 || { cat "$T_DIR/up.out"; fail "narrator up"; }
    trap '"$NARRATOR" down --dir "$NET" >/dev/null 2>&1 || true; "$NARRATOR" devnet down --dir "$T_DIR/devnet" >/dev/null 2>&1 || true; cleanup' EXIT
    for i in $(seq 0 $((N - 1))); do DPID[$i]=$(cat "$NET/node$i/narratord.pid"); wait_active "$i" 30; done
    log "anchored network of $N SEs ACTIVE on ports $BASE_PORT.. (genesis on the test's devnet)"
else
    net_create
fi

export PIN_STATE="$T_DIR/pin-state"
pin_at() { # node [socket] -- runs the PIN example as an AE beside member <node>
    local node=$1 sock=${2:-}
    shift 2
    AE_SOCKET=$sock as_ae "$node" env NARRATOR_TIMEOUT_MS=3000 "$PIN" "$@"
}

pin_at 0 "" init 2468 >/dev/null || fail "pin init"
mkdir "$T_DIR/copy-v1"
cp "$PIN_STATE".* "$T_DIR/copy-v1/"
log "PIN initialised (v1); the host keeps a copy of the sealed files"

kill -STOP "${DPID[2]}"
log "member 2 cut off (SIGSTOP)"
for g in 1111 2222 3333; do
    set +e
    out=$(pin_at 0 "" guess "$g" 2>&1)
    set -e
    grep -q "wrong\|LOCKED" <<<"$out" || fail "guess $g: '$out'"
done
set +e
out=$(pin_at 0 "" guess 2468 2>&1); rc=$?
set -e
[ "$rc" = 5 ] || fail "the PIN is not locked after three wrong guesses: rc $rc '$out'"
log "three wrong guesses committed through members 0 and 1: LOCKED (v4)"

# blank_config I OFFSET OUT PEER_OFFSET...: member I's config with its own ports and an empty
# data directory holding only the identity files; [Peer] k's Endpoint goes to BASE+PEER_OFFSET[k]
# (an offset of 0 keeps the real member's port).
blank_config() {
    local i=$1 off=$2 out=$3
    shift 3
    local data="$T_DIR/blank-$(basename "$out" .ini)"
    mkdir -p "$data"
    cp "$NET/node$i/data/identity" "$NET/node$i/data/identity.platform" "$data/"
    local peers="" k=0 p
    for p in "$@"; do peers="$peers $k:$p"; k=$((k + 1)); done
    awk -v listen="127.0.0.1:$((BASE_PORT + off))" -v sock="$T_DIR/$(basename "$out" .ini).sock" \
        -v metrics="127.0.0.1:$((BASE_PORT + 100 + off))" -v data="$data" -v base="$BASE_PORT" \
        -v peers="$peers" '
        BEGIN { n = split(peers, a, " "); for (x = 1; x <= n; x++) { split(a[x], kv, ":"); po[kv[1]] = kv[2] } }
        /^\[/ { sect = $0 }
        sect == "[Peer]" && /^Index *=/ { idx = $3 }
        sect == "[Peer]" && /^Endpoint *=/ && po[idx] != 0 { print "Endpoint = 127.0.0.1:" (base + po[idx]); next }
        /^Listen *=/ { print "Listen = " listen; next }
        /^Socket *=/ { print "Socket = " sock; next }
        /^Metrics *=/ { print "Metrics = " metrics; next }
        /^DataDir *=/ { print "DataDir = " data; next }
        { print }' "$NET/node$i/se.ini" >"$out"
    "$NARRATORD" --check -c "$out" >/dev/null || fail "blank config $out rejected"
}

# A0, B1, C2 on offsets 10, 11, 12, reaching only each other; D0 on 13 dials B1 and member 2.
blank_config 0 10 "$T_DIR/a0.ini" 10 11 12
blank_config 1 11 "$T_DIR/b1.ini" 10 11 12
blank_config 2 12 "$T_DIR/c2.ini" 10 11 12
blank_config 0 13 "$T_DIR/d0.ini" 13 11 0
for b in a0 b1 c2; do start_daemon "$b" "$T_DIR/$b.ini" "$T_DIR/$b.log"; done
log "blank instances A0, B1, C2 started from identity files alone, reaching only each other"

state_of() { metric $((BASE_PORT + 100 + $1)) narrator_se_state; } # offset -> 1/2/3
copy_back() { rm -f "$PIN_STATE".*; cp "$T_DIR/copy-v1/"* "$T_DIR/"; }

if [ "${ATTACK_CHAIN:-0}" = 1 ]; then
    sleep 3
    for off in 10 11 12; do
        [ "$(state_of "$off")" != 2 ] || fail "blank instance on offset $off went ACTIVE on an anchored network"
    done
    grep -q "anchor: genesis .* recorded on chain" "$T_DIR/a0.log" ||
        fail "A0 did not find the genesis on chain"
    log "anchored: no blank instance went ACTIVE; A0: $(grep -o 'anchor: genesis .* recorded on chain' "$T_DIR/a0.log" | head -n 1)"
    copy_back
    set +e
    out=$(pin_at 0 "$T_DIR/a0.sock" guess 2468 2>&1); rc=$?
    set -e
    [ "$rc" = 2 ] || fail "PIN with the stale files beside A0: rc $rc '$out' (expected: not served)"
    rm -f "$PIN_STATE".*
    set +e
    out=$(pin_at 0 "$T_DIR/a0.sock" init 1111 2>&1); rc=$?
    set -e
    [ "$rc" = 2 ] || fail "empty-state variant beside A0: rc $rc '$out' (expected: not served)"
    log "anchored: the PIN example is not served beside A0, with the stale files or with none"
else
    a0_active() { [ "$(state_of 10)" = 2 ]; }
    wait_until 20 "A0 ACTIVE (unanchored: a blank-clone network is possible)" a0_active
    grep -q "UNANCHORED" "$T_DIR/a0.log" || fail "A0 does not say it is unanchored"
    copy_back
    set +e
    out=$(pin_at 0 "$T_DIR/a0.sock" guess 2468 2>&1); rc=$?
    set -e
    [ "$rc" = 3 ] && grep -q "GENESIS MISMATCH" <<<"$out" ||
        fail "the PIN example ran on stale state of the real network beside A0: rc $rc '$out'"
    log "unanchored: beside the blank network the stale state is refused: $(head -n 1 <<<"$out")"
    rm -f "$PIN_STATE".*
    set +e
    out=$(pin_at 0 "$T_DIR/a0.sock" init 1111 2>&1); rc=$?
    set -e
    [ "$rc" = 0 ] || fail "empty-state variant beside A0: rc $rc '$out'"
    log "unanchored, empty-state variant: an AE without sealed files starts from nothing beside" \
        "the blank network (not preventable without a chain: --no-chain is for development only)"
    # An instance of the real network (a copy of member 0's data directory: its sealed hint
    # names the real genesis) dials B1 and C2: they must drop its messages, count them and
    # say so, before learning anything from them.
    blank_config 0 14 "$T_DIR/e0.ini" 14 11 12
    rm -rf "$T_DIR/blank-e0"
    cp -a "$NET/node0/data" "$T_DIR/blank-e0"
    start_daemon e0 "$T_DIR/e0.ini" "$T_DIR/e0.log"
    dropped_by_blank() {
        local d1 d2
        d1=$(metric $((BASE_PORT + 111)) narrator_msgs_dropped_genesis_total)
        d2=$(metric $((BASE_PORT + 112)) narrator_msgs_dropped_genesis_total)
        [ $((${d1:-0} + ${d2:-0})) -gt 0 ]
    }
    wait_until 10 "B1 or C2 drops messages of the real network's instance" dropped_by_blank
    grep -qh "of another network" "$T_DIR/b1.log" "$T_DIR/c2.log" ||
        fail "no log line for messages of another network"
    log "unanchored: the blank network drops and counts the messages of the real network's" \
        "instance ($(grep -h -o 'dropped [0-9]* message(s) from an instance of member 0 of another network' "$T_DIR/b1.log" "$T_DIR/c2.log" | tail -n 1))"
    kill -KILL "${DPID[e0]}"; wait "${DPID[e0]}" 2>/dev/null || true; DPID[e0]=
fi

# The real network still holds the lock: the v1 files are refused (ROLLBACK DETECTED).
kill -CONT "${DPID[2]}"
copy_back
set +e
out=$(pin_at 0 "" guess 2468 2>&1); rc=$?
set -e
[ "$rc" = 3 ] || fail "the real network did not refuse the stale v1 files: rc $rc '$out'"
log "the real network still refuses the v1 files: $(head -n 1 <<<"$out")"

# D0: a blank instance of member 0 that dials B1 and member 2. It never joins (a join quorum
# needs f+1 ACCEPT replies of one genesis), and its AEs are not served. Through D0 the host can
# also make real members learn of its blank instances' incarnations, so that they count as
# superseded and halt: the host's power to restart any member, a matter of availability, not
# of safety (nothing stale is ever served).
start_daemon d0 "$T_DIR/d0.ini" "$T_DIR/d0.log"
log "blank D0 dials B1 and member 2"
sleep 4
[ "$(state_of 13)" != 2 ] || fail "D0 went ACTIVE (it reaches one real member and one blank one)"
copy_back
set +e
out=$(pin_at 0 "$T_DIR/d0.sock" guess 2468 2>&1); rc=$?
set -e
[ "$rc" = 2 ] || [ "$rc" = 3 ] || fail "beside D0 the stale state was not refused: rc $rc '$out'"
log "beside D0 the stale state is refused (rc $rc: $(head -n 1 <<<"$out"))"
states=""
for i in 0 1 2; do states="$states member $i: $(nmetric "$i" narrator_se_state || true)"; done
log "real members after the attack (2 ACTIVE, 3 halted, empty: exited):$states"
rm -f "$PIN_STATE".*
log "PASS"
