#!/usr/bin/env bash
# e2e pin_rollback: the PIN example against a real network. Two wrong guesses, keep a copy of
# the sealed state, third wrong guess locks it, put the copy back: the example must say
# "ROLLBACK DETECTED" and refuse (exit 3), and the lock must hold.
. "$(dirname "$0")/lib.sh"
: "${PIN:?PIN (path of the pin example) not set}"

net_up 3
ae_env 0
export PIN_STATE="$E2E_DIR/pin-state"

"$PIN" init 2468 || fail "pin init"
out=$("$PIN" guess 1111) && fail "wrong guess accepted"
grep -q "2 attempts left" <<<"$out" || fail "first wrong guess: '$out'"
"$PIN" guess 2222 >/dev/null && fail "wrong guess accepted"

mkdir "$E2E_DIR/copy"
cp "$PIN_STATE".0 "$PIN_STATE".1 "$E2E_DIR/copy/"

set +e
out=$("$PIN" guess 3333); rc=$?
set -e
[ $rc = 4 ] && grep -q LOCKED <<<"$out" || fail "third wrong guess: rc $rc '$out'"
set +e
out=$("$PIN" guess 2468); rc=$?
set -e
[ $rc = 5 ] || fail "locked PIN accepted a guess: rc $rc '$out'"

log "host puts back the sealed state from before the third guess"
cp "$E2E_DIR/copy/"* "$E2E_DIR/"
set +e
err=$("$PIN" guess 2468 2>&1); rc=$?
set -e
echo "$err"
[ $rc = 3 ] || fail "rolled-back state was not refused (rc $rc)"
grep -q "ROLLBACK DETECTED" <<<"$err" || fail "no ROLLBACK DETECTED message"
set +e
"$PIN" status >/dev/null 2>&1; rc=$?
set -e
[ $rc = 3 ] || fail "status on rolled-back state: rc $rc, want 3"

log "deleting the sealed state is detected too"
rm -f "$PIN_STATE".0 "$PIN_STATE".1
set +e
err=$("$PIN" guess 2468 2>&1); rc=$?
set -e
[ $rc = 3 ] && grep -q "ROLLBACK DETECTED" <<<"$err" || fail "missing state: rc $rc '$err'"

log "a fresh, honest run: correct guess resets the counter"
export PIN_STATE="$E2E_DIR/pin2"
ae_env 1
"$PIN" init 1357 >/dev/null || fail "init on node 1"
"$PIN" guess 0000 >/dev/null && fail "wrong guess accepted"
"$PIN" guess 1357 | grep -q correct || fail "correct guess refused"
"$PIN" status | grep -q "wrong attempts 0/3" || fail "counter not reset"

log "no quorum (nodes 0 and 2 paused): a guess is never answered"
kill -STOP "$(node_pid 0)" "$(node_pid 2)"
set +e
out=$(NARRATOR_TIMEOUT_MS=1500 "$PIN" guess 1357 2>&1); rc=$?
set -e
kill -CONT "$(node_pid 0)" "$(node_pid 2)"
[ $rc = 2 ] || fail "guess without quorum: rc $rc '$out', want 2"
grep -q correct <<<"$out" && fail "the answer was revealed without a commit"
# The guess may still commit once the peers are back (it was sent): either way the state
# restores cleanly and the PIN keeps working.
"$PIN" status || fail "status after the outage"
"$PIN" guess 1357 | grep -q correct || fail "correct guess after the outage"
log "PASS"
