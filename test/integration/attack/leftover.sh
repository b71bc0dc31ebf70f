#!/usr/bin/env bash
# An uncommitted leftover, detected (docs/attacks.md), with n = 5 (f = 2, quorums of 3).
#
# The host cuts the sequencer node 0 off from nodes 1, 2 and 3 (relays on those links) while
# an AE writes v4 of its record: the PREPARE reaches node 4 alone, node 4 stores (v4, d_old)
# stamped with node 0's incarnation, and the write cannot commit (2 of 3 votes): the AE gets
# an error, no acknowledgement. The host then pauses node 4 (SIGSTOP), SIGKILLs node 0, heals
# the links and restarts node 0: the new incarnation joins through nodes 1, 2, 3 without
# node 4's leftover. Node 4 is resumed and the AE writes v4 again, with another digest.
#
# Must hold: the new v4 commits; node 4 replaces the leftover by the later incarnation's value
# and reports it (S6): `narrator_stale_leftovers_total` grows on node 4, with the log line
# "... replaced by a later incarnation (uncommitted leftover)" (the first value of the new
# incarnation to reach node 4 is usually the write-back of v3 that precedes the AE's write,
# so `fork_attempts`, which counts a replacement at the same version, may stay 0); the
# checker finds one digest per version and reads the new v4.
ATTACK_N=5
. "$(dirname "$0")/lib.sh"

edit() { for m in 1 2 3; do start_relay "-r$m" "$m"; done; }
NET_EDIT=edit
net_create
start_loader b 1 b- 16 # other traffic meanwhile (node 1 sequences)

once() { # tag [timeout_ms]
    as_ae 0 "$ATTACK_LOADER" once --prefix r- --tag "$1" --log "$T_DIR/acks-r.log" \
        --timeout-ms "${2:-5000}"
}
for v in 1 2 3; do
    out=$(once "v$v") || fail "update v$v: $out"
done
log "r-0 at v3, committed"

# the AE reads v3 while the network is whole, then waits for the go file to send v4
as_ae 0 "$ATTACK_LOADER" once --prefix r- --tag old --log "$T_DIR/acks-r.log" \
    --timeout-ms 2000 --go "$T_DIR/go" >"$T_DIR/once-old.out" 2>&1 &
OLD_PID=$!
EXTRA_PIDS+=("$OLD_PID")
wait_until 10 "the AE read v3" grep -q "once: read v3" "$T_DIR/once-old.out"
log "cut node 0 off from nodes 1, 2, 3"
for m in 1 2 3; do PX="-r$m" proxy_ctl cut; done
wait_until 10 "node 0 sees one peer" test "$(nmetric 0 narrator_peers_connected)" = 1
touch "$T_DIR/go"
rc=0
wait "$OLD_PID" || rc=$?
[ "$rc" = 1 ] || fail "v4 (old): exit $rc, expected 1 (not acknowledged): $(cat "$T_DIR/once-old.out")"
log "v4 (old) not acknowledged: $(tail -n 1 "$T_DIR/once-old.out")"

log "pause node 4, SIGKILL node 0, heal the links, restart node 0"
kill -STOP "${DPID[4]}"
kill_node 0
for m in 1 2 3; do PX="-r$m" proxy_ctl heal; done
start_node 0
wait_active 0 30
log "node 0 rejoined as $(incarnation 0) without node 4"
kill -CONT "${DPID[4]}"
wait_until 15 "node 0 reconnects to node 4" test "$(nmetric 4 narrator_peers_connected)" = 4

s0=$(nmetric 0 narrator_stale_leftovers_total)
out=$(once new) || fail "v4 (new) after the rejoin: $out"
log "$out"
wait_until 10 "node 4 reports the leftover" test "$(nmetric 4 narrator_stale_leftovers_total)" -ge 1
grep -q "uncommitted leftover" "$NET/node4/narratord.log" ||
    fail "node 4: no 'uncommitted leftover' log line"
log "node 4: stale_leftovers $(nmetric 4 narrator_stale_leftovers_total), fork_attempts" \
    "$(nmetric 4 narrator_fork_attempts_total): $(grep -o 'record of member.*' "$NET/node4/narratord.log" | tail -n 1)"
log "node 0: stale_leftovers ${s0:-?} -> $(nmetric 0 narrator_stale_leftovers_total) (leftovers seen in fetch replies)"

out=$(as_ae 0 "$ATTACK_LOADER" read --record r-0) || fail "read r-0: $out"
[ "$out" = v4 ] || fail "r-0 reads $out, expected v4"
LNODE[r]=0 LPREFIX[r]=r- LRECS[r]=1
check_loaders r
stop_loader b
check_loaders b
log "PASS"
