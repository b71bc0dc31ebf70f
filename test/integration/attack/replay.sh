#!/usr/bin/env bash
# Attack 4 (docs/attacks.md): capture and replay of SE<->SE traffic.
#
# Node 0's [Peer] Endpoint for node 1 points at attack_proxy, which relays the connection
# frame by frame and records every frame. Under load in both directions (AEs beside node 0
# and beside node 1), the host then:
#   dup       re-sends a recorded frame to node 1 on the live connection (a replay)
#   dup-s2c   the same towards node 0
#   flip      flips one bit of the next frame to node 1 (tampering)
#   old       injects a frame captured on an earlier connection (older channel keys)
#   impersonate  answers node 0's next dial with a recorded handshake REPLY + frames
#   replay    opens fresh connections to node 1 and sends a whole recorded dialer stream
#             (HELLO, FINISH, frames)
# Then the same against the AE<->SE local channel (a relay on a Unix socket in front of node
# 0's AE socket): replayed and tampered AE frames, a replayed SE reply (the AE library must
# reject it), whole recorded AE sessions replayed into fresh connections.
# Each time the receiving side must reject (NR_EREPLAY / NR_EAUTH on frames, a failed
# handshake on fresh connections), drop the connection, log it and count it; the dialer
# reconnects, nothing crashes, updates keep committing, and the checker finds zero S1/S2
# violations at the end.
. "$(dirname "$0")/lib.sh"
: "${ATTACK_PROXY:?ATTACK_PROXY not set}"

NET_EDIT=start_proxy
net_create
PX=""

all_alive() {
    local i
    for i in 0 1 2; do
        kill -0 "${DPID[$i]}" 2>/dev/null || fail "node $i died"
    done
    proxy_alive
}

start_loader a 0 a- 32 # node 0 sequences: PREPAREs 0->1 through the proxy
start_loader b 1 b- 32 # node 1 sequences: PREPAREs 1->0 back through the proxy
wait_acks a 300 30 "network up through the proxy"
wait_acks b 300 30 "network up through the proxy"
[ "$(relayed)" -ge 1 ] || fail "node 0 does not reach node 1 through the proxy"

# record_attack CMD NODE COUNTER LOGPATTERN: inject, then the NODE must count and log it,
# the dialer must reconnect through the proxy and the loaders must make progress.
LOADERS=(a b)
record_attack() {
    local cmd=$1 node=$2 counter=$3 pattern=$4 before conns
    before=$(nmetric "$node" "$counter")
    conns=$(relayed)
    proxy_ctl "$cmd"
    case "$CTL_ANSWER" in *injected* | *armed*) ;; *) fail "proxy: $CTL_ANSWER" ;; esac
    log "$CTL_ANSWER"
    wait_metric_above "$node" "$counter" "${before:-0}"
    wait_until 10 "reconnection after '$cmd'" reconnected "$conns"
    grep -q "$pattern" "$NET/node$node/narratord.log" ||
        fail "node $node: no log line matching '$pattern'"
    log "node $node rejected it: $counter $(nmetric "$node" "$counter"); $(grep -o "$pattern.*" "$NET/node$node/narratord.log" | tail -n 1)"
    local l
    for l in "${LOADERS[@]}"; do wait_acks "$l" 200 30 "after '$cmd'"; done
    all_alive
}

log "replay of a recorded frame to node 1 on the live connection"
record_attack dup 1 narrator_peer_frames_unauth_total "frame rejected (NR_EREPLAY)"
log "replay of a recorded frame to node 0 on the live connection"
record_attack dup-s2c 0 narrator_peer_frames_unauth_total "frame rejected (NR_EREPLAY)"
log "tampering: one bit of a frame to node 1"
record_attack flip 1 narrator_peer_frames_unauth_total "frame rejected (NR_EAUTH)"
log "a frame of the first connection (earlier channel keys) injected into the live connection"
record_attack old 1 narrator_peer_frames_unauth_total "frame rejected"

log "impersonation: node 0's next dial is answered with the first connection's recorded frames"
hs0=$(nmetric 0 narrator_peer_handshake_failures_total)
proxy_ctl impersonate
case "$CTL_ANSWER" in *armed*) ;; *) fail "proxy: $CTL_ANSWER" ;; esac
record_attack dup 1 narrator_peer_frames_unauth_total "frame rejected" # drops the live one
grep -q "impersonating the acceptor" "$T_DIR/proxy.out" || fail "the proxy did not impersonate"
wait_metric_above 0 narrator_peer_handshake_failures_total "${hs0:-0}"
log "node 0 refused the replayed handshake: handshake_failures $(nmetric 0 narrator_peer_handshake_failures_total)"

log "fresh connections to node 1 replaying whole recorded dialer streams"
ref=$(sed -n 's/^conn \([0-9]*\): reference connection$/\1/p' "$T_DIR/proxy.out")
for c in "$ref" $((ref + 1)); do
    hs1=$(nmetric 1 narrator_peer_handshake_failures_total)
    out=$("$ATTACK_PROXY" replay --target $((BASE_PORT + 1)) --from "$CAP/conn$c.c2s" --wait-ms 6000) ||
        fail "replayed stream of connection $c: $out"
    log "$out"
    wait_metric_above 1 narrator_peer_handshake_failures_total "${hs1:-0}"
done
log "node 1: handshake_failures $(nmetric 1 narrator_peer_handshake_failures_total)"
wait_acks a 200 30 "after the fresh-connection replays"
wait_acks b 200 30 "after the fresh-connection replays"
all_alive

log "--- the AE<->SE local channel: AEs beside node 0 reach its socket through a relay"
PX=-local
"$ATTACK_PROXY" relay --local --listen "$T_DIR/ae-relay.sock" --target "$NET/node0/se.sock" \
    --dir "$CAP/local" --ctl "$CTL$PX" >"$T_DIR/proxy$PX.out" 2>&1 &
EXTRA_PIDS+=($!)
mkdir -p "$CAP/local"
wait_until 5 "local relay listening" test -S "$T_DIR/ae-relay.sock"
LOADER_SOCKET="$T_DIR/ae-relay.sock" start_loader l 0 l- 8 # one connection per record
LOADERS=(a b l)
wait_acks l 300 30 "AEs through the local relay"
log "replay of a recorded AE frame (a WRITE or READ) to node 0 on the live connection"
record_attack dup 0 narrator_local_frames_unauth_total "client [0-9]*: frame rejected (NR_EREPLAY)"
log "tampering: one bit of an AE frame"
record_attack flip 0 narrator_local_frames_unauth_total "client [0-9]*: frame rejected (NR_EAUTH)"
log "replay of a recorded SE reply to the AE on the live connection"
errs_before=$(grep -c "NR_EREPLAY" "$T_DIR/loader-l.err" || true)
proxy_ctl dup-s2c
case "$CTL_ANSWER" in *injected*) ;; *) fail "proxy: $CTL_ANSWER" ;; esac
log "$CTL_ANSWER"
wait_until 10 "the AE library rejects the replayed reply" \
    eval '[ "$(grep -c NR_EREPLAY "$T_DIR/loader-l.err" || true)" -gt '"$errs_before"' ]'
log "the AE rejected it: $(grep NR_EREPLAY "$T_DIR/loader-l.err" | tail -n 1)"
wait_acks l 200 30 "after the replayed reply"
log "fresh connections to node 0's socket replaying whole recorded AE sessions"
ref=$(sed -n 's/^conn \([0-9]*\): reference connection$/\1/p' "$T_DIR/proxy$PX.out")
unauth0=$(nmetric 0 narrator_local_frames_unauth_total)
hsf0=$(nmetric 0 narrator_local_handshake_failures_total)
for c in "$ref" $((ref + 1)); do
    out=$("$ATTACK_PROXY" replay --target "$NET/node0/se.sock" --from "$CAP/local/conn$c.c2s" \
        --wait-ms 6000) || fail "replayed AE session $c: $out"
    log "$out"
done
wait_until 10 "node 0 counts the replayed AE sessions" eval \
    '[ $(( $(nmetric 0 narrator_local_frames_unauth_total) + $(nmetric 0 narrator_local_handshake_failures_total) )) -ge '"$((unauth0 + hsf0 + 2))"' ]'
log "node 0: local_frames_unauth $(nmetric 0 narrator_local_frames_unauth_total) (was $unauth0)," \
    "local_handshake_failures $(nmetric 0 narrator_local_handshake_failures_total) (was $hsf0)"
wait_acks l 200 30 "after the replayed AE sessions"
all_alive
PX=""

stop_loader a
stop_loader b
stop_loader l
check_loaders a
check_loaders b
check_loaders l
for n in 0 1 2; do
    [ "$(nmetric "$n" narrator_se_state)" = 2 ] || fail "node $n is not ACTIVE at the end"
    log "node $n: frames_unauth $(nmetric "$n" narrator_peer_frames_unauth_total)," \
        "handshake_failures $(nmetric "$n" narrator_peer_handshake_failures_total)," \
        "connects $(nmetric "$n" narrator_peer_connects_total)," \
        "msgs_dropped_malformed $(nmetric "$n" narrator_msgs_dropped_malformed_total)"
done
proxy_ctl stats
log "$CTL_ANSWER"
log "PASS"
