#!/usr/bin/env bash
# e2e flags: options that only shape a new network, given on a running one, are reported
# (they used to be ignored without a word); narratord names file, line and key for a missing
# membership file, and says when the config path is a directory.
. "$(dirname "$0")/lib.sh"

E2E_UP_ARGS=--no-chain net_up 3
SYS=$(cat "$NET/system_id")
out=$("$NARRATOR" up --dir "$NET" --system-id "$(printf 'ab%.0s' $(seq 32))" --no-chain -n 5 2>&1) ||
    fail "up on a running network: $out"
echo "$out"
grep -q "warning: .*ignoring --system-id --no-chain --nodes" <<<"$out" ||
    fail "ignored options are not reported: $out"
out=$("$NARRATOR" up --dir "$NET" --chain /nonexistent/chain.ini 2>&1) || fail "up --chain: $out"
grep -q "ignoring --chain" <<<"$out" || fail "--chain on a running network is not reported: $out"
[ "$(cat "$NET/system_id")" = "$SYS" ] || fail "the system id changed"
"$NARRATOR" status --dir "$NET" >/dev/null || fail "network not ACTIVE after the ignored options"
out=$("$NARRATOR" up --dir "$NET" 2>&1) || fail "plain up: $out"
grep -q warning <<<"$out" && fail "plain up on a running network warns: $out"

# narratord: a directory as config; a missing membership file (file:line: Membership).
out=$("$NARRATORD" --check -c "$NET" 2>&1) && fail "a directory accepted as config"
grep -q "$NET:0: (file): is a directory" <<<"$out" || fail "directory as config: '$out'"
cp "$NET/node0/se.ini" "$E2E_DIR/bad.ini"
sed -i "s|^Membership = .*|Membership = $E2E_DIR/missing.txt|" "$E2E_DIR/bad.ini"
line=$(grep -n '^Membership' "$E2E_DIR/bad.ini" | cut -d: -f1)
out=$("$NARRATORD" --check -c "$E2E_DIR/bad.ini" 2>&1) && fail "a missing membership file accepted"
grep -q "bad.ini:$line: Membership: .*missing.txt" <<<"$out" || fail "--check: '$out'"
out=$(timeout 20 "$NARRATORD" -c "$E2E_DIR/bad.ini" 2>&1) && fail "started without membership"
grep -q "bad.ini:$line: Membership: .*missing.txt" <<<"$out" || fail "start-up: '$out'"
log "PASS"
