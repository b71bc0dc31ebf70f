# Shared helpers for the end-to-end tests: real narratord processes on loopback in a
# temporary directory, driven through the `narrator` CLI and public-API programs.
# Binaries come from the environment (CTest sets them): NARRATOR, NARRATORD, PIN, E2E_LOADER.
set -euo pipefail

: "${NARRATOR:?NARRATOR (path of the narrator CLI) not set}"
: "${NARRATORD:?NARRATORD (path of narratord) not set}"
export NARRATORD

E2E_DIR=$(mktemp -d /tmp/nr-e2e.XXXXXX)
NET="$E2E_DIR/net"
E2E_NAME=$(basename "$0" .sh)

log() { echo "[$E2E_NAME $(date +%T)] $*"; }

dump_logs() {
    for f in "$NET"/node*/narratord.log; do
        [ -f "$f" ] || continue
        echo "---- $f (last 20 lines)"
        tail -n 20 "$f" || true
    done
}

fail() {
    echo "FAIL [$E2E_NAME]: $*" >&2
    dump_logs >&2
    exit 1
}

cleanup() {
    local rc=${1:-$?}
    [ -n "${LOADER_PID:-}" ] && kill "$LOADER_PID" 2>/dev/null || true
    if [ -d "$NET" ]; then
        # resume paused nodes so that they can be stopped
        for p in "$NET"/node*/narratord.pid; do
            [ -f "$p" ] && kill -CONT "$(cat "$p")" 2>/dev/null || true
        done
        "$NARRATOR" down --dir "$NET" >/dev/null 2>&1 || true
    fi
    if [ "$rc" -eq 0 ] && [ -z "${E2E_KEEP:-}" ]; then
        rm -rf "$E2E_DIR"
    else
        echo "[$E2E_NAME] files kept in $E2E_DIR" >&2
    fi
}
trap cleanup EXIT

# A base port such that base..base+15, base+100..base+115, base+50 and base+150 (clones) are
# free on loopback: below
# the kernel's ephemeral range (so no outgoing connection holds one), not listened on, and
# not in use by any socket at all.
pick_ports() {
    local tries=0 base used lo
    lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    [ "$lo" -gt 12000 ] || lo=32768
    used=$(ss -tanH 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
    while :; do
        base=$((10000 + (RANDOM % ((lo - 10200) / 100)) * 100))
        local clash=0 p
        for p in $(seq "$base" $((base + 15))) $(seq $((base + 100)) $((base + 115))) \
            $((base + 50)) $((base + 150)); do
            if grep -qx "$p" <<<"$used"; then clash=1; break; fi
        done
        [ "$clash" = 0 ] && { echo "$base"; return; }
        tries=$((tries + 1))
        [ "$tries" -lt 50 ] || { echo "no free ports" >&2; return 1; }
    done
}

net_up() { # n  (retries with other ports if another process took one meanwhile)
    local attempt
    for attempt in 1 2 3; do
        BASE_PORT=$(pick_ports)
        # E2E_UP_ARGS: extra `narrator up` options (e.g. --no-chain to skip the devnet)
        # shellcheck disable=SC2086
        if "$NARRATOR" up -n "$1" --dir "$NET" --base-port "$BASE_PORT" --timeout-ms 60000 \
            ${E2E_UP_ARGS:-}; then
            return 0
        fi
        grep -qs "Address already in use" "$NET"/node*/narratord.log || fail "narrator up failed"
        log "port clash on base $BASE_PORT, retrying"
        "$NARRATOR" down --dir "$NET" >/dev/null 2>&1 || true
        rm -rf "$NET"
    done
    fail "narrator up failed (ports)"
}

node_pid() { cat "$NET/node$1/narratord.pid"; }

# SIGKILL nodes and wait until they are really gone (or zombies), so that a restart right
# after does not find them "already running".
kill_nodes() { # i...
    local i pid pids=()
    for i in "$@"; do pids+=("$(node_pid "$i")"); done
    kill -KILL "${pids[@]}"
    for pid in "${pids[@]}"; do
        local deadline=$((SECONDS + 10))
        while kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" | cut -c1)" != Z ]; do
            [ $SECONDS -lt $deadline ] || fail "pid $pid survived SIGKILL"
            sleep 0.05
        done
    done
}

# Wait until node i reports `state` (ACTIVE, JOINING, HALTED) in `narrator status`.
wait_state() { # i state timeout_s
    local deadline=$((SECONDS + $3))
    while [ $SECONDS -lt $deadline ]; do
        if "$NARRATOR" status --dir "$NET" 2>/dev/null | grep -q "^node $1: .* $2 "; then
            return 0
        fi
        sleep 0.2
    done
    "$NARRATOR" status --dir "$NET" || true
    fail "node $1 did not reach $2 within $3 s"
}

# Run with the AE environment of node i.
ae_env() { # i
    # shellcheck disable=SC1090
    . "$NET/node$1/client.env"
}

# ---- the e2e loader (sequential updates on $RECORDS records; acknowledged ones in $ACKLOG)
ACKLOG="$E2E_DIR/acked.log"
STOP="$E2E_DIR/stop"
acks() { [ -f "$ACKLOG" ] && wc -l <"$ACKLOG" || echo 0; }
# Wait until at least `n` more updates are acknowledged (within timeout_s).
wait_more_acks() { # n timeout_s what
    local start deadline
    start=$(acks)
    deadline=$((SECONDS + $2))
    while [ $SECONDS -lt $deadline ]; do
        [ $(($(acks) - start)) -ge "$1" ] && return 0
        kill -0 "$LOADER_PID" 2>/dev/null || fail "loader died ($3)"
        sleep 0.1
    done
    fail "fewer than $1 updates acknowledged in $2 s: $3"
}

start_loader() {
    rm -f "$STOP"
    "$E2E_LOADER" load --records "$RECORDS" --log "$ACKLOG" --stop "$STOP" --timeout-ms 3000 \
        >"$E2E_DIR/loader.out" 2>"$E2E_DIR/loader.err" &
    LOADER_PID=$!
}
stop_loader() {
    touch "$STOP"
    wait "$LOADER_PID" || fail "loader exited with an error"
    LOADER_PID=
    cat "$E2E_DIR/loader.out"
}
verify() { # what
    "$E2E_LOADER" verify --records "$RECORDS" --log "$ACKLOG" || fail "S1 check failed: $1"
}
