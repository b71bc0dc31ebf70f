/* Metrics endpoint (evhttp): GET /metrics in Prometheus text format (core nr_se_stats plus
 * transport and store counters), GET /status as one JSON object; HEAD on both. Read-only;
 * anything else is 404 / 405. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <sodium.h>

#include "host/daemon.h"

const char *nr_se_state_name(enum nr_se_state s)
{
    switch (s) {
    case NR_SE_JOINING:
        return "joining";
    case NR_SE_ACTIVE:
        return "active";
    case NR_SE_HALTED:
        return "halted";
    case NR_SE_FROZEN:
        return "frozen";
    }
    return "unknown";
}

/* GET and HEAD are served (evhttp sends no body for HEAD); anything else is 405. */
static int method_ok(struct evhttp_request *req)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD)
        return 1;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
    evhttp_send_error(req, 405, "Method Not Allowed");
    return 0;
}

static void metric(struct evbuffer *b, const char *name, const char *type, const char *help,
                   uint64_t v)
{
    evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
                        (unsigned long long)v);
}

static void metrics_cb(struct evhttp_request *req, void *arg)
{
    struct nr_daemon *d = arg;
    struct evbuffer *b;
    const struct nr_se_stats *s = nr_se_stats(d->se);
    const struct nr_peer_stats *ps = nr_peer_net_stats(d->peer);
    const struct nr_local_stats *ls = nr_local_server_stats(d->local);
    const struct nr_daemon_stats *h = &d->stats;
    nr_inc_t view[NR_MAX_MEMBERS];

    if (!method_ok(req))
        return;
    b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, 500, "Internal Error");
        return;
    }
#define C(name, help, v) metric(b, "narrator_" name, "counter", help, v)
#define G(name, help, v) metric(b, "narrator_" name, "gauge", help, v)
    G("se_state", "SE state: 1 joining, 2 active, 3 halted", (uint64_t)nr_se_state(d->se));
    G("se_index", "member index of this SE", d->cfg.index);
    G("se_members", "members n", d->n);
    G("se_incarnation_epoch", "epoch of this incarnation",
      nr_incarnation_epoch(nr_se_incarnation(d->se)));
    G("se_records", "records stored", (uint64_t)nr_se_record_count(d->se));
    G("uptime_seconds", "seconds since start", (nr_now_ms() - d->start_ms) / 1000u);
    C("writes_committed_total", "client writes committed", s->writes_committed);
    C("reads_served_total", "client reads served", s->reads_served);
    C("batches_committed_total", "PREPARE batches committed", s->batches_committed);
    C("msgs_in_total", "protocol messages received by the core", s->msgs_in);
    C("msgs_dropped_malformed_total", "malformed protocol messages dropped",
      s->msgs_dropped_malformed);
    C("msgs_dropped_stale_inc_total", "messages from non-admitted incarnations dropped",
      s->msgs_dropped_stale_inc);
    C("msgs_dropped_unexpected_total", "unexpected messages dropped", s->msgs_dropped_unexpected);
    C("conflicts_refused_total", "client writes refused (version != last+1)", s->conflicts_refused);
    C("fork_attempts_total", "FORK attempts detected (two digests for one version)",
      s->fork_attempts);
    C("stale_leftovers_total", "uncommitted values of older incarnations overwritten",
      s->stale_leftovers);
    C("joins_admitted_total", "peer incarnations admitted", s->joins_admitted);
    C("join_replies_discarded_total", "join replies filtered out by views",
      s->join_replies_discarded);
    C("votes_discarded_total", "votes filtered out by views", s->votes_discarded);
    G("superseded", "1 once this instance learned it is superseded", s->superseded);
    G("total_failure", "1 while total failure is detected (joining, retrying)", s->total_failure);
    G("anchored", "1: genesis anchored on chain; 0: UNANCHORED (development only)",
      (uint64_t)d->anchored);
    C("msgs_dropped_genesis_total", "messages from instances of another network dropped",
      s->msgs_dropped_genesis);
    C("genesis_proposals_total", "genesis records proposed to the chain", s->genesis_proposals);
    C("anchor_refused_total", "chain anchor records refused by the core", s->anchor_refused);
    G("anchor_height", "highest confirmed block of an accepted chain anchor", s->anchor_height);
    C("incarnation_collisions_total", "two instances of a member seen with one incarnation",
      s->incarnation_collisions);
    G("peers_connected", "authenticated peer connections", nr_peer_net_connected(d->peer));
    G("clients_connected", "local AE connections", nr_local_server_clients(d->local));
    C("peer_connects_total", "peer channels established", ps->connects);
    C("peer_disconnects_total", "peer channels lost", ps->disconnects);
    C("peer_handshake_failures_total", "peer handshakes failed", ps->handshake_failures);
    C("peer_frames_oversize_total", "peer frames over the size cap", ps->frames_oversize);
    C("peer_refused_pending_total", "peer connections refused: too many pending handshakes",
      ps->refused_pending);
    C("peer_frames_unauth_total", "peer frames failing authentication or replay check",
      ps->frames_unauth);
    C("peer_wrong_direction_total", "peer connections refused (lower index dials)",
      ps->wrong_direction);
    C("peer_msgs_in_total", "peer messages received", ps->msgs_in);
    C("peer_msgs_out_total", "peer messages sent", ps->msgs_out);
    C("peer_bytes_in_total", "peer message bytes received", ps->bytes_in);
    C("peer_bytes_out_total", "peer message bytes sent", ps->bytes_out);
    C("peer_sends_dropped_noconn_total", "sends dropped: no channel to the peer",
      ps->sends_dropped_noconn);
    C("peer_sends_dropped_backpressure_total", "sends dropped: peer output buffer full",
      ps->sends_dropped_backpressure);
    C("peer_core_rejects_total", "peer messages the core refused", ps->core_rejects);
    C("local_connects_total", "local AE connections accepted", ls->connects);
    C("local_handshake_failures_total", "local handshakes failed", ls->handshake_failures);
    C("local_frames_oversize_total", "local frames over the size cap", ls->frames_oversize);
    C("local_refused_pending_total", "local connections refused: too many pending handshakes",
      ls->refused_pending);
    C("local_frames_unauth_total", "local frames failing authentication",
      ls->frames_unauth);
    C("local_malformed_total", "malformed client messages", ls->malformed);
    C("client_writes_total", "client write requests", ls->client_writes);
    C("client_reads_total", "client read requests", ls->client_reads);
    C("client_replies_total", "client replies sent", ls->client_replies);
    C("client_replies_dropped_total", "client replies dropped (connection gone)",
      ls->client_replies_dropped);
    C("store_records_total", "records written to the sealed store", h->store_records);
    C("store_commits_total", "store group commits", h->store_commits);
    C("store_errors_total", "store errors", h->store_errors);
    C("loop_iterations_total", "event loop iterations", h->loop_iterations);
#undef C
#undef G
    nr_se_view(d->se, view);
    evbuffer_add_printf(b, "# HELP narrator_view_epoch epoch of the incarnation this SE "
                           "accepts for each member\n# TYPE narrator_view_epoch gauge\n");
    for (uint16_t i = 0; i < d->n; i++)
        evbuffer_add_printf(b, "narrator_view_epoch{member=\"%u\"} %u\n", i,
                            nr_incarnation_epoch(view[i]));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static void status_cb(struct evhttp_request *req, void *arg)
{
    struct nr_daemon *d = arg;
    struct evbuffer *b;
    const struct nr_se_stats *s = nr_se_stats(d->se);
    nr_inc_t view[NR_MAX_MEMBERS];

    if (!method_ok(req))
        return;
    b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, 500, "Internal Error");
        return;
    }
    nr_se_view(d->se, view);
    uint8_t gid[NR_GENESIS_ID_BYTES];
    char gid_hex[2 * NR_GENESIS_ID_BYTES + 1] = "";
    if (nr_se_genesis_id(d->se, gid) == NR_OK)
        sodium_bin2hex(gid_hex, sizeof gid_hex, gid, sizeof gid);
    char sys_hex[2 * NR_SYSTEM_ID_BYTES + 1];
    sodium_bin2hex(sys_hex, sizeof sys_hex, d->system_id, sizeof d->system_id);
    evbuffer_add_printf(b,
                        "{\"system_id\":\"%s\",\"anchor\":\"%s\",\"genesis\":\"%s\","
                        "\"total_failure\":%s,",
                        sys_hex, d->anchored ? "anchored" : "unanchored", gid_hex,
                        s->total_failure ? "true" : "false");
    evbuffer_add_printf(
        b,
        "\"index\":%u,\"n\":%u,\"f\":%u,\"state\":\"%s\","
        "\"incarnation\":\"%016llx\",\"records\":%llu,"
        "\"writes_committed\":%llu,\"reads_served\":%llu,"
        "\"peers_connected\":%u,\"clients\":%u,\"uptime_s\":%llu,\"view\":[",
        d->cfg.index, d->n, d->f, nr_se_state_name(nr_se_state(d->se)),
        (unsigned long long)nr_se_incarnation(d->se), (unsigned long long)nr_se_record_count(d->se),
        (unsigned long long)s->writes_committed, (unsigned long long)s->reads_served,
        nr_peer_net_connected(d->peer), nr_local_server_clients(d->local),
        (unsigned long long)((nr_now_ms() - d->start_ms) / 1000u));
    for (uint16_t i = 0; i < d->n; i++)
        evbuffer_add_printf(b, "%s\"%016llx\"", i ? "," : "", (unsigned long long)view[i]);
    evbuffer_add_printf(b, "],\"peers\":[");
    int first = 1;
    for (uint16_t i = 0; i < d->n; i++) {
        struct nr_peer_info p;
        if (!nr_peer_net_info(d->peer, i, &p))
            continue;
        evbuffer_add_printf(b,
                            "%s{\"index\":%u,\"endpoint\":\"%s\",\"connected\":%s,"
                            "\"connections\":%u,"
                            "\"connects\":%llu,\"msgs_in\":%llu,\"msgs_out\":%llu}",
                            first ? "" : ",", i, p.endpoint, p.n_conns ? "true" : "false",
                            p.n_conns, (unsigned long long)p.connects,
                            (unsigned long long)p.msgs_in, (unsigned long long)p.msgs_out);
        first = 0;
    }
    evbuffer_add_printf(b, "]}\n");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

int nr_metrics_start(struct nr_daemon *d)
{
    if (!d->cfg.has_metrics)
        return NR_OK;
    d->http = evhttp_new(d->base);
    if (!d->http)
        return NR_ENOMEM;
    d->http_listener = evconnlistener_new_bind(
        d->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 16,
        (struct sockaddr *)&d->cfg.metrics.sa, (int)d->cfg.metrics.len);
    if (!d->http_listener) {
        NR_LOGE("cannot listen for metrics on %s: %s", d->cfg.metrics.text, strerror(errno));
        return NR_EIO;
    }
    if (!evhttp_bind_listener(d->http, d->http_listener)) {
        evconnlistener_free(d->http_listener);
        d->http_listener = NULL;
        return NR_EIO;
    }
    /* evhttp owns the listener from now on */
    evhttp_set_allowed_methods(d->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_max_headers_size(d->http, 8192);
    evhttp_set_max_body_size(d->http, 0);
    evhttp_set_timeout(d->http, 10);
    evhttp_set_cb(d->http, "/metrics", metrics_cb, d);
    evhttp_set_cb(d->http, "/status", status_cb, d);
    NR_LOGI("metrics on http://%s/metrics", d->cfg.metrics.text);
    return NR_OK;
}

void nr_metrics_stop(struct nr_daemon *d)
{
    if (d->http) {
        evhttp_free(d->http); /* frees the bound listener */
        d->http = NULL;
        d->http_listener = NULL;
    }
}
