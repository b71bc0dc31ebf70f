#!/usr/bin/env bash
# Cut links (docs/attacks.md): node 0 reaches node 1 only through attack_proxy, which the
# host uses to cut and heal the 0-1 link (closing every connection, refusing new ones).
# Loaders beside every SE run throughout.
#   - link 0-1 cut: every member still has a quorum partner (node 2): updates continue;
#   - link cut and node 2 SIGKILLed: no member can reach f+1 = 2 (itself and another), so
#     nothing is acknowledged; node 2 restarts and rejoins through 0 and 1 (direct links):
#     updates resume;
#   - link cut, node 1 SIGKILLed and restarted: it can reach only node 2 of the others, so it
#     must stay JOINING (a join needs f+1 = 2 other members); heal: it joins;
#   - zero S1/S2 violations at the end.
. "$(dirname "$0")/lib.sh"

NET_EDIT=start_proxy
net_create
start_loader a 0 a- 24
start_loader b 1 b- 24
start_loader c 2 c- 24
for l in a b c; do wait_acks "$l" 200 30 "network up"; done

log "cut the link between node 0 and node 1"
proxy_ctl cut
for l in a b c; do wait_acks "$l" 300 30 "link 0-1 cut: node 2 is everyone's quorum partner"; done
[ "$(nmetric 0 narrator_peers_connected)" = 1 ] || fail "node 0 still has $(nmetric 0 narrator_peers_connected) peers"

log "SIGKILL node 2 while the link is cut: no member has a quorum"
kill_node 2
sleep 1 # let in-flight updates finish or fail
a0=$(acks a) b0=$(acks b)
sleep 2
[ "$(acks a)" = "$a0" ] && [ "$(acks b)" = "$b0" ] ||
    fail "updates acknowledged without a quorum (a: $a0 -> $(acks a), b: $b0 -> $(acks b))"
log "nothing acknowledged for 2 s (a stays at $a0, b at $b0)"
start_node 2
wait_active 2 30
for l in a b c; do wait_acks "$l" 200 30 "node 2 rejoined through the direct links"; done
log "node 2 rejoined as $(incarnation 2); updates resumed"

log "SIGKILL node 1 and restart it while the link is still cut"
kill_node 1
start_node 1
sleep 3
st=$(nmetric 1 narrator_se_state)
[ "$st" = 1 ] || fail "node 1 is in state ${st:-?} with only one other member reachable, expected 1 (JOINING)"
wait_acks a 100 30 "node 0 and node 2 are a quorum while node 1 is joining"
log "node 1 stays JOINING with one other member reachable"
proxy_ctl heal
log "link healed"
wait_active 1 30
for l in a b c; do wait_acks "$l" 200 30 "after the heal"; done
log "node 1 joined as $(incarnation 1)"

for l in a b c; do stop_loader "$l"; done
for l in a b c; do check_loaders "$l"; done
log "PASS"
