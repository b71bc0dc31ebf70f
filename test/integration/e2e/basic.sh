#!/usr/bin/env bash
# e2e basic: three real narratord processes; updates commit, reads return the latest,
# conflicting versions are refused with NR_ECONFLICT and change nothing.
. "$(dirname "$0")/lib.sh"

net_up 3
"$NARRATOR" status --dir "$NET" || fail "status after up: not all ACTIVE"

D1=$(printf '11%.0s' $(seq 32))
D2=$(printf '22%.0s' $(seq 32))
DX=$(printf 'ee%.0s' $(seq 32))

out=$("$NARRATOR" read --dir "$NET" --node 0 --name acct) || fail "read of a new record"
[ "$out" = "0 -" ] || fail "new record reads '$out', want '0 -'"

"$NARRATOR" update --dir "$NET" --node 0 --name acct --version 1 --digest "$D1" || fail "update v1"
"$NARRATOR" update --dir "$NET" --node 0 --name acct --version 2 --digest "$D2" || fail "update v2"
out=$("$NARRATOR" read --dir "$NET" --node 0 --name acct) || fail "read after v2"
[ "$out" = "2 $D2" ] || fail "read returns '$out', want '2 $D2'"

# Conflicts: same version again with another digest, a version gap, an old version.
for v in 2 4 1; do
    if err=$("$NARRATOR" update --dir "$NET" --node 0 --name acct --version $v --digest "$DX" 2>&1); then
        fail "conflicting update v$v was acknowledged"
    fi
    grep -q NR_ECONFLICT <<<"$err" || fail "conflicting update v$v: '$err', want NR_ECONFLICT"
done
out=$("$NARRATOR" read --dir "$NET" --node 0 --name acct)
[ "$out" = "2 $D2" ] || fail "after refused conflicts the record reads '$out'"

# Records are per sequencer and per AE: the same name beside node 1 is another record.
out=$("$NARRATOR" read --dir "$NET" --node 1 --name acct)
[ "$out" = "0 -" ] || fail "node 1's record 'acct' reads '$out', want '0 -'"
"$NARRATOR" update --dir "$NET" --node 1 --name acct --version 1 --digest "$DX" || fail "update at node 1"

# Many updates in a row through the loader (public API).
if [ -n "${E2E_LOADER:-}" ]; then
    ( ae_env 2
      for i in $(seq 1 50); do "$E2E_LOADER" once --record seq >/dev/null || exit 1; done
      v=$("$E2E_LOADER" read --record seq); [ "$v" = 50 ] || { echo "seq reads $v" >&2; exit 1; }
    ) || fail "50 sequential updates at node 2"
    ( ae_env 0; "$E2E_LOADER" pipe --record piped --records 500 --window 32 ) ||
        fail "500 pipelined updates of one record"
fi

"$NARRATOR" status --dir "$NET" || fail "status at the end"
"$NARRATOR" down --dir "$NET" || fail "narrator down"
for i in 0 1 2; do
    [ -f "$NET/node$i/narratord.pid" ] && fail "pid file of node $i left after down"
done
log "PASS"
