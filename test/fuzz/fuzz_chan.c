/* Fuzz target for the channel handshake and record parsers (bytes from the network or from
 * a local process, both controlled by the host).
 *
 * Input: byte 0 selects a mode, the rest is a sequence of frames (u16 little-endian length,
 * then that many bytes; a short last frame takes what is left).
 *   0  PEER responder: frames are handshake messages, then records once ready
 *   1  LOCAL responder (SE side of an AE channel): same
 *   2  PEER initiator after its hello: frames are the responder's messages, then records
 *   3  LOCAL initiator (AE side) after its hello: same
 *   4  a real PEER handshake, then frames are records fed to the responder
 *   5  a real PEER (byte 1 even) or LOCAL (odd) handshake where the first frame is XORed
 *      into message (byte 2 % 3) at offset (byte 3): the handshake must then fail, or, if
 *      both sides finish, their keys must agree (a record passes both ways) -- else abort.
 * Properties: no crash, every return value is NR_OK or a negative NR_E* code, outputs stay
 * within their buffers, a channel never becomes ready on one side with keys the other side
 * does not share.
 *
 * The sim TEE needs an attestation root and two platforms on disk: created once per process
 * in a temporary directory under $TMPDIR and removed at exit. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chan/chan.h"
#include "fuzz_replay.h"
#include "tee/tee.h"

#define SE_ID "narrator-se/1"
#define AE_ID "fuzz-ae/1"

static struct {
    int ready;
    char dir[512];
    struct nr_tee *se0, *se1, *ae0;
    uint8_t sk[2][64], pub[2][32], pid[2][32];
    uint8_t se_meas[32];
    uint8_t sys[32];
    struct nr_attest_policy pol;
} G;

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    nr_tee_close(G.se0);
    nr_tee_close(G.se1);
    nr_tee_close(G.ae0);
    if (G.dir[0])
        (void)nftw(G.dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void init_once(void)
{
    char root[600], p0[600], p1[600];
    const char *tmp = getenv("TMPDIR");
    if (G.ready)
        return;
    if (sodium_init() < 0)
        abort();
    snprintf(G.dir, sizeof G.dir, "%s/nr-fuzz-chan-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(G.dir))
        abort();
    atexit(cleanup);
    snprintf(root, sizeof root, "%s/root", G.dir);
    snprintf(p0, sizeof p0, "%s/p0", G.dir);
    snprintf(p1, sizeof p1, "%s/p1", G.dir);
    if (nr_tee_sim_root_create(root) != NR_OK || nr_tee_sim_platform_create(p0, root) != NR_OK ||
        nr_tee_sim_platform_create(p1, root) != NR_OK ||
        nr_tee_sim_root_pub(root, G.pol.root_pub) != NR_OK ||
        nr_tee_open(&G.se0, "sim", p0, SE_ID) != NR_OK ||
        nr_tee_open(&G.se1, "sim", p1, SE_ID) != NR_OK ||
        nr_tee_open(&G.ae0, "sim", p0, AE_ID) != NR_OK)
        abort();
    nr_tee_measure("sim", SE_ID, G.pol.allowed[0]);
    G.pol.n_allowed = 1;
    memcpy(G.se_meas, G.pol.allowed[0], 32);
    memset(G.sys, 0x5a, sizeof G.sys); /* fixed, so that corpus files can carry it */
    for (int i = 0; i < 2; i++)
        crypto_sign_keypair(G.pub[i], G.sk[i]);
    nr_tee_platform_id(G.se0, G.pid[0]);
    nr_tee_platform_id(G.se1, G.pid[1]);
    G.ready = 1;
}

static int lookup(void *arg, const uint8_t pub[NR_IDENTITY_PUB_BYTES], uint16_t *member,
                  uint8_t platform_id[NR_PLATFORM_ID_BYTES])
{
    (void)arg;
    for (uint16_t i = 0; i < 2; i++) {
        if (memcmp(pub, G.pub[i], 32) == 0) {
            *member = i;
            memcpy(platform_id, G.pid[i], 32);
            return NR_OK;
        }
    }
    return NR_ENOTMEMBER;
}

/* Member 0 on platform 0, member 1 on platform 1. */
static struct nr_chan *mk(int kind, int role, int who)
{
    struct nr_chan_config cfg;
    struct nr_chan *ch = NULL;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = kind;
    cfg.role = role;
    memcpy(cfg.system_id, G.sys, 32);
    if (kind == NR_CHAN_PEER) {
        cfg.tee = who == 0 ? G.se0 : G.se1;
        cfg.identity_sk = G.sk[who];
        cfg.identity_pub = G.pub[who];
        cfg.self = (uint16_t)who;
        cfg.tee_backend = "sim";
        cfg.policy = &G.pol;
        cfg.lookup = lookup;
    } else {
        cfg.tee = role == NR_CHAN_INITIATOR ? G.ae0 : G.se0;
        memcpy(cfg.se_measurement, G.se_meas, 32);
    }
    if (nr_chan_create(&ch, &cfg) != NR_OK)
        abort();
    return ch;
}

static void check_rc(int rc)
{
    if (rc > 0 || nr_errname(rc)[4] == '?')
        abort(); /* not one of our codes */
}

struct frames {
    const uint8_t *p;
    size_t left;
};

static int next_frame(struct frames *f, const uint8_t **out, size_t *len)
{
    if (f->left < 2)
        return 0;
    size_t l = (size_t)f->p[0] | (size_t)f->p[1] << 8;
    f->p += 2;
    f->left -= 2;
    if (l > f->left)
        l = f->left;
    *out = f->p;
    *len = l;
    f->p += l;
    f->left -= l;
    return 1;
}

static void feed(struct nr_chan *ch, struct frames *f)
{
    static uint8_t out[NR_CHAN_HS_MAX_BYTES + 16], pt[70000];
    const uint8_t *in;
    size_t len, olen;
    while (next_frame(f, &in, &len)) {
        int rc;
        if (!nr_chan_ready(ch)) {
            rc = nr_chan_hs_recv(ch, in, len, out, sizeof out, &olen);
            check_rc(rc);
            if (olen > sizeof out)
                abort();
            if (rc != NR_OK)
                return;
        } else {
            rc = nr_chan_open(ch, in, len, pt, sizeof pt, &olen);
            check_rc(rc);
            if (rc == NR_OK && olen + NR_CHAN_FRAME_OVERHEAD != len)
                abort();
        }
    }
}

/* Deliver messages between two channels; message `sel` is XORed with `pat` at `off`. */
static void handshake(struct nr_chan *ini, struct nr_chan *res, int sel, size_t off,
                      const uint8_t *pat, size_t plen)
{
    uint8_t buf[NR_CHAN_HS_MAX_BYTES], out[NR_CHAN_HS_MAX_BYTES];
    size_t blen = 0, olen = 0;
    if (nr_chan_hs_start(ini, buf, sizeof buf, &blen) != NR_OK)
        abort();
    struct nr_chan *to = res;
    for (int idx = 0; blen > 0 && idx < 3; idx++) {
        if (idx == sel) {
            for (size_t i = 0; i < plen && off + i < blen; i++)
                buf[off + i] ^= pat[i];
        }
        int rc = nr_chan_hs_recv(to, buf, blen, out, sizeof out, &olen);
        check_rc(rc);
        if (rc != NR_OK)
            return;
        memcpy(buf, out, olen);
        blen = olen;
        to = to == res ? ini : res;
    }
}

static void records_agree(struct nr_chan *a, struct nr_chan *b)
{
    uint8_t rec[64], pt[64];
    size_t rl, pl;
    if (nr_chan_seal(a, (const uint8_t *)"ping", 4, rec, sizeof rec, &rl) != NR_OK ||
        nr_chan_open(b, rec, rl, pt, sizeof pt, &pl) != NR_OK || pl != 4 ||
        memcmp(pt, "ping", 4) != 0)
        abort();
    if (nr_chan_seal(b, (const uint8_t *)"pong", 4, rec, sizeof rec, &rl) != NR_OK ||
        nr_chan_open(a, rec, rl, pt, sizeof pt, &pl) != NR_OK || pl != 4)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t hello[NR_CHAN_HS_MAX_BYTES];
    size_t hl = 0;
    if (size < 1)
        return 0;
    init_once();
    struct frames f = {data + 1, size - 1};
    struct nr_chan *a = NULL, *b = NULL;
    switch (data[0] % 6) {
    case 0:
        a = mk(NR_CHAN_PEER, NR_CHAN_RESPONDER, 0);
        feed(a, &f);
        break;
    case 1:
        a = mk(NR_CHAN_LOCAL, NR_CHAN_RESPONDER, 0);
        feed(a, &f);
        break;
    case 2:
    case 3:
        a = mk(data[0] % 6 == 2 ? NR_CHAN_PEER : NR_CHAN_LOCAL, NR_CHAN_INITIATOR, 1);
        if (nr_chan_hs_start(a, hello, sizeof hello, &hl) != NR_OK)
            abort();
        feed(a, &f);
        break;
    case 4:
        a = mk(NR_CHAN_PEER, NR_CHAN_INITIATOR, 1);
        b = mk(NR_CHAN_PEER, NR_CHAN_RESPONDER, 0);
        handshake(a, b, -1, 0, NULL, 0);
        if (!nr_chan_ready(a) || !nr_chan_ready(b))
            abort();
        feed(b, &f);
        break;
    default: {
        if (size < 4)
            break;
        int peer = data[1] % 2 == 0;
        int kind = peer ? NR_CHAN_PEER : NR_CHAN_LOCAL;
        a = mk(kind, NR_CHAN_INITIATOR, 1);
        b = mk(kind, NR_CHAN_RESPONDER, 0);
        handshake(a, b, data[2] % 3, data[3] * 4u, data + 4, size - 4);
        if (nr_chan_ready(a) && nr_chan_ready(b))
            records_agree(a, b);
        break;
    }
    }
    nr_chan_destroy(a);
    nr_chan_destroy(b);
    return 0;
}
