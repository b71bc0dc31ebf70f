#!/usr/bin/env bash
# Attack 2 (docs/attacks.md): clone a state enclave. The host starts a second instance of a
# member from a copy of its data directory (same platform directory, same sealed identity),
# with its own listen port and AE socket, connected to a subset of the peers (its config
# omits one [Peer], or points it at a dead port when the clone would dial that peer), and
# points AEs of the same platform at the clone, hoping that the clone
# sequences the same records as the original: two digests for one version (a fork).
#
# Expected: the clone draws a newer incarnation; the peer it reaches admits it, from then
# on refuses the original, and the original halts with exit code 3 and the log line
# "FATAL superseded by a newer incarnation" once it hears of the clone. The clone cannot
# gather a join quorum (f+1 = 2 others) from one peer, so it stays JOINING and serves its
# AEs nothing. The network continues with the remaining quorum; after the host kills the
# clone and restarts the member, it rejoins. Zero S1/S2 violations over all loaders, the
# clone's AEs included (their logs are checked together with the original's).
#
# Phase 0: the host moves member 1's data directory (sealed identity) to member 2's platform,
# or starts member 1's identity under member 2's index: both must refuse to start (exit 1:
# the identity does not unseal elsewhere; the membership binds each slot to one identity and
# platform, S4).
# Phase 1 clones member 1 (it dials member 2 only); phase 2 clones the sequencer of the
# main load, member 0 (it dials member 1 only).
#
# Phase 3, the classic fork schedule: the host pauses the sequencer member 0 (SIGSTOP) with
# updates in flight, starts a clone of it connected to ALL peers, lets AEs commit new
# versions of the same records through the clone (it joins and becomes ACTIVE), then resumes
# the paused original. The original must not acknowledge anything conflicting: it learns it
# is superseded and halts (exit 3); its AEs get an error, never a second digest.
. "$(dirname "$0")/lib.sh"

net_create
start_loader a 0 a- 32 # AEs beside node 0
start_loader b 1 b- 32 # AEs beside node 1
wait_acks a 300 30 "all three SEs up"
wait_acks b 300 30 "all three SEs up"

log "phase 0: an SE identity moved to another platform, and a member claiming another slot"
clone_config 1 14 none "$T_DIR/moved-data" "$T_DIR/moved.ini"
cp -a "$NET/node1/data" "$T_DIR/moved-data"
sed -i "s|^Platform = .*|Platform = $NET/node2/platform|" "$T_DIR/moved.ini"
start_daemon moved "$T_DIR/moved.ini" "$T_DIR/moved.log"
daemon_exit moved 20
[ "$EXIT_CODE" = 1 ] || fail "node 1's identity on node 2's platform: exit $EXIT_CODE, expected 1"
log "node 1's data on node 2's platform refused: $(grep -o 'start-up failed.*' "$T_DIR/moved.log" | sed 's|/[^ ]*/||g')"
clone_config 1 14 none "$NET/node1/data" "$T_DIR/impostor.ini"
awk 'BEGIN { n = 0 } /^Index *=/ && n == 0 { print "Index = 2"; n = 1; next }
     /^Index *= *2$/ { print "Index = 1"; next } { print }' "$T_DIR/impostor.ini" >"$T_DIR/impostor2.ini"
start_daemon impostor "$T_DIR/impostor2.ini" "$T_DIR/impostor.log"
daemon_exit impostor 20
[ "$EXIT_CODE" = 1 ] || fail "node 1 claiming member slot 2: exit $EXIT_CODE, expected 1"
log "node 1 claiming slot 2 refused: $(grep -o 'start-up failed.*' "$T_DIR/impostor.log")"
for i in 0 1 2; do [ "$(nmetric "$i" narrator_se_state)" = 2 ] || fail "node $i not ACTIVE"; done

# clone_phase I DROP_PEER OFFSET LOADER PREFIX OTHER_LOADER
clone_phase() {
    local i=$1 drop=$2 off=$3 main=$4 prefix=$5 other=$6
    local inc_orig
    inc_orig=$(incarnation "$i")
    log "clone node $i from a copy of its data directory, cut off from node $drop"
    cp -a "$NET/node$i/data" "$T_DIR/clone$i-data"
    clone_config "$i" "$off" "$drop" "$T_DIR/clone$i-data" "$T_DIR/clone$i.ini"
    start_daemon "clone$i" "$T_DIR/clone$i.ini" "$T_DIR/clone$i.log"
    # AEs of the same platform talk to the clone: the same records as loader $main
    wait_until 10 "clone $i socket" test -S "$T_DIR/clone$i.sock"
    LOADER_SOCKET="$T_DIR/clone$i.sock" start_loader "x$i" "$i" "$prefix" 32 "x$i"

    daemon_exit "$i" 20
    [ "$EXIT_CODE" = 3 ] || fail "original node $i exited with $EXIT_CODE, expected 3 (superseded)"
    grep -q "FATAL superseded by a newer incarnation" "$NET/node$i/narratord.log" ||
        fail "original node $i: no 'FATAL superseded by a newer incarnation' line"
    log "original node $i (incarnation $inc_orig) halted: exit 3, $(grep -o 'FATAL superseded.*' "$NET/node$i/narratord.log" | head -n 1)"

    wait_acks "$other" 300 30 "node $i halted, clone joining: the other two are a quorum"
    local st
    st=$(metric $((BASE_PORT + 100 + off)) narrator_se_state)
    [ "$st" = 1 ] || fail "clone of node $i is in state ${st:-?}, expected 1 (JOINING: one peer)"
    [ "$(acks "x$i")" = 0 ] || fail "the clone of node $i acknowledged updates while JOINING"
    local refused
    refused=$(
        ae_env "$i"
        export NARRATOR_SOCKET="$T_DIR/clone$i.sock"
        "$ATTACK_LOADER" read --record "${prefix}0" --timeout-ms 2000
    ) && fail "the clone of node $i answered a read: $refused"
    log "clone of node $i: JOINING, its AEs refused ($refused), 0 acknowledged"

    log "host kills the clone and restarts node $i with its own data directory"
    kill_node "clone$i"
    stop_loader "x$i"
    start_node "$i"
    wait_active "$i" 30
    local inc_new
    inc_new=$(incarnation "$i")
    [ $((16#$inc_new)) -gt $((16#$inc_orig)) ] || fail "node $i rejoined as $inc_new <= $inc_orig"
    log "node $i rejoined as incarnation $inc_new (was $inc_orig)"
    wait_acks "$main" 200 30 "node $i rejoined"
    wait_acks "$other" 200 30 "node $i rejoined"
}

clone_phase 1 0 10 b b- a
dropped=$(nmetric 2 narrator_msgs_dropped_stale_inc_total)
log "node 2 dropped ${dropped:-?} messages of stale incarnations"

clone_phase 0 2 11 a a- b

log "phase 3: pause the sequencer node 0 under load, clone it with all peers, resume it"
inc_orig=$(incarnation 0)
cp -a "$NET/node0/data" "$T_DIR/clone0b-data"
kill -STOP "${DPID[0]}"
acks_paused=$(acks a)
clone_config 0 13 none "$T_DIR/clone0b-data" "$T_DIR/clone0b.ini"
sed -i "s|^Socket = .*|Socket = $T_DIR/clone0b.sock|" "$T_DIR/clone0b.ini"
start_daemon clone0b "$T_DIR/clone0b.ini" "$T_DIR/clone0b.log"
wait_state_port $((BASE_PORT + 113)) 2 30 "the clone of the paused node 0 ACTIVE"
LOADER_SOCKET="$T_DIR/clone0b.sock" start_loader y0 0 a- 32 y0
wait_acks y0 300 30 "AEs through the ACTIVE clone of node 0"
log "resume the original node 0 (incarnation $inc_orig)"
kill -CONT "${DPID[0]}"
daemon_exit 0 20
[ "$EXIT_CODE" = 3 ] || fail "resumed original node 0 exited with $EXIT_CODE, expected 3 (superseded)"
log "resumed original node 0 halted: exit 3; loader a acknowledged $(($(acks a) - acks_paused)) updates after the pause"
wait_acks y0 200 30 "the clone carries on"
wait_acks b 200 30 "the clone carries on"

stop_loader a
stop_loader y0
stop_loader b
check_loaders b x1
AE_SOCKET="$T_DIR/clone0b.sock" check_loaders a x0 y0
# member 0 is now served by the clone (metrics port +113)
for n in 0 1 2; do
    port=$(mport "$n")
    [ "$n" = 0 ] && port=$((BASE_PORT + 113))
    [ "$(metric "$port" narrator_se_state)" = 2 ] || fail "member $n is not ACTIVE at the end"
    log "member $n: fork_attempts $(metric "$port" narrator_fork_attempts_total)," \
        "stale_leftovers $(metric "$port" narrator_stale_leftovers_total)," \
        "msgs_dropped_stale_inc $(metric "$port" narrator_msgs_dropped_stale_inc_total)," \
        "joins_admitted $(metric "$port" narrator_joins_admitted_total)"
done
log "PASS"
