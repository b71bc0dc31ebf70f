#!/usr/bin/env bash
# e2e kill: SIGKILL state enclaves under load (AEs beside node 0, sequential updates on many
# records). Checks S1 with real processes:
#   - after SIGKILL of one SE no acknowledged update is lost and updates continue with 2 of 3;
#   - the killed SE restarts, rejoins, and carries the quorum when another one is killed;
#   - with 2 of 3 unavailable updates fail (error, no acknowledgement) and resume when one
#     comes back;
#   - after the sequencing SE itself is killed and restarted, every record still reads
#     >= its last acknowledged version.
. "$(dirname "$0")/lib.sh"
: "${E2E_LOADER:?E2E_LOADER not set}"

RECORDS=${E2E_RECORDS:-32}

net_up 3
ae_env 0

log "load on 3 of 3"
start_loader
wait_more_acks 200 30 "all three SEs up"

log "SIGKILL node 2 under load"
kill_nodes 2
wait_more_acks 200 30 "with node 2 killed (2 of 3 must suffice)"

log "restart node 2: it must rejoin"
"$NARRATOR" up --dir "$NET" --node 2 --timeout-ms 30000 || fail "node 2 did not rejoin"
wait_more_acks 100 30 "after node 2 rejoined"

log "SIGKILL node 1 under load: the quorum now needs the rejoined node 2"
kill_nodes 1
wait_more_acks 200 30 "with node 1 killed (nodes 0 and rejoined 2)"
stop_loader
verify "after two kills"

before=$("$E2E_LOADER" read --record rec-0) || fail "read before the outage"
log "pause node 2 too (SIGSTOP): 2 of 3 unavailable, updates must not be acknowledged"
kill -STOP "$(node_pid 2)"
if "$E2E_LOADER" once --record rec-0 --timeout-ms 1500; then
    fail "an update was acknowledged with only 1 of 3 SEs available"
fi
if "$E2E_LOADER" read --record rec-0 --timeout-ms 1000 >/dev/null 2>&1; then
    fail "a read was answered with only 1 of 3 SEs available"
fi
log "resume node 2 (SIGCONT): updates continue"
kill -CONT "$(node_pid 2)"
"$E2E_LOADER" once --record rec-1 --timeout-ms 10000 || fail "no progress after node 2 resumed"
after=$("$E2E_LOADER" read --record rec-0)
[ "$after" -ge "$before" ] || fail "rec-0 went back from $before to $after"

log "restart node 1"
"$NARRATOR" up --dir "$NET" --node 1 --timeout-ms 30000 || fail "node 1 did not rejoin"
start_loader
wait_more_acks 100 30 "all three again"

log "SIGKILL the sequencer node 0 under load, restart it: the AEs reconnect"
kill_nodes 0
"$NARRATOR" up --dir "$NET" --node 0 --timeout-ms 30000 || fail "node 0 did not rejoin"
wait_more_acks 100 30 "after node 0 restarted"
stop_loader
verify "after the sequencing SE restarted under load"
"$NARRATOR" status --dir "$NET" || fail "not all ACTIVE"

log "beyond the budget: SIGKILL nodes 1 and 2 and restart both (2 of 3 lost their memory)"
last=$("$E2E_LOADER" read --record rec-0) || fail "read before total failure"
kill_nodes 1 2
sleep 0.2
"$NARRATOR" up --dir "$NET" --node 1 --no-wait || fail "start node 1"
"$NARRATOR" up --dir "$NET" --node 2 --no-wait || fail "start node 2"
sleep 3
if "$E2E_LOADER" once --record rec-0 --timeout-ms 2000; then
    fail "an update was acknowledged after more than f SEs lost their memory"
fi
for i in 1 2; do
    if "$NARRATOR" status --dir "$NET" 2>/dev/null | grep -q "^node $i: .* ACTIVE "; then
        fail "node $i became ACTIVE although the network lost more than f memories"
    fi
done
grep -qi "total failure" "$NET"/node1/narratord.log "$NET"/node2/narratord.log ||
    log "note: no TOTAL FAILURE line yet (joiners still waiting)"
log "PASS"
