#!/usr/bin/env bash
# libnarrator's public API against a real 3-node network (test_client_api, cmocka).
. "$(dirname "$0")/lib.sh"
: "${CLIENT_API_TEST:?CLIENT_API_TEST not set}"
net_up 3
ae_env 0
NET="$NET" "$CLIENT_API_TEST" || fail "test_client_api"
log "PASS"
