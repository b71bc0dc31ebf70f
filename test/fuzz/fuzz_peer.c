/* Fuzz target: SE<->SE messages into the protocol core (nr_se_on_peer_msg), in the states
 * whose handlers parse bodies: an ACTIVE member, a FROZEN one, a collector of a handover,
 * and a JOINING instance. The messages arrive over authenticated channels, but the core
 * decodes them as untrusted bytes (src/core/wire.h): any input must be dropped or handled,
 * never crash, and the core must stay usable.
 *
 * Input: byte 0 selects the receiver's state (mod 4) and byte 1 the sender (1 or 2); the rest
 * is one message. Each run builds a fresh 3-member network in memory (unanchored, genesis
 * and a few writes, deterministic), so every input is replayable on its own.
 *
 * The corpus (test/fuzz/corpus/peer) holds real messages of every type, captured from such a
 * network: `fuzz_peer_gen DIR` (this file built with NR_FUZZ_PEER_GEN) writes them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/wire.h"
#include "fuzz_replay.h"

#define N 3
#define MAXQ 512

struct qmsg {
    uint16_t from, to;
    size_t len;
    uint8_t *b;
};

struct net {
    struct nr_se *se[N];
    struct qmsg q[MAXQ];
    size_t qh, qt;
    uint64_t now;
    const char *gen_dir; /* capture mode */
    unsigned gen_count;
};

struct node {
    struct net *net;
    uint16_t idx;
};

static struct node nodes[N];

static void capture(struct net *net, uint16_t from, uint16_t to, const uint8_t *m, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/msg-%03u-t%u", net->gen_dir, net->gen_count++, m[1]);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    uint8_t head[2] = {(uint8_t)(net->gen_count % 4u), (uint8_t)from};
    (void)to;
    fwrite(head, 1, 2, f);
    fwrite(m, 1, len, f);
    fclose(f);
}

static void on_send(void *ctx, uint16_t to, const uint8_t *msg, size_t len)
{
    struct node *nd = ctx;
    struct net *net = nd->net;
    if (net->gen_dir && (to == 0 || nd->idx != 0) && net->gen_count < 400)
        capture(net, nd->idx, to, msg, len);
    if (net->qt - net->qh >= MAXQ)
        return;
    struct qmsg *q = &net->q[net->qt++ % MAXQ];
    q->from = nd->idx;
    q->to = to;
    q->len = len;
    q->b = malloc(len);
    if (q->b)
        memcpy(q->b, msg, len);
}

static void on_reply(void *ctx, uint64_t c, uint64_t r, int st, uint64_t v, const uint8_t *d)
{
    (void)ctx, (void)c, (void)r, (void)st, (void)v, (void)d;
}

static int on_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[NR_SIG_BYTES])
{
    (void)ctx;
    memset(sig, 0, NR_SIG_BYTES); /* the core does not verify signatures; content is opaque */
    for (size_t i = 0; i < len; i++)
        sig[i % NR_SIG_BYTES] ^= msg[i];
    return 0;
}

static void run(struct net *net, unsigned rounds)
{
    for (unsigned k = 0; k < rounds; k++) {
        while (net->qh != net->qt) {
            struct qmsg q = net->q[net->qh++ % MAXQ];
            if (q.b && net->se[q.to])
                (void)nr_se_on_peer_msg(net->se[q.to], q.from, q.b, q.len, net->now);
            free(q.b);
        }
        net->now += 10;
        for (uint16_t i = 0; i < N; i++)
            if (net->se[i]) {
                nr_se_flush(net->se[i], net->now);
                nr_se_tick(net->se[i], net->now);
            }
    }
}

static int make(struct net *net, uint16_t i, uint32_t epoch)
{
    struct nr_se_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.n = N;
    cfg.f = 1;
    cfg.self = i;
    cfg.incarnation = nr_incarnation_make(1, 0x100u * (i + 1u) + epoch);
    cfg.max_records = 64;
    cfg.epoch = epoch;
    cfg.anchored = epoch > 1;
    nodes[i].net = net;
    nodes[i].idx = i;
    struct nr_se_io io = {
        .ctx = &nodes[i], .send_peer = on_send, .client_reply = on_reply, .sign = on_sign};
    return nr_se_create(&net->se[i], &cfg, &io);
}

static void drain(struct net *net)
{
    while (net->qh != net->qt)
        free(net->q[net->qh++ % MAXQ].b);
}

/* mode 0 ACTIVE, 1 FROZEN (peer's handover), 2 collecting a handover, 3 JOINING (epoch 2,
 * start state loaded) */
static int setup(struct net *net, unsigned mode)
{
    uint32_t epoch = mode == 3 ? 2u : 1u;
    for (uint16_t i = 0; i < N; i++)
        if (make(net, i, epoch) != NR_OK)
            return -1;
    if (mode == 3) {
        uint8_t pred[NR_GENESIS_ID_BYTES], root[NR_STATE_ROOT_BYTES];
        uint16_t map[N] = {0, 1, 2};
        struct nr_state_root r;
        memset(pred, 0x5a, sizeof pred);
        nr_state_root_init(&r, 0);
        nr_state_root_final(&r, root);
        if (nr_se_load_start(net->se[0], pred, root, map, N, NULL, 0) != NR_OK)
            return -1;
        nr_se_start(net->se[0], net->now);
        return 0;
    }
    for (uint16_t i = 0; i < N; i++)
        nr_se_start(net->se[i], net->now);
    run(net, 100);
    uint8_t key[NR_KEY_BYTES], d[NR_DIGEST_BYTES];
    for (uint16_t i = 0; i < N; i++) {
        memset(key, (int)i + 1, sizeof key);
        memset(d, 0x33, sizeof d);
        nr_se_client_write(net->se[i], 1, 1, key, 1, d, net->now);
    }
    run(net, 20);
    for (uint16_t i = 0; i < N; i++) {
        memset(key, (int)i + 1, sizeof key);
        nr_se_client_read(net->se[i], 1, 2, key, net->now);
    }
    run(net, 20);
    if (mode == 1 && nr_se_handover(net->se[1], 2, net->now) == NR_OK)
        run(net, 20);
    if (mode == 2 && nr_se_handover(net->se[0], 2, net->now) == NR_OK)
        drain(net); /* collecting: replies not delivered yet */
    return 0;
}

static void teardown(struct net *net)
{
    drain(net);
    for (uint16_t i = 0; i < N; i++)
        nr_se_destroy(net->se[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct net net;
    if (size < 2)
        return 0;
    memset(&net, 0, sizeof net);
    if (setup(&net, data[0] % 4u) != 0) {
        teardown(&net);
        return 0;
    }
    drain(&net);
    uint16_t from = (uint16_t)(1u + data[1] % 2u);
    (void)nr_se_on_peer_msg(net.se[0], from, data + 2, size - 2, net.now);
    /* the core must still work after any input */
    nr_se_tick(net.se[0], net.now + 1000);
    nr_se_flush(net.se[0], net.now + 1000);
    (void)nr_se_state(net.se[0]);
    teardown(&net);
    return 0;
}

#ifdef NR_FUZZ_PEER_GEN
/* fuzz_peer_gen DIR: write the corpus (every message of the four setups, as seen by member
 * 0). */
int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_peer_gen DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    static struct net net;
    unsigned total = 0;
    for (unsigned mode = 0; mode < 4; mode++) {
        memset(&net, 0, sizeof net);
        net.gen_dir = dir;
        net.gen_count = total;
        if (setup(&net, mode) == 0)
            run(&net, 20);
        total = net.gen_count;
        teardown(&net);
    }
    printf("%u messages written to %s\n", total, dir);
    return total ? 0 : 1;
}
#endif
