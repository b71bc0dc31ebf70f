#!/usr/bin/env bash
# Attack 1 (docs/attacks.md): restart a state enclave from an OLD copy of its data directory.
#
# The host copies node 1's data directory while node 1 runs (sealed identity, sealed hint,
# LMDB store of records), lets the network move on, restarts node 1 once normally, then
# SIGKILLs it, puts the old copy back and starts it again. The restored instance holds a
# stale hint (an epoch older than its predecessor's) and stale records, some of them its OWN
# records as a sequencer. It must rejoin with a new, higher incarnation, merge the current
# records from its peers (its sealed data is only a hint) and serve correct state:
#   - AEs beside node 1 continue from their last acknowledged version (never below);
#   - with node 2 killed, node 1 carries the quorum for node 0's AEs;
#   - the checker finds zero S1/S2 violations over every acknowledged update.
. "$(dirname "$0")/lib.sh"

net_create
start_loader a 0 a- 48 # AEs beside node 0
start_loader b 1 b- 48 # AEs beside node 1: node 1 sequences their records
wait_acks a 300 30 "all three SEs up"
wait_acks b 300 30 "all three SEs up"

log "host copies node 1's data directory while it runs"
cp -a "$NET/node1/data" "$T_DIR/node1-data.old"
inc_copy=$(incarnation 1)
wait_acks a 500 30 "after the copy"
wait_acks b 500 30 "after the copy"

log "SIGKILL node 1 and restart it normally (a newer hint than the copy)"
kill_node 1
wait_acks a 100 30 "node 1 down: 0 and 2 are a quorum"
start_node 1
wait_active 1 30
inc_mid=$(incarnation 1)
wait_acks b 300 30 "node 1 rejoined"
wait_acks a 300 30 "node 1 rejoined"

log "SIGKILL node 1, restore the old copy of its data directory, restart"
kill_node 1
rm -rf "$NET/node1/data"
cp -a "$T_DIR/node1-data.old" "$NET/node1/data"
start_node 1
wait_active 1 30
inc_new=$(incarnation 1)
log "incarnations of node 1: at the copy $inc_copy, restarted $inc_mid, from the old copy $inc_new"
# Its hint (epoch of the copy + 1) may collide with the restarted instance's epoch; then
# either the random low bits happen to be higher, or the peers answer STALE and it
# re-incarnates with a higher epoch. Either way it must run above its predecessor.
[ $((16#$inc_new)) -gt $((16#$inc_mid)) ] ||
    fail "the instance restored from the old copy runs incarnation $inc_new, not above $inc_mid"
grep -q "re-incarnat" "$NET/node1/narratord.log" && log "node 1 re-incarnated while joining:
$(grep "re-incarnat" "$NET/node1/narratord.log" | tail -n 2)"
view1=$(curl -s --max-time 2 "http://127.0.0.1:$(mport 0)/metrics" |
    awk '$1 == "narrator_view_epoch{member=\"1\"}" { print $2 }')
log "node 0 now admits node 1 at epoch ${view1:-?}"

log "AEs beside node 1 continue on the restored instance"
wait_acks b 300 30 "node 1 restored from the old copy (sequencer of b-*)"
wait_acks a 200 30 "node 1 restored from the old copy"

log "SIGKILL node 2: node 1 (restored from old data) must carry the quorum with node 0"
kill_node 2
wait_acks a 300 30 "quorum {0, restored 1}"
wait_acks b 300 30 "quorum {0, restored 1}"
stop_loader a
stop_loader b
check_loaders a
check_loaders b
recs=$(nmetric 1 narrator_se_records)
log "node 1 holds $recs records"
[ "${recs:-0}" -ge 96 ] || fail "node 1 holds ${recs:-?} records, expected at least 96"
log "PASS"
