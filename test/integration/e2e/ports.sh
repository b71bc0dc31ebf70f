#!/usr/bin/env bash
# e2e ports: a second network on the addresses of a running one. `narrator up --dir B` must
# refuse before anything is created or sent to a chain (it used to report "network up: 3
# state enclaves ACTIVE" while its own daemons had exited with "Address already in use"), and
# `narrator status --dir B` must never report another network's daemons as B's nodes.
. "$(dirname "$0")/lib.sh"

net_up 3
B="$E2E_DIR/b"

rc=0
out=$("$NARRATOR" up -n 3 --dir "$B" --base-port "$BASE_PORT" --timeout-ms 20000 2>&1) || rc=$?
echo "$out"
[ $rc -ne 0 ] || fail "up on the ports of a running network exited 0"
grep -q ACTIVE <<<"$out" && fail "up on taken ports claims ACTIVE nodes"
grep -q "127.0.0.1:$BASE_PORT is in use" <<<"$out" || fail "up does not name the taken address"
[ -e "$B/nodes" ] && fail "a network was created in $B although its ports are taken"
[ -e "$B/devnet" ] && fail "a devnet (chain) was started for a network that cannot start"
ls "$B"/node* >/dev/null 2>&1 && fail "node directories were created in $B"

# Only the metrics ports taken (peer ports free): refused as well.
B2PORT=$(pick_ports)
rc=0
out=$("$NARRATOR" up -n 3 --dir "$B" --no-chain --base-port "$B2PORT" \
    --metrics-port $((BASE_PORT + 100)) 2>&1) || rc=$?
[ $rc -ne 0 ] || fail "up on taken metrics ports exited 0"
grep -q "metrics address 127.0.0.1:$((BASE_PORT + 100)) is in use" <<<"$out" ||
    fail "up does not name the taken metrics address: $out"

# A stopped network B whose status addresses are now served by network A: status must say so.
"$NARRATOR" up -n 3 --dir "$B" --no-chain --base-port "$B2PORT" --timeout-ms 60000 ||
    fail "network B on free ports"
"$NARRATOR" down --dir "$B" >/dev/null || fail "down B"
for i in 0 1 2; do
    sed -i "s/^Metrics = .*/Metrics = 127.0.0.1:$((BASE_PORT + 100 + i))/" "$B/node$i/se.ini"
done
rc=0
out=$("$NARRATOR" status --dir "$B" 2>&1) || rc=$?
echo "$out"
[ $rc -ne 0 ] || fail "status of a stopped network exited 0"
grep -q ACTIVE <<<"$out" && fail "status of B reports A's daemons as ACTIVE nodes of B"
[ "$(grep -c 'FOREIGN .*another network' <<<"$out")" = 3 ] ||
    fail "status does not say that another network answers"

"$NARRATOR" status --dir "$NET" || fail "network A disturbed"
log "PASS"
