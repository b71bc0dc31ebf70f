#!/usr/bin/env bash
# Reproduction of FINDINGS.md F3 (not registered with CTest while the bug exists; exit 0 once
# fixed, then register it in CMakeLists.txt). A superseded narratord that halts unlinks its
# AE socket path even when a newer instance of the same member has bound that path since:
# the live SE becomes unreachable for its AEs (NR_EUNREACHABLE). Same schedule as a
# supervisor that restarts a hung SE: pause the original, start a new instance with the same
# Socket, resume the original.
. "$(dirname "$0")/lib.sh"
net_create
start_loader a 0 a- 8
wait_acks a 100 30 "network up"
kill -STOP "${DPID[0]}"
cp -a "$NET/node0/data" "$T_DIR/new0-data" # a copy: a shared directory hits F2 first
clone_config 0 13 none "$T_DIR/new0-data" "$T_DIR/new0.ini"
sed -i "s|^Socket = .*|Socket = $NET/node0/se.sock|" "$T_DIR/new0.ini"
start_daemon new0 "$T_DIR/new0.ini" "$T_DIR/new0.log"
wait_state_port $((BASE_PORT + 113)) 2 30 "the new instance of node 0 ACTIVE"
kill -CONT "${DPID[0]}"
daemon_exit 0 20
[ "$EXIT_CODE" = 3 ] || fail "the old instance exited $EXIT_CODE, expected 3"
stop_loader a
[ -S "$NET/node0/se.sock" ] || fail "F3: the halted old instance removed the new instance's socket $NET/node0/se.sock"
out=$(as_ae 0 "$ATTACK_LOADER" read --record a-0) || fail "F3: AE cannot reach the new instance: $out"
log "PASS"
