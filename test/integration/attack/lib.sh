# Shared helpers of the malicious-host tests (docs/attacks.md).
#
# The script plays the host: it owns every narratord process (they are its children, so it
# sees their exit codes), their files and, through attack_proxy, their network. A network
# is created with `narrator up` (keys, membership, configs), stopped, its stores emptied (so
# that the next start is a genesis) and started again as children of this script.
# Binaries come from the environment (CTest sets them): NARRATOR, NARRATORD, ATTACK_LOADER,
# ATTACK_PROXY. ATTACK_DURABILITY=disk runs the SEs in disk durability, ATTACK_SNAPSHOT=on|off
# sets their record snapshot; ATTACK_KEEP=1 keeps the temporary directory.
set -euo pipefail

: "${NARRATOR:?NARRATOR (path of the narrator CLI) not set}"
: "${NARRATORD:?NARRATORD (path of narratord) not set}"
: "${ATTACK_LOADER:?ATTACK_LOADER not set}"
export NARRATORD

T_NAME=$(basename "$0" .sh)
T_DIR=$(mktemp -d "/tmp/nr-attack-$T_NAME.XXXXXX")
NET="$T_DIR/net"
N=${ATTACK_N:-3}       # members (n = 2f+1)
declare -A DPID=()    # node index or name -> narratord pid (our children)
declare -A LPID=()    # loader name -> pid
declare -A LNODE=()   # loader name -> node whose socket it uses
declare -A LPREFIX=() # loader name -> record prefix
declare -A LRECS=()   # loader name -> record count
EXTRA_PIDS=()

log() { echo "[$T_NAME $(date +%T.%3N)] $*"; }

dump_logs() {
    local f
    for f in "$NET"/node*/narratord.log "$T_DIR"/*.log "$T_DIR"/*.out "$T_DIR"/*.err; do
        [ -s "$f" ] || continue
        case "$f" in *acks*.log) continue ;; esac
        echo "---- $f (last 15 lines)"
        tail -n 15 "$f" || true
    done
}

fail() {
    echo "FAIL [$T_NAME]: $*" >&2
    dump_logs >&2
    exit 1
}

cleanup() {
    local rc=$? p
    for p in "${LPID[@]}" "${EXTRA_PIDS[@]}" "${DPID[@]}"; do
        [ -n "$p" ] || continue
        kill -CONT "$p" 2>/dev/null || true
        kill -KILL "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ "$rc" -eq 0 ] && [ -z "${ATTACK_KEEP:-}" ]; then
        rm -rf "$T_DIR"
    else
        echo "[$T_NAME] files kept in $T_DIR" >&2
    fi
}
trap cleanup EXIT

# A base port such that base..base+19 and base+100..base+119 are free on loopback
# (base+0..2: members, +10..19: clones and proxies; +100..: their metrics).
pick_ports() {
    local tries=0 base used p clash
    # below the kernel's ephemeral range (32768..), avoiding every port in use
    used=$(ss -tanH 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
    while :; do
        base=$((10000 + (RANDOM % 220) * 100 + 20 * (RANDOM % 4)))
        clash=0
        for p in $(seq "$base" $((base + 19))) $(seq $((base + 100)) $((base + 119))); do
            if grep -qx "$p" <<<"$used"; then clash=1; break; fi
        done
        [ "$clash" = 0 ] && { echo "$base"; return; }
        tries=$((tries + 1))
        [ "$tries" -lt 50 ] || { echo "no free ports" >&2; return 1; }
    done
}

# start_daemon NAME CONFIG LOGFILE: narratord as our child; DPID[NAME] = its pid.
start_daemon() {
    "$NARRATORD" --config "$2" >>"$3" 2>&1 &
    DPID[$1]=$!
}

# start_node I: member I with its own config (node$I/se.ini); pidfile for `narrator status`.
start_node() {
    start_daemon "$1" "$NET/node$1/se.ini" "$NET/node$1/narratord.log"
    echo "${DPID[$1]}" >"$NET/node$1/narratord.pid"
}

# Metric value from a metrics port ("" if unreachable or absent).
metric() { # port name
    curl -s --max-time 2 "http://127.0.0.1:$1/metrics" 2>/dev/null |
        awk -v n="$2" '$1 == n { print $2; exit }' || true
}
mport() { echo $((BASE_PORT + 100 + $1)); } # metrics port of member I
nmetric() { metric "$(mport "$1")" "$2"; }   # node I, metric name

# Incarnation (hex) of member I, from `narrator status`.
incarnation() { # i
    "$NARRATOR" status --dir "$NET" 2>/dev/null |
        sed -n "s/^node $1: .*incarnation=\([0-9a-f]*\).*/\1/p"
}

# Wait until the narratord on metrics port P reports state S (1 joining, 2 active, 3 halted).
wait_state_port() { # port state timeout_s what
    local deadline=$((SECONDS + $3))
    while [ $SECONDS -lt $deadline ]; do
        [ "$(metric "$1" narrator_se_state)" = "$2" ] && return 0
        sleep 0.1
    done
    fail "$4: state $(metric "$1" narrator_se_state) after $3 s, wanted $2"
}
wait_active() { # i timeout_s
    wait_state_port "$(mport "$1")" 2 "$2" "node $1 ACTIVE"
}

# Wait until a condition (a shell command) holds.
wait_until() { # timeout_s what command...
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    while [ $SECONDS -lt $deadline ]; do
        "$@" && return 0
        sleep 0.1
    done
    fail "timed out ($what)"
}

# `narrator up` options. Default: --no-chain when the CLI has it (a network from the genesis
# file: these tests attack the SE protocol, not the on-chain initialisation, and the daemons
# are restarted after `narrator down`, which stops a private devnet). ATTACK_UP_ARGS overrides.
if [ -n "${ATTACK_UP_ARGS+set}" ]; then
    UP_ARGS=$ATTACK_UP_ARGS
elif [[ "$("$NARRATOR" up --help 2>&1 || true)" == *--no-chain* ]]; then
    UP_ARGS=--no-chain
else
    UP_ARGS=
fi

# net_create: an N-SE network (N = ATTACK_N, default 3) of our own children, all ACTIVE,
# with empty stores.
# Hook: NET_EDIT (a function name) runs after the configs exist and before the start.
net_create() {
    local try
    for try in 1 2 3; do # a port may be taken between the choice and the bind: retry
        BASE_PORT=$(pick_ports)
        # shellcheck disable=SC2086
        "$NARRATOR" up -n "$N" --dir "$NET" --base-port "$BASE_PORT" --timeout-ms 30000 \
            $UP_ARGS >"$T_DIR/up.out" 2>&1 && break
        cat "$T_DIR/up.out"
        "$NARRATOR" down --dir "$NET" >/dev/null 2>&1 || true
        rm -rf "$NET"
        [ "$try" -lt 3 ] || fail "narrator up failed"
    done
    "$NARRATOR" down --dir "$NET" >/dev/null 2>&1 || fail "narrator down failed"
    local i
    for i in $(seq 0 $((N - 1))); do
        rm -rf "$NET/node$i/data/store" "$NET/node$i/narratord.pid"
        : >"$NET/node$i/narratord.log"
    done
    if [ -n "${ATTACK_DURABILITY:-}" ]; then # memory (default) or disk
        sed -i "s/^Durability = .*/Durability = $ATTACK_DURABILITY/" "$NET"/node*/se.ini
    fi
    if [ -n "${ATTACK_SNAPSHOT:-}" ]; then # on|off: the record snapshot in the sealed store
        local f
        for f in "$NET"/node*/se.ini; do
            sed -i "/^Snapshot = /d; s/^\(Durability = .*\)$/\1\nSnapshot = $ATTACK_SNAPSHOT/" "$f"
            "$NARRATORD" --check -c "$f" >/dev/null || fail "Snapshot = $ATTACK_SNAPSHOT refused"
        done
    fi
    if [ -n "${NET_EDIT:-}" ]; then "$NET_EDIT"; fi
    for i in $(seq 0 $((N - 1))); do start_node "$i"; done
    for i in $(seq 0 $((N - 1))); do wait_active "$i" 30; done
    log "network of $N SEs ACTIVE on ports $BASE_PORT..$((BASE_PORT + N - 1)) (metrics +100)"
}

# Environment of an AE beside member I.
ae_env() { # i
    # shellcheck disable=SC1090
    . "$NET/node$1/client.env"
}
# Run a command as an AE beside member I, in a subshell (AE_SOCKET=PATH: through another
# SE socket on I's platform, e.g. a clone's).
as_ae() { # i cmd...
    local i=$1
    shift
    (
        ae_env "$i"
        if [ -n "${AE_SOCKET:-}" ]; then export NARRATOR_SOCKET=$AE_SOCKET; fi
        "$@"
    )
}

# start_loader NAME NODE PREFIX RECORDS [TAG]: sequential updates in the background, as AEs
# beside member NODE (LOADER_SOCKET=PATH: through another SE socket on NODE's platform).
start_loader() {
    local name=$1 node=$2 prefix=$3 recs=$4 tag=${5:-$1}
    rm -f "$T_DIR/stop-$name"
    (
        ae_env "$node"
        if [ -n "${LOADER_SOCKET:-}" ]; then export NARRATOR_SOCKET=$LOADER_SOCKET; fi
        exec "$ATTACK_LOADER" load --records "$recs" --prefix "$prefix" --tag "$tag" \
            --log "$T_DIR/acks-$name.log" --stop "$T_DIR/stop-$name" --timeout-ms 3000
    ) >"$T_DIR/loader-$name.out" 2>"$T_DIR/loader-$name.err" &
    LPID[$name]=$!
    LNODE[$name]=$node
    LPREFIX[$name]=$prefix
    LRECS[$name]=$recs
}

acks() { # loader name
    local f="$T_DIR/acks-$1.log"
    if [ -f "$f" ]; then grep -c '^A ' "$f" || true; else echo 0; fi
}

# wait_acks NAME N TIMEOUT WHAT: at least N more acknowledgements by loader NAME.
wait_acks() {
    local start deadline t0=$SECONDS
    start=$(acks "$1")
    deadline=$((SECONDS + $3))
    while [ $SECONDS -lt $deadline ]; do
        if [ $(($(acks "$1") - start)) -ge "$2" ]; then
            [ $((SECONDS - t0)) -lt 5 ] || log "note: loader $1 needed $((SECONDS - t0)) s for $2 acknowledgements ($4)"
            return 0
        fi
        kill -0 "${LPID[$1]}" 2>/dev/null || fail "loader $1 died ($4)"
        sleep 0.1
    done
    fail "loader $1: fewer than $2 updates acknowledged in $3 s: $4"
}

stop_loader() { # name
    touch "$T_DIR/stop-$1"
    wait "${LPID[$1]}" || fail "loader $1 exited with an error"
    LPID[$1]=
    log "$(cat "$T_DIR/loader-$1.out")"
}

# check_loaders NAME...: the guarantee checker over the logs of loaders that share one
# node and prefix (several AE instances of one record set pass several names). Reads go
# through the first loader's node (AE_SOCKET=PATH: through that socket instead).
check_loaders() {
    local first=$1 logs=() n
    for n in "$@"; do logs+=("$T_DIR/acks-$n.log"); done
    local out
    if ! out=$(as_ae "${LNODE[$first]}" "$ATTACK_LOADER" check --records "${LRECS[$first]}" \
        --prefix "${LPREFIX[$first]}" --timeout-ms 10000 "${logs[@]}" 2>&1); then
        echo "$out" >&2
        fail "guarantee check failed for loader(s) $*"
    fi
    log "$out"
    [ -n "${CHECKER_CONTROL_DONE:-}" ] || checker_control "$first"
}

# Negative control, once per test: the checker must fail on forged logs of loader NAME
# (a version above what the network holds claimed acknowledged: S1; the last acknowledged
# version of a record claimed with a second digest: S2).
checker_control() { # name
    CHECKER_CONTROL_DONE=1
    local name=$1 f="$T_DIR/acks-$1.log" last k v
    last=$(grep '^A ' "$f" | tail -n 1) || fail "loader $name acknowledged nothing"
    read -r _ k v _ <<<"$last"
    { cat "$f"; echo "A $k $((v + 1000)) $(printf '%064d' 0)"; } >"$T_DIR/forged-s1.log"
    { cat "$f"; echo "A $k $v $(printf 'ab%062d' 0)"; } >"$T_DIR/forged-s2.log"
    local forged rc
    for forged in s1 s2; do
        rc=0
        as_ae "${LNODE[$name]}" "$ATTACK_LOADER" check --records "${LRECS[$name]}" \
            --prefix "${LPREFIX[$name]}" "$T_DIR/forged-$forged.log" \
            >"$T_DIR/forged-$forged.out" 2>&1 || rc=$?
        [ "$rc" = 1 ] && grep -q "VIOLATION ${forged^^}" "$T_DIR/forged-$forged.out" ||
            fail "negative control: the checker did not report the forged ${forged^^} violation (exit $rc)"
    done
    log "negative control: the checker rejects forged S1 and S2 violations"
}

# Wait until daemon NAME has exited (within timeout_s) and set EXIT_CODE to its exit code.
# (Not in a command substitution: only this shell can wait for its children.)
daemon_exit() { # name timeout_s
    local pid=${DPID[$1]} deadline=$((SECONDS + $2))
    # a zombie child still answers kill -0: look at its state
    while [ $SECONDS -lt $deadline ] && [ -e "/proc/$pid" ] &&
        [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; do
        sleep 0.1
    done
    if [ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
        fail "daemon $1 (pid $pid) still running after $2 s"
    fi
    EXIT_CODE=0
    wait "$pid" || EXIT_CODE=$?
    DPID[$1]=
}

kill_node() { # i [signal]
    kill "-${2:-KILL}" "${DPID[$1]}"
    wait "${DPID[$1]}" 2>/dev/null || true
    DPID[$1]=
}

# clone_config I OFFSET CUT_PEER DATADIR OUT: a config for a second instance of member I
# (same identity and platform) with its own Listen/Socket/Metrics (BASE_PORT+OFFSET) and
# DataDir, cut off from member CUT_PEER: its [Peer] section is omitted if CUT_PEER < I (that
# member dials us; the clone's Listen is not in its config, so it never dials the clone), and
# pointed at a port where nobody listens if CUT_PEER > I (narratord requires a [Peer] section
# for every member it dials).
clone_config() { # i offset cut_peer datadir out
    local i=$1 off=$2 cut=$3 data=$4 out=$5
    awk -v cut="$cut" -v self="$i" -v listen="127.0.0.1:$((BASE_PORT + off))" \
        -v sock="$T_DIR/clone$i.sock" -v metrics="127.0.0.1:$((BASE_PORT + 100 + off))" \
        -v dead="127.0.0.1:$((BASE_PORT + 19))" -v data="$data" '
        /^\[/ { sect = $0; skip = 0; dead_peer = 0 }
        sect == "[Peer]" && /^Index *=/ && $3 == cut { if (cut + 0 < self + 0) { skip = 1; held = "" } else dead_peer = 1 }
        sect == "[Peer]" && /^\[Peer\]/ { held = $0; next }
        skip { next }
        held != "" { print held; held = "" }
        dead_peer && /^Endpoint *=/ { print "Endpoint = " dead; next }
        /^Listen *=/ { print "Listen = " listen; next }
        /^Socket *=/ { print "Socket = " sock; next }
        /^Metrics *=/ { print "Metrics = " metrics; next }
        /^DataDir *=/ { print "DataDir = " data; next }
        { print }' "$NET/node$i/se.ini" >"$out"
    "$NARRATORD" --check -c "$out" >/dev/null || fail "clone config $out rejected"
}

# ---- the link relay (attack_proxy) between member 0 (dialer) and member 1 ----
CAP="$T_DIR/capture"
CTL="$T_DIR/proxy.ctl"
mkdir -p "$CAP"

# start_relay SUFFIX MEMBER: point node 0's Endpoint for MEMBER at a relay on port
# BASE_PORT+11+MEMBER that forwards to MEMBER, and start it (output proxySUFFIX.out, control
# file $CTL$SUFFIX, captures in $CAP$SUFFIX). Before the daemons start (NET_EDIT hook).
start_relay() {
    : "${ATTACK_PROXY:?ATTACK_PROXY not set}"
    local sfx=$1 m=$2 port=$((BASE_PORT + 11 + $2))
    sed -i "/^Index = $m$/{n;s/^Endpoint = .*/Endpoint = 127.0.0.1:$port/}" "$NET/node0/se.ini"
    grep -q "Endpoint = 127.0.0.1:$port" "$NET/node0/se.ini" || fail "config edit"
    mkdir -p "$CAP$sfx"
    "$ATTACK_PROXY" relay --listen "$port" --target $((BASE_PORT + m)) --dir "$CAP$sfx" \
        --ctl "$CTL$sfx" >"$T_DIR/proxy$sfx.out" 2>&1 &
    EXTRA_PIDS+=($!)
    wait_until 5 "relay to member $m listening" grep -q "^relay " "$T_DIR/proxy$sfx.out"
}
# NET_EDIT hook: the link 0-1 through a relay ("" suffix).
start_proxy() { start_relay "" 1; }

proxy_alive() {
    local p
    for p in "${EXTRA_PIDS[@]}"; do kill -0 "$p" 2>/dev/null || fail "attack_proxy died"; done
}
# PX selects the relay the helpers talk to: "" the SE<->SE one, "-local" an AE<->SE one.
PX=""
ctl_answers() { grep -c "^ctl " "$T_DIR/proxy$PX.out" || true; }
ctl_answered() { [ "$(ctl_answers)" -gt "$1" ]; }
# proxy_ctl CMD: send one command to the relay; its answer line goes to CTL_ANSWER.
# (Not in a command substitution: fail must end the test, not a subshell.)
proxy_ctl() {
    local before
    before=$(ctl_answers)
    echo "$1" >"$CTL$PX.tmp" && mv "$CTL$PX.tmp" "$CTL$PX"
    wait_until 5 "proxy answers '$1'" ctl_answered "$before"
    CTL_ANSWER=$(grep "^ctl " "$T_DIR/proxy$PX.out" | tail -n 1)
}
relayed() { grep -c ": relaying$" "$T_DIR/proxy$PX.out" || true; }
reconnected() { [ "$(relayed)" -gt "$1" ]; }
# wait_metric_above NODE NAME OLD: the counter grows past OLD within 10 s.
wait_metric_above() {
    local deadline=$((SECONDS + 10)) v
    while [ $SECONDS -lt $deadline ]; do
        v=$(nmetric "$1" "$2")
        [ -n "$v" ] && [ "$v" -gt "$3" ] && return 0
        sleep 0.1
    done
    fail "node $1: $2 stayed at ${v:-?} (was $3)"
}
