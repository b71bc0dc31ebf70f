#!/usr/bin/env bash
# libnarrator sessions against a real 3-node network (test_session_api, cmocka).
. "$(dirname "$0")/../e2e/lib.sh"
: "${SESSION_API_TEST:?SESSION_API_TEST not set}"
net_up 3
ae_env 0
NET="$NET" "$SESSION_API_TEST" || fail "test_session_api"
log "PASS"
