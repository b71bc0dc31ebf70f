#!/usr/bin/env bash
# Attack 3 (docs/attacks.md): the host attacks an application enclave (AE), not the SEs.
#
# (a) Rollback of the AE's sealed files (libnarrator nr_seal_state: <path>.0 / <path>.1):
#     the host keeps a copy of the sealed state at v3, lets the AE reach v5, puts the copy
#     back and restarts the AE. nr_restore must answer NR_EROLLBACK (and the AE's next run
#     refuses to update); deleting the files is a rollback too. Positive controls: the real
#     files restore FRESH; a sealed-but-uncommitted update is DROPPED_UNCOMMITTED; a forked
#     instance's sealed state (same version, other digest) is NR_EFORK.
# (b) An AE of another measurement on the same platform opens the same record name: it gets
#     its own record (keys are BLAKE2b(measurement || name)), ours is untouched.
# (c) AE clones: two AE processes of the same enclave on the same platform write the same
#     records concurrently (each with its own digests). The SE (the sequencer of their
#     records) serialises them: one of two racing writes of a version gets NR_ECONFLICT, and
#     no version is ever acknowledged with two digests (checked across both loaders' logs).
# A background load on other records runs throughout; zero S1/S2 violations at the end.
. "$(dirname "$0")/lib.sh"

net_create
start_loader a 0 a- 32
wait_acks a 300 30 "network up"

PIN="$T_DIR/pin-state"
ae() { as_ae 0 "$ATTACK_LOADER" "$@" --state "$PIN" --record pin; }
expect_restore() { # expected-output what
    local out rc=0
    out=$(ae ae-restore) || rc=$?
    log "restore after $2: $out"
    case "$out" in "restore: $1"*) ;; *) fail "$2: restore said '$out', expected '$1'" ;; esac
}

log "(a) AE rollback: the AE commits v1..v3, the host copies its sealed files"
ae ae-update --count 3 >/dev/null || fail "ae-update 1..3"
mkdir -p "$T_DIR/stolen" "$T_DIR/real"
cp -p "$PIN".0 "$PIN".1 "$T_DIR/stolen/"
ae ae-update --count 2 >/dev/null || fail "ae-update 4..5"
expect_restore "FRESH v5" "two more updates (control: the real files)"

cp -p "$PIN".0 "$PIN".1 "$T_DIR/real/"
cp -p "$T_DIR/stolen/"* "$T_DIR/"
expect_restore "NR_EROLLBACK" "the host put back the v3 copy"
out=$(ae ae-update --count 1) && fail "the AE updated on rolled-back state: $out"
log "an update on rolled-back state is refused: $out"
ver=$(as_ae 0 "$ATTACK_LOADER" read --record pin) || fail "read pin"
[ "$ver" = v5 ] || fail "the network record of pin is $ver, expected v5"

rm -f "$PIN".0 "$PIN".1
expect_restore "NR_EROLLBACK" "the host deleted the sealed files"
cp -p "$T_DIR/stolen/pin-state.1" "$PIN".1
expect_restore "NR_EROLLBACK" "the host left only the old v3 file"

cp -p "$T_DIR/real/"* "$T_DIR/"
expect_restore "FRESH v5" "the real files are back"
ae ae-seal --tag crash >/dev/null || fail "ae-seal"
expect_restore "DROPPED_UNCOMMITTED v5" "a sealed but uncommitted v6"

log "a forked AE instance seals v6 with its own state; the real one commits v6"
cp -p "$PIN".0 "$PIN".1 "$T_DIR/real/" # v6 (uncommitted), v5
ae ae-restore >/dev/null || fail "restore before the fork"
ae ae-seal --tag forked >/dev/null || fail "ae-seal forked"
mkdir -p "$T_DIR/forked"
cp -p "$PIN".0 "$PIN".1 "$T_DIR/forked/"
ae ae-update --count 1 >/dev/null || fail "ae-update v6"
ver=$(as_ae 0 "$ATTACK_LOADER" read --record pin) || fail "read pin"
[ "$ver" = v6 ] || fail "pin is $ver after the update, expected v6"
cp -p "$PIN".0 "$PIN".1 "$T_DIR/real/"
cp -p "$T_DIR/forked/"* "$T_DIR/"
expect_restore "NR_EFORK" "the host installed the forked instance's v6"
cp -p "$T_DIR/real/"* "$T_DIR/"

log "(b) another enclave (other measurement) on the same platform opens the same record name"
out=$(as_ae 0 "$ATTACK_LOADER" read --record pin --identity evil-ae/1) || fail "evil read: $out"
[ "$out" = v0 ] || fail "an AE of another measurement sees record 'pin' at $out: not isolated"
out=$(as_ae 0 "$ATTACK_LOADER" once --record pin --tag evil --identity evil-ae/1 \
    --log "$T_DIR/evil.log") || fail "evil write: $out"
ver=$(as_ae 0 "$ATTACK_LOADER" read --record pin) || fail "read pin"
[ "$ver" = v6 ] || fail "the real AE's record moved to $ver after another enclave wrote 'pin'"
expect_restore "FRESH v6" "another enclave wrote its own 'pin'"
log "records are per measurement: the other enclave's write ($out) left ours at v6"

log "(c) AE clones: two AE processes write the same records concurrently"
start_loader p 0 c- 4 clone-p
start_loader q 0 c- 4 clone-q
wait_acks p 400 30 "AE clone p"
wait_acks q 400 30 "AE clone q"
stop_loader p
stop_loader q
conflicts=$(sed -n 's/.* conflicts \([0-9]*\)$/\1/p' "$T_DIR/loader-p.out" "$T_DIR/loader-q.out" |
    awk '{ s += $1 } END { print s + 0 }')
log "racing writes refused with NR_ECONFLICT: $conflicts"
[ "$conflicts" -gt 0 ] || fail "two AE instances on 4 records never conflicted: the race was not exercised"
check_loaders p q

wait_acks a 100 30 "background load"
stop_loader a
check_loaders a
log "PASS"
