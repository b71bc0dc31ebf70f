/* libnarrator's single-record API (nr_open, nr_update, nr_read, nr_update_submit /
 * nr_update_wait, nr_restore): a session (session.c) with one record, plus the ring of
 * pipelined updates that nr_update_wait collects in submission order. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client/client_internal.h"
#include "core/wire.h"

int nr_open(struct nr_client **out, const struct nr_client_options *opt, const char *record_name)
{
    if (!out || !opt || !record_name || !opt->socket_path || !opt->code_identity) {
        return NR_EINVAL;
    }
    *out = NULL;
    size_t name_len = strlen(record_name);
    if (name_len == 0 || name_len > NR_MAX_NAME) {
        return NR_EINVAL;
    }
    struct nr_client *c = calloc(1, sizeof *c);
    if (!c) {
        return NR_ENOMEM;
    }
    int rc = nr_session_open(&c->s, opt);
    if (rc) {
        goto out;
    }
    c->tee = c->s->tee;
    memcpy(c->system_id, c->s->system_id, NR_SYSTEM_ID_BYTES);
    c->window = c->s->window;
    c->ring = calloc(c->window, sizeof *c->ring);
    if (!c->ring) {
        rc = NR_ENOMEM;
        goto out;
    }
    rc = nr_record_open(&c->r, c->s, record_name);
    if (rc) {
        goto out;
    }
    *out = c;
    return NR_OK;
out:
    nr_close(c);
    return rc;
}

void nr_close(struct nr_client *c)
{
    if (!c) {
        return;
    }
    if (c->r && c->r->outstanding == 0) {
        free(c->r);
    } else if (c->r) {
        c->r->closing = 1; /* freed with the session */
    }
    nr_session_close(c->s);
    free(c->ring);
    sodium_memzero(c, sizeof *c);
    free(c);
}

/* One synchronous request on the single record. */
static int client_roundtrip(struct nr_client *c, struct nr_client_msg *m, uint8_t op,
                            struct nr_slot *reply)
{
    if (c->s->broken) {
        return NR_ECLOSED;
    }
    if (c->count > 0) {
        return NR_EBUSY; /* pipelined writes outstanding: collect them first */
    }
    m->record = c->r->handle;
    return nr_session_roundtrip(c->s, m, c->r, op, reply);
}

int nr_update(struct nr_client *c, uint64_t version, const uint8_t digest[NR_DIGEST_BYTES],
              uint64_t *committed)
{
    if (!c || !digest || version == 0) {
        return NR_EINVAL;
    }
    struct nr_client_msg m;
    struct nr_slot reply;
    memset(&m, 0, sizeof m);
    m.type = NR_C_UPDATE;
    m.version = version;
    memcpy(m.digest, digest, NR_DIGEST_BYTES);
    int rc = client_roundtrip(c, &m, NR_OP_UPDATE, &reply);
    if (rc) {
        return rc;
    }
    if (committed) {
        *committed = reply.status == NR_OK ? reply.version : 0;
    }
    return reply.status;
}

int nr_read(struct nr_client *c, uint64_t *version, uint8_t digest[NR_DIGEST_BYTES])
{
    if (!c || !version || !digest) {
        return NR_EINVAL;
    }
    struct nr_client_msg m;
    struct nr_slot reply;
    memset(&m, 0, sizeof m);
    m.type = NR_C_READ;
    int rc = client_roundtrip(c, &m, NR_OP_READ, &reply);
    if (rc) {
        return rc;
    }
    if (reply.status == NR_ENORECORD || (reply.status == NR_OK && reply.version == 0)) {
        *version = 0;
        memset(digest, 0, NR_DIGEST_BYTES);
        return NR_OK;
    }
    if (reply.status != NR_OK) {
        return reply.status;
    }
    *version = reply.version;
    memcpy(digest, reply.digest, NR_DIGEST_BYTES);
    return NR_OK;
}

int nr_update_submit(struct nr_client *c, uint64_t version, const uint8_t digest[NR_DIGEST_BYTES])
{
    if (!c || !digest || version == 0) {
        return NR_EINVAL;
    }
    if (c->s->broken) {
        return NR_ECLOSED;
    }
    if (c->count >= c->window) {
        return NR_EFULL;
    }
    uint64_t tag = c->next_tag++;
    int rc = nr_record_submit_update(c->r, version, digest, tag);
    if (rc) {
        return rc;
    }
    struct nr_pending *p = &c->ring[(c->head + c->count) % c->window];
    memset(p, 0, sizeof *p);
    p->tag = tag;
    p->version = version;
    c->count++;
    return NR_OK;
}

int nr_update_wait(struct nr_client *c, uint64_t *committed)
{
    if (!c) {
        return NR_EINVAL;
    }
    if (c->count == 0) {
        return NR_ENOTFOUND;
    }
    if (c->s->broken) {
        return NR_ECLOSED;
    }
    struct nr_pending *head = &c->ring[c->head];
    while (!head->done) {
        struct nr_completion done[64];
        size_t n = 0;
        int rc = nr_session_wait(c->s, done, 64, &n);
        if (rc) {
            return rc == NR_ENOTFOUND ? nr_session_fail(c->s, NR_EMALFORMED) : rc;
        }
        for (size_t k = 0; k < n; k++) {
            /* tags are consecutive from the head's */
            uint64_t off = done[k].tag - head->tag;
            if (off >= c->count) {
                return nr_session_fail(c->s, NR_EMALFORMED);
            }
            struct nr_pending *p = &c->ring[(c->head + (uint32_t)off) % c->window];
            p->done = 1;
            p->status = done[k].status;
        }
    }
    int status = head->status;
    if (committed) {
        *committed = status == NR_OK ? head->version : 0;
    }
    c->head = (c->head + 1) % c->window;
    c->count--;
    return status;
}

/* Restart check: the network record first, then the sealed files (seal.c). */
int nr_client_genesis(struct nr_client *c, uint8_t out[NR_GENESIS_ID_BYTES])
{
    if (!c->s->has_genesis) {
        struct nr_client_msg m;
        struct nr_slot reply;
        memset(&m, 0, sizeof m);
        m.type = NR_C_STATUS; /* record 0 (wire.h) */
        if (c->s->broken) {
            return NR_ECLOSED;
        }
        int rc = nr_session_roundtrip(c->s, &m, c->r, NR_OP_STATUS_, &reply);
        if (rc) {
            return rc;
        }
        if (!c->s->has_genesis) {
            return NR_ENOTREADY;
        }
    }
    memcpy(out, c->s->genesis, NR_GENESIS_ID_BYTES);
    return NR_OK;
}

int nr_genesis_id(struct nr_client *c, uint8_t out[NR_GENESIS_ID_BYTES])
{
    if (!c || !out) {
        return NR_EINVAL;
    }
    return nr_client_genesis(c, out);
}

int nr_restore(struct nr_client *c, const char *path, uint8_t *state, size_t cap, size_t *len,
               uint64_t *version, int *result)
{
    if (!c || !path || (!state && cap > 0) || !len || !version || !result) {
        return NR_EINVAL;
    }
    uint64_t vn = 0;
    uint8_t dn[NR_DIGEST_BYTES];
    uint8_t gn[NR_GENESIS_ID_BYTES];
    int rc = nr_read(c, &vn, dn);
    if (rc == NR_OK) {
        rc = nr_client_genesis(c, gn);
    }
    if (rc == NR_OK) {
        rc =
            nr_restore_local(c, path, vn, dn, gn, (const uint8_t(*)[NR_GENESIS_ID_BYTES])c->s->pred,
                             c->s->npred, state, cap, len, version, result);
    }
    sodium_memzero(dn, sizeof dn);
    return rc;
}
