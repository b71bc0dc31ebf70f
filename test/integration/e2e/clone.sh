#!/usr/bin/env bash
# e2e clone: the host starts a clone of the sequencing SE (node 0) from a copy of its data
# directory, on the same platform with the same identity, while AEs load the old instance.
# S5: the clone joins with a newer incarnation; whatever the old instance acknowledged
# before or after that moment must be visible through the clone (every record reads >= its
# last acknowledged version), and the clone serves.
. "$(dirname "$0")/lib.sh"
: "${E2E_LOADER:?E2E_LOADER not set}"

RECORDS=${E2E_RECORDS:-16}

net_up 3
ae_env 0

clone_status() {
    curl -s --max-time 2 "http://127.0.0.1:$((BASE_PORT + 150))/status" 2>/dev/null || true
}

log "load on node 0"
start_loader
wait_more_acks 200 30 "before the clone"

log "host clones node 0: same platform, same identity, copied data directory"
C="$E2E_DIR/clone0"
mkdir -p "$C"
cp -r "$NET/node0/data" "$C/data"
sed -e "s|^Listen = .*|Listen = 127.0.0.1:$((BASE_PORT + 50))|" \
    -e "s|^Socket = .*|Socket = $C/se.sock|" \
    -e "s|^DataDir = .*|DataDir = $C/data|" \
    -e "s|^Metrics = .*|Metrics = 127.0.0.1:$((BASE_PORT + 150))|" \
    "$NET/node0/se.ini" >"$C/se.ini"
"$NARRATORD" -c "$C/se.ini" >"$C/narratord.log" 2>&1 &
CLONE_PID=$!
trap 'rc=$?; kill -KILL $CLONE_PID 2>/dev/null || true; cleanup $rc' EXIT

deadline=$((SECONDS + 30))
until clone_status | grep -q '"state":"active"'; do
    [ $SECONDS -lt $deadline ] || { tail -20 "$C/narratord.log" >&2; fail "the clone did not join"; }
    kill -0 "$CLONE_PID" 2>/dev/null || { tail -20 "$C/narratord.log" >&2; fail "the clone exited"; }
    sleep 0.2
done
log "clone is ACTIVE; the old node 0 is superseded"
sleep 1
stop_loader

log "S1 through the clone: every acknowledged update is visible"
NARRATOR_SOCKET="$C/se.sock" "$E2E_LOADER" verify --records "$RECORDS" --log "$ACKLOG" ||
    fail "S1 violated: an update acknowledged by the old instance is missing at the clone"

log "the old instance acknowledges nothing new"
old_pid=$(node_pid 0)
if kill -0 "$old_pid" 2>/dev/null; then
    if "$E2E_LOADER" once --record rec-0 --timeout-ms 2000; then
        fail "the superseded instance acknowledged an update"
    fi
else
    log "old node 0 has halted"
    grep -qi "supersed" "$NET/node0/narratord.log" || fail "old node 0 exited without saying why"
fi
NARRATOR_SOCKET="$C/se.sock" "$E2E_LOADER" once --record rec-0 --timeout-ms 10000 ||
    fail "the clone does not serve"
NARRATOR_SOCKET="$C/se.sock" "$E2E_LOADER" verify --records "$RECORDS" --log "$ACKLOG" ||
    fail "S1 after the clone's own update"
kill -TERM "$CLONE_PID" 2>/dev/null || true
wait "$CLONE_PID" 2>/dev/null || true
log "PASS"
