#!/usr/bin/env bash
# Randomised host (docs/attacks.md): ATTACK_ROUNDS rounds (default 10), one seed
# (ATTACK_SEED, printed; the same seed replays the same schedule of host actions, not the
# same timing). Every SE sequences its own AEs' records under load. Each round the host takes
# a member and, at random: SIGKILLs and restarts it; SIGKILLs it and restores a copy of its
# data directory taken in an earlier round (while it was running); pauses it (SIGSTOP) for
# 0.2-1.5 s and resumes it; pauses it together with another member (no quorum for a while);
# or SIGKILLs and restarts it while another member is paused (its join must wait: one other
# member is not f+1 = 2). Copies of data directories are taken at random moments. Memory is
# lost by at most one member at a time (the fault budget, f = 1), so after every round all
# three must be ACTIVE again and every loader must make progress; at the end the checker must
# find zero S1/S2 violations over every acknowledged update.
. "$(dirname "$0")/lib.sh"

SEED=${ATTACK_SEED:-$((RANDOM * 32768 + RANDOM))}
ROUNDS=${ATTACK_ROUNDS:-10}
RANDOM=$((SEED % 32768))
log "seed $SEED (replay: ATTACK_SEED=$SEED), $ROUNDS rounds"
SNAP="$T_DIR/snapshots"
mkdir -p "$SNAP"

net_create
start_loader a 0 a- 24
start_loader b 1 b- 24
start_loader c 2 c- 24
for l in a b c; do wait_acks "$l" 200 30 "network up"; done

for round in $(seq 1 "$ROUNDS"); do
    n=$((RANDOM % 3))
    op=$((RANDOM % 5))
    m=$(((n + 1 + RANDOM % 2) % 3)) # another member
    if [ $((RANDOM % 2)) = 0 ]; then
        cp -a "$NET/node$n/data" "$SNAP/$n.$round"
    fi
    case $op in
    0)
        log "round $round: SIGKILL node $n, restart"
        kill_node "$n"
        start_node "$n"
        ;;
    1)
        mapfile -t snaps < <(ls -d "$SNAP/$n".* 2>/dev/null || true)
        if [ "${#snaps[@]}" -gt 0 ]; then
            pick=${snaps[$((RANDOM % ${#snaps[@]}))]}
        else
            pick=""
        fi
        what="nothing (no copy yet)"
        [ -z "$pick" ] || what="its copy of round ${pick##*.}"
        log "round $round: SIGKILL node $n, restore $what, restart"
        kill_node "$n"
        if [ -n "$pick" ]; then
            rm -rf "$NET/node$n/data"
            cp -a "$pick" "$NET/node$n/data"
        fi
        start_node "$n"
        ;;
    2)
        ms=$((200 + RANDOM % 1300))
        log "round $round: pause node $n for $ms ms"
        kill -STOP "${DPID[$n]}"
        sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
        kill -CONT "${DPID[$n]}"
        ;;
    3)
        ms=$((200 + RANDOM % 800))
        log "round $round: pause nodes $n and $m together for $ms ms (no quorum meanwhile)"
        kill -STOP "${DPID[$n]}" "${DPID[$m]}"
        sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
        kill -CONT "${DPID[$n]}" "${DPID[$m]}"
        ;;
    4)
        ms=$((300 + RANDOM % 700))
        log "round $round: SIGKILL node $n and restart it while node $m is paused for $ms ms"
        kill_node "$n"
        kill -STOP "${DPID[$m]}"
        start_node "$n"
        sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
        [ "$(nmetric "$n" narrator_se_state)" != 2 ] ||
            fail "round $round: node $n joined with only one other member running"
        kill -CONT "${DPID[$m]}"
        ;;
    esac
    wait_active "$n" 30
    for i in 0 1 2; do
        kill -0 "${DPID[$i]}" 2>/dev/null || fail "round $round: node $i is not running"
        [ "$(nmetric "$i" narrator_se_state)" = 2 ] || fail "round $round: node $i is not ACTIVE"
    done
    for l in a b c; do wait_acks "$l" 50 30 "after round $round"; done
done

for l in a b c; do stop_loader "$l"; done
for l in a b c; do check_loaders "$l"; done
for n in 0 1 2; do
    log "node $n: incarnation $(incarnation "$n"), fork_attempts $(nmetric "$n" narrator_fork_attempts_total)," \
        "stale_leftovers $(nmetric "$n" narrator_stale_leftovers_total)," \
        "joins_admitted $(nmetric "$n" narrator_joins_admitted_total)"
done
log "PASS (seed $SEED)"
