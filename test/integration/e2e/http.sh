#!/usr/bin/env bash
# e2e http: the status endpoint of a real narratord. GET and HEAD are served on /metrics and
# /status (HEAD used to answer 405), other methods are refused, other paths are 404.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl missing (scripts/deps.sh)"

E2E_UP_ARGS=--no-chain net_up 3
M="http://127.0.0.1:$((BASE_PORT + 100))"

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
for path in /metrics /status; do
    [ "$(code "$M$path")" = 200 ] || fail "GET $path is not 200"
    c=$(code -I "$M$path")
    [ "$c" = 200 ] || fail "HEAD $path answers $c, want 200"
    c=$(code -X POST "$M$path")
    case "$c" in 405 | 501) ;; *) fail "POST $path answers $c, want 405 or 501" ;; esac
done
[ "$(code "$M/nope")" = 404 ] || fail "an unknown path is not 404"
body=$(curl -s "$M/metrics")
grep -q '^narrator_se_state 2$' <<<"$body" || fail "GET /metrics: not ACTIVE"
[ -z "$(curl -s -I "$M/metrics" | tr -d '\r' | sed '1,/^$/d')" ] || fail "HEAD sent a body"
log "PASS"
