#!/usr/bin/env bash
# CLI test (no daemons run): usage errors exit 1, help exits 0, `up` writes configs that
# narratord accepts (narratord --check), keygen/genesis produce a membership that verifies,
# and refuse duplicates and even member counts.
set -euo pipefail
: "${NARRATOR:?}" "${NARRATORD:?}"
T=$(mktemp -d /tmp/nr-cli.XXXXXX)
trap '"$NARRATOR" down --dir "$T/net" >/dev/null 2>&1 || true; rm -rf "$T"' EXIT
fail() { echo "FAIL [cli]: $*" >&2; exit 1; }
expect_rc() { # rc command...
    local want=$1 rc=0; shift
    "$@" >"$T/out" 2>&1 || rc=$?
    [ "$rc" = "$want" ] || { cat "$T/out" >&2; fail "'$*' exited $rc, want $want"; }
}

expect_rc 1 "$NARRATOR"
expect_rc 1 "$NARRATOR" bogus
expect_rc 0 "$NARRATOR" help
cp "$T/out" "$T/help"
for c in keygen genesis up down status update read help; do
    grep -q "^  $c " "$T/help" || fail "help does not list $c"
    expect_rc 0 "$NARRATOR" help "$c"
done
expect_rc 1 "$NARRATOR" help bogus
expect_rc 1 "$NARRATOR" up --bogus
expect_rc 1 "$NARRATOR" up -n 2
expect_rc 1 "$NARRATOR" up -n 0
expect_rc 1 "$NARRATOR" up extra-arg
expect_rc 1 "$NARRATOR" update --node 0 --name x --version 1
expect_rc 1 "$NARRATOR" update --node 0 --name x --version 0 --digest "$(printf '00%.0s' $(seq 32))"
expect_rc 1 "$NARRATOR" update --node 0 --name x --version 1 --digest zz
expect_rc 1 "$NARRATOR" update --node 99 --name x --version 1 --digest "$(printf '00%.0s' $(seq 32))"
expect_rc 1 "$NARRATOR" read --node 0
expect_rc 1 "$NARRATOR" keygen --platform /nonexistent
expect_rc 1 "$NARRATOR" genesis --root /x --out /y
expect_rc 1 "$NARRATOR" genesis --random --system-id "$(printf '00%.0s' $(seq 32))" --root /x --out /y id
expect_rc 2 "$NARRATOR" status --dir "$T/none"
expect_rc 0 "$NARRATOR" down --dir "$T/none"

# `up` without starting real daemons: everything is created, configs pass narratord --check.
# (--no-chain: the on-chain initialisation has its own tests in test/integration/chaininit)
NARRATORD=/bin/true expect_rc 0 "$NARRATOR" up -n 5 --dir "$T/net" --base-port 31000 --no-wait --no-chain
[ "$(cat "$T/net/nodes")" = 5 ] || fail "nodes file"
sys=$(cat "$T/net/system_id")
grep -q "^system_id $sys\$" "$T/net/membership.txt" || fail "system id differs from membership"
grep -q "^n 5\$" "$T/net/membership.txt" && grep -q "^f 2\$" "$T/net/membership.txt" ||
    fail "membership n/f"
for i in 0 1 2 3 4; do
    "$NARRATORD" --check -c "$T/net/node$i/se.ini" >/dev/null || fail "node $i config rejected"
    grep -q "^Listen = 127.0.0.1:$((31000 + i))\$" "$T/net/node$i/se.ini" || fail "node $i Listen"
    [ "$(grep -c '^\[Peer\]' "$T/net/node$i/se.ini")" = 4 ] || fail "node $i peers"
    grep -q "NARRATOR_SYSTEM_ID=$sys" "$T/net/node$i/client.env" || fail "node $i client.env"
    [ -f "$T/net/node$i/data/identity" ] || fail "node $i identity"
done
# secrets are not world-readable
[ "$(stat -c %a "$T/net/node0/data/identity")" = 600 ] || fail "identity file mode"

# A network with no running member cannot resume; --fresh replaces it.
NARRATORD=/bin/true expect_rc 2 "$NARRATOR" up --dir "$T/net" --base-port 31000 --no-wait --no-chain
grep -q "up --fresh" "$T/out" || fail "no hint about --fresh"
cp -r "$T/net/root" "$T/root-copy"
NARRATORD=/bin/true expect_rc 0 "$NARRATOR" up -n 3 --dir "$T/net" --base-port 31000 --no-wait --fresh --no-chain
[ "$(cat "$T/net/nodes")" = 3 ] && [ ! -e "$T/net/node3" ] || fail "--fresh did not replace the network"
[ "$(cat "$T/net/system_id")" != "$sys" ] || fail "--fresh kept the system id"
cmp -s "$T/net/root/root.pub" "$T/root-copy/root.pub" && fail "--fresh kept the attestation root"
sys=$(cat "$T/net/system_id")

# keygen / genesis by hand on the platforms `up` made
for i in 0 1 2; do
    "$NARRATORD" --check -c "$T/net/node$i/se.ini" >/dev/null || fail "node $i config rejected"
    expect_rc 0 "$NARRATOR" keygen --platform "$T/net/node$i/platform" --out "$T/id$i"
    grep -Eq '^identity [0-9a-f]{64}$' "$T/out" || fail "keygen output"
done
expect_rc 2 "$NARRATOR" keygen --platform "$T/net/node0/platform" --out "$T/id0"
expect_rc 0 "$NARRATOR" genesis --random --root "$T/net/root" --out "$T/m.txt" "$T/id0" "$T/id1" "$T/id2"
grep -q "^n 3\$" "$T/m.txt" || fail "genesis n"
[ "$(grep -c '^member ' "$T/m.txt")" = 3 ] || fail "genesis members"
SYS=$(printf 'ab%.0s' $(seq 32))
expect_rc 0 "$NARRATOR" genesis --system-id "$SYS" --root "$T/net/root" --out "$T/m2.txt" "$T/id0" "$T/id1" "$T/id2"
grep -q "^system_id $SYS\$" "$T/m2.txt" || fail "genesis --system-id"
expect_rc 2 "$NARRATOR" genesis --random --root "$T/net/root" --out "$T/m3.txt" "$T/id0" "$T/id1"
# one platform, two slots (S4) or one identity twice: refused
expect_rc 0 "$NARRATOR" keygen --platform "$T/net/node0/platform" --out "$T/id0b"
expect_rc 2 "$NARRATOR" genesis --random --root "$T/net/root" --out "$T/m4.txt" "$T/id0" "$T/id0b" "$T/id2"
expect_rc 2 "$NARRATOR" genesis --random --root "$T/net/root" --out "$T/m5.txt" "$T/id0" "$T/id0" "$T/id2"
[ ! -e "$T/m4.txt" ] && [ ! -e "$T/m5.txt" ] || fail "refused membership was written"

# Given measurements (gramine: MRENCLAVE) and attestation roots. The sim members' evidence
# carries the sim measurement M: a membership allowing M and another value verifies, one
# allowing only another value does not.
M=$(sed -n 's/^measurement \([0-9a-f]\{64\}\)$/\1/p' "$T/m.txt")
[ ${#M} = 64 ] || fail "genesis measurement line"
OTHER=$(printf 'ab%.0s' $(seq 32))
expect_rc 0 "$NARRATOR" genesis --random --root "$T/net/root" --measurement "$M" \
    --measurement "$OTHER" --out "$T/m6.txt" "$T/id0" "$T/id1" "$T/id2"
grep -q "^measurement $M\$" "$T/m6.txt" && grep -q "^measurement $OTHER\$" "$T/m6.txt" \
    || fail "genesis --measurement lines"
grep -q "^measurement $OTHER\$" "$T/out" || fail "genesis prints its measurements"
expect_rc 2 "$NARRATOR" genesis --random --root "$T/net/root" --measurement "$OTHER" \
    --out "$T/m7.txt" "$T/id0" "$T/id1" "$T/id2"
[ ! -e "$T/m7.txt" ] || fail "membership with a foreign measurement was written"
expect_rc 1 "$NARRATOR" genesis --random --root "$T/net/root" --measurement zz --out "$T/m8.txt" "$T/id0"
expect_rc 1 "$NARRATOR" genesis --random --root "$T/net/root" --measurement "${M}00" --out "$T/m8.txt" "$T/id0"
expect_rc 1 "$NARRATOR" genesis --random --root "$T/net/root" --attestation-root "$OTHER" --out "$T/m8.txt" "$T/id0"
expect_rc 1 "$NARRATOR" genesis --random --attestation-root zz --backend gramine --measurement "$M" --out "$T/m8.txt" "$T/id0"
expect_rc 1 "$NARRATOR" genesis --random --backend gramine --out "$T/m8.txt" "$T/id0"
expect_rc 1 "$NARRATOR" genesis --random --out "$T/m8.txt" "$T/id0"
# --sigstruct: MRENCLAVE from a Gramine .sig (SGX SIGSTRUCT, 1808 bytes; enclave hash at 960).
sigstruct() { # out mrenclave-hex
    {
        printf '\x06\x00\x00\x00\xe1\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00'
        head -c 8 /dev/zero
        printf '\x01\x01\x00\x00\x60\x00\x00\x00\x60\x00\x00\x00\x01\x00\x00\x00'
        head -c 920 /dev/zero
        printf '%s' "$2" | sed 's/../\\x&/g' | xargs -0 printf
        head -c 816 /dev/zero
    } >"$1"
}
sigstruct "$T/se.sig" "$M"
[ "$(wc -c <"$T/se.sig")" = 1808 ] || fail "test sigstruct size"
expect_rc 0 "$NARRATOR" genesis --random --root "$T/net/root" --sigstruct "$T/se.sig" \
    --out "$T/m9.txt" "$T/id0" "$T/id1" "$T/id2"
grep -q "^measurement $M\$" "$T/m9.txt" || fail "genesis --sigstruct measurement"
head -c 1000 "$T/se.sig" >"$T/short.sig"
expect_rc 1 "$NARRATOR" genesis --random --root "$T/net/root" --sigstruct "$T/short.sig" \
    --out "$T/m10.txt" "$T/id0" "$T/id1" "$T/id2"
grep -q "not a Gramine .sig" "$T/out" || fail "--sigstruct error message"
expect_rc 1 "$NARRATOR" genesis --random --root "$T/net/root" --sigstruct "$T/missing.sig" \
    --out "$T/m10.txt" "$T/id0" "$T/id1" "$T/id2"
echo "[cli] PASS"
