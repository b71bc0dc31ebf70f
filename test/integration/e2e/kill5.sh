#!/usr/bin/env bash
# e2e kill5: n = 5, f = 2. Two SEs SIGKILLed at once under load: updates continue; both
# restart and rejoin together; then the two others are killed and the rejoined pair carries
# the quorum; with 3 of 5 unavailable nothing is acknowledged, and progress resumes when one
# comes back. Every acknowledged update survives (S1).
. "$(dirname "$0")/lib.sh"
: "${E2E_LOADER:?E2E_LOADER not set}"

RECORDS=${E2E_RECORDS:-16}

net_up 5
ae_env 0

log "load on 5 of 5"
start_loader
wait_more_acks 100 30 "all five SEs up"

log "SIGKILL nodes 1 and 2 at once under load"
kill_nodes 1 2
wait_more_acks 100 30 "with 2 of 5 killed"

log "restart nodes 1 and 2 together: both must rejoin"
"$NARRATOR" up --dir "$NET" --node 1 --no-wait || fail "start node 1"
"$NARRATOR" up --dir "$NET" --node 2 --no-wait || fail "start node 2"
wait_state 1 ACTIVE 30
wait_state 2 ACTIVE 30
wait_more_acks 100 30 "after the rejoin"

log "SIGKILL nodes 3 and 4: the rejoined nodes 1 and 2 now carry the quorum"
kill_nodes 3 4
wait_more_acks 100 30 "with nodes 3 and 4 killed"
stop_loader
verify "after four kills"

log "pause node 2 too (3 of 5 unavailable): nothing is acknowledged"
kill -STOP "$(node_pid 2)"
if "$E2E_LOADER" once --record rec-0 --timeout-ms 1500; then
    fail "an update was acknowledged with only 2 of 5 SEs available"
fi
kill -CONT "$(node_pid 2)"
"$E2E_LOADER" once --record rec-1 --timeout-ms 10000 || fail "no progress after node 2 resumed"

log "restart 3 and 4; final load and check"
"$NARRATOR" up --dir "$NET" --node 3 --no-wait || fail "start node 3"
"$NARRATOR" up --dir "$NET" --node 4 --no-wait || fail "start node 4"
wait_state 3 ACTIVE 30
wait_state 4 ACTIVE 30
start_loader
wait_more_acks 100 30 "all five again"
stop_loader
verify "final"
"$NARRATOR" status --dir "$NET" || fail "not all ACTIVE at the end"
log "PASS"
