/* attack_proxy: a malicious host's TCP relay between two state enclaves, for the replay
 * attack tests (docs/attacks.md). It speaks no protocol: it only knows the transport framing
 * (u32 little-endian length, then that many bytes; docs/operations.md §3) and that a peer
 * channel starts with three handshake frames (HELLO dialer->acceptor, REPLY acceptor->dialer,
 * FINISH dialer->acceptor), after which every frame is one channel record.
 *
 * Addresses: a number is a TCP port on 127.0.0.1, anything with a '/' a Unix socket path.
 * --local: the streams are AE<->SE local channels (handshake: HELLO dialer->acceptor, REPLY
 * acceptor->dialer; then records) instead of SE<->SE peer channels.
 *
 *   attack_proxy relay --listen ADDR --target ADDR --dir CAPDIR --ctl FILE [--local]
 *       Accept connections on ADDR, dial TARGET for each, relay both
 *       ways frame by frame and capture every frame to CAPDIR/conn<N>.c2s and .s2c (c2s: from
 *       the dialing SE to the accepting one). Every 50 ms it looks for FILE; if present, it
 *       reads one command from it, deletes it and prints "ctl <cmd> <result>" to stdout:
 *         dup        re-send the last record the dialer sent, on the live connection (a replay
 *                    of a recorded frame; the acceptor must reject it by its counter)
 *         dup-s2c    the same towards the dialer
 *         old        inject the first record of the reference connection (the first whose
 *                    handshake completed: earlier channel keys) into the live connection,
 *                    towards the acceptor
 *         flip       flip one bit of the next record the dialer sends (tampering: AEAD)
 *         impersonate  answer the next dialled connection with the reference connection's
 *                    recorded acceptor frames instead of relaying (a replayed handshake
 *                    REPLY and records)
 *         cut        cut the link: close every relayed connection and close new ones at once
 *         heal       relay again
 *         stats      print counters
 *       "live" is the most recent relayed connection that is still open.
 *   attack_proxy replay --target ADDR --from FILE [--wait-ms MS]
 *       Open a fresh connection to TARGET and send every frame of the capture FILE (a
 *       recorded dialer stream: handshake, records). Prints what came back. Exit 0 if
 *       the target closed the connection, 3 if it was still open after MS (default 3000).
 *
 * Test tool, not product code: bounded buffers, every error is a message and an exit code. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAIRS 16
#define FRAME_MAX (32u * 1024u * 1024u)    /* larger prefixes: relay raw, stop parsing */
#define CAPTURE_MAX (16u * 1024u * 1024u)  /* bytes captured per connection and direction */
#define OUTBUF_MAX (256u * 1024u * 1024u)  /* a peer that never reads: drop the pair */
static unsigned HS_FRAMES_C2S = 2u; /* peer: HELLO, FINISH; local: HELLO */
static unsigned HS_FRAMES_S2C = 1u; /* REPLY */

struct buf {
    uint8_t *p;
    size_t len, cap;
};

struct dir {
    struct buf in;      /* unparsed bytes received */
    struct buf out;     /* bytes to write to the other side */
    struct buf last;    /* last record frame (prefix included) */
    struct buf first;   /* first record frame */
    unsigned long frames;
    int raw;            /* framing lost: relay bytes as they are */
    int flip_next;
    FILE *cap;
    size_t cap_bytes;
};

struct pair {
    int used;
    unsigned id;
    int fd[2];          /* 0: accepted (dialer side), 1: to the target (acceptor side) */
    struct dir d[2];    /* d[0]: c2s (read from fd[0], write to fd[1]); d[1]: s2c */
    int fake;           /* impersonation: no fd[1], scripted replies */
};

static struct pair g_pairs[MAX_PAIRS];
static unsigned g_next_id = 1;
/* The reference connection: the first one whose handshake completed. */
static unsigned g_ref_id;
static struct buf g_ref_first_c2s; /* its first record towards the acceptor */
static struct buf g_ref_s2c;       /* every frame its acceptor sent, REPLY first (capped) */
static int g_impersonate;
static int g_cut;
static volatile sig_atomic_t g_stop;

static void on_term(int sig)
{
    (void)sig;
    g_stop = 1;
}
static unsigned long g_injected, g_relayed_frames, g_connections;

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static int buf_append(struct buf *b, const uint8_t *p, size_t n)
{
    if (n == 0) {
        return 0;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) {
            cap *= 2;
        }
        uint8_t *q = realloc(b->p, cap);
        if (!q) {
            return -1;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static void buf_consume(struct buf *b, size_t n)
{
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

static void buf_set(struct buf *b, const uint8_t *p, size_t n)
{
    b->len = 0;
    (void)buf_append(b, p, n);
}

static void buf_free(struct buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static uint32_t get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* addr: "PORT" (127.0.0.1) or a Unix socket path; 0 or -1 */
static int make_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (strchr(addr, '/')) {
        struct sockaddr_un *u = (struct sockaddr_un *)ss;
        if (strlen(addr) >= sizeof u->sun_path) {
            return -1;
        }
        u->sun_family = AF_UNIX;
        memcpy(u->sun_path, addr, strlen(addr) + 1);
        *len = (socklen_t)sizeof *u;
        return 0;
    }
    unsigned long port = strtoul(addr, NULL, 10);
    if (port == 0 || port > 65535) {
        return -1;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *len = (socklen_t)sizeof *a;
    return 0;
}

static int dial(const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    if (make_addr(addr, &ss, &len) != 0) {
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        close(fd);
        return -1;
    }
    if (ss.ss_family == AF_INET) {
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

static void pair_close(struct pair *pr, const char *why)
{
    printf("conn %u closed: %s (frames c2s %lu s2c %lu)\n", pr->id, why, pr->d[0].frames,
           pr->d[1].frames);
    for (int i = 0; i < 2; i++) {
        if (pr->fd[i] >= 0) {
            close(pr->fd[i]);
        }
        buf_free(&pr->d[i].in);
        buf_free(&pr->d[i].out);
        buf_free(&pr->d[i].last);
        buf_free(&pr->d[i].first);
        if (pr->d[i].cap) {
            fclose(pr->d[i].cap);
        }
    }
    memset(pr, 0, sizeof *pr);
    pr->fd[0] = pr->fd[1] = -1;
}

/* One complete frame read in direction `k` of pair `pr`: capture, remember, maybe tamper,
 * queue to the other side. */
static int on_frame(struct pair *pr, int k, uint8_t *frame, size_t n)
{
    struct dir *d = &pr->d[k];
    unsigned hs = k == 0 ? HS_FRAMES_C2S : HS_FRAMES_S2C;
    if (d->cap && d->cap_bytes + n <= CAPTURE_MAX) {
        if (fwrite(frame, 1, n, d->cap) != n || fflush(d->cap) != 0) {
            return -1;
        }
        d->cap_bytes += n;
    }
    if (k == 1 && d->frames == 0) {
        buf_set(&pr->d[1].first, frame, n); /* the handshake REPLY, until a record replaces it */
    }
    if (k == 0 && d->frames + 1 == HS_FRAMES_C2S && g_ref_id == 0) {
        g_ref_id = pr->id; /* FINISH: this connection is the reference one */
        buf_set(&g_ref_s2c, pr->d[1].first.p, pr->d[1].first.len);
        pr->d[1].first.len = 0;
        printf("conn %u: reference connection\n", pr->id);
    } else if (pr->id == g_ref_id && k == 1 && g_ref_s2c.len + n <= CAPTURE_MAX) {
        (void)buf_append(&g_ref_s2c, frame, n);
    }
    if (d->frames >= hs) { /* a channel record */
        if (d->flip_next && n > 4 + 8) {
            frame[n - 1] ^= 0x01; /* the last byte of the tag */
            d->flip_next = 0;
            g_injected++;
            printf("flipped one bit of conn %u record %lu\n", pr->id, d->frames);
        }
        buf_set(&d->last, frame, n);
        if (d->first.len == 0) {
            buf_set(&d->first, frame, n);
            if (pr->id == g_ref_id && k == 0) {
                buf_set(&g_ref_first_c2s, frame, n);
            }
        }
    }
    d->frames++;
    g_relayed_frames++;
    if (pr->fake) {
        return 0;
    }
    return buf_append(&pr->d[k].out, frame, n);
}

static int on_bytes(struct pair *pr, int k, const uint8_t *p, size_t n)
{
    struct dir *d = &pr->d[k];
    if (d->raw) {
        return pr->fake ? 0 : buf_append(&d->out, p, n);
    }
    if (buf_append(&d->in, p, n) != 0) {
        return -1;
    }
    while (d->in.len >= 4) {
        uint32_t len = get_u32le(d->in.p);
        if (len > FRAME_MAX) {
            d->raw = 1;
            int rc = pr->fake ? 0 : buf_append(&d->out, d->in.p, d->in.len);
            d->in.len = 0;
            return rc;
        }
        if (d->in.len < 4u + (size_t)len) {
            break;
        }
        if (on_frame(pr, k, d->in.p, 4u + (size_t)len) != 0) {
            return -1;
        }
        buf_consume(&d->in, 4u + (size_t)len);
    }
    return 0;
}

static struct pair *live_pair(void)
{
    struct pair *best = NULL;
    for (int i = 0; i < MAX_PAIRS; i++) {
        struct pair *pr = &g_pairs[i];
        if (pr->used && !pr->fake && pr->d[0].frames >= HS_FRAMES_C2S &&
            (!best || pr->id > best->id)) {
            best = pr;
        }
    }
    return best;
}

static void ctl_command(const char *cmd)
{
    struct pair *pr = live_pair();
    if (strcmp(cmd, "stats") == 0) {
        printf("ctl stats connections %lu frames %lu injected %lu\n", g_connections,
               g_relayed_frames, g_injected);
        return;
    }
    if (strcmp(cmd, "cut") == 0) {
        g_cut = 1;
        for (int i = 0; i < MAX_PAIRS; i++) {
            if (g_pairs[i].used) {
                pair_close(&g_pairs[i], "link cut");
            }
        }
        printf("ctl cut done\n");
        return;
    }
    if (strcmp(cmd, "heal") == 0) {
        g_cut = 0;
        printf("ctl heal done\n");
        return;
    }
    if (strcmp(cmd, "impersonate") == 0) {
        g_impersonate = g_ref_s2c.len > 0;
        printf("ctl impersonate %s\n", g_impersonate ? "armed" : "nothing-captured");
        return;
    }
    if (!pr) {
        printf("ctl %s nolive\n", cmd);
        return;
    }
    const struct buf *src = NULL;
    int k = 0;
    if (strcmp(cmd, "dup") == 0) {
        src = &pr->d[0].last;
    } else if (strcmp(cmd, "dup-s2c") == 0) {
        src = &pr->d[1].last;
        k = 1;
    } else if (strcmp(cmd, "old") == 0) {
        src = &g_ref_first_c2s;
        if (pr->id == g_ref_id) {
            printf("ctl old same-connection\n");
            return;
        }
    } else if (strcmp(cmd, "flip") == 0) {
        pr->d[0].flip_next = 1;
        printf("ctl flip armed conn %u\n", pr->id);
        return;
    } else {
        printf("ctl %s unknown\n", cmd);
        return;
    }
    if (!src->len) {
        printf("ctl %s nothing-captured\n", cmd);
        return;
    }
    /* Injected between two whole frames: everything queued so far is whole frames. */
    if (buf_append(&pr->d[k].out, src->p, src->len) != 0) {
        printf("ctl %s nomem\n", cmd);
        return;
    }
    g_injected++;
    printf("ctl %s injected conn %u (%zu bytes)\n", cmd, pr->id, src->len);
}

static void ctl_poll(const char *path)
{
    char cmd[64];
    FILE *f = fopen(path, "r");
    if (!f) {
        return;
    }
    size_t n = fread(cmd, 1, sizeof cmd - 1, f);
    fclose(f);
    unlink(path);
    cmd[n] = '\0';
    cmd[strcspn(cmd, " \r\n")] = '\0';
    ctl_command(cmd);
}

static void open_captures(struct pair *pr, const char *dir)
{
    char path[4096];
    static const char *names[2] = {"c2s", "s2c"};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/conn%u.%s", dir, pr->id, names[k]);
        pr->d[k].cap = fopen(path, "wb");
        if (!pr->d[k].cap) {
            die(path);
        }
    }
}

static void accept_one(int lfd, const char *target, const char *capdir)
{
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) {
        return;
    }
    if (g_cut) {
        close(fd);
        g_connections++;
        return;
    }
    struct pair *pr = NULL;
    for (int i = 0; i < MAX_PAIRS && !pr; i++) {
        if (!g_pairs[i].used) {
            pr = &g_pairs[i];
        }
    }
    if (!pr) {
        close(fd);
        return;
    }
    memset(pr, 0, sizeof *pr);
    pr->used = 1;
    pr->id = g_next_id++;
    pr->fd[0] = fd;
    pr->fd[1] = -1;
    g_connections++;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails on Unix: fine */
    if (g_impersonate) {
        /* Answer with the reference connection's recorded acceptor frames: the handshake
         * REPLY and the records after it, as a host that replays a whole session would. */
        g_impersonate = 0;
        pr->fake = 1;
        (void)buf_append(&pr->d[1].out, g_ref_s2c.p, g_ref_s2c.len);
        g_injected++;
        printf("conn %u: impersonating the acceptor with %zu recorded bytes of conn %u\n",
               pr->id, g_ref_s2c.len, g_ref_id);
    } else {
        pr->fd[1] = dial(target);
        if (pr->fd[1] < 0) {
            pair_close(pr, "target unreachable");
            return;
        }
        open_captures(pr, capdir);
        printf("conn %u: relaying\n", pr->id);
    }
    (void)set_nonblock(pr->fd[0]);
    if (pr->fd[1] >= 0) {
        (void)set_nonblock(pr->fd[1]);
    }
}

/* Write as much of d->out as the socket takes. */
static int flush_out(int fd, struct buf *out)
{
    while (out->len > 0) {
        ssize_t w = write(fd, out->p, out->len);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return 0;
            }
            return errno == EINTR ? 0 : -1;
        }
        buf_consume(out, (size_t)w);
    }
    return 0;
}

static int cmd_relay(const char *listen_addr, const char *target, const char *capdir,
                     const char *ctl)
{
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    if (make_addr(listen_addr, &ss, &sslen) != 0) {
        fprintf(stderr, "attack_proxy: bad address %s\n", listen_addr);
        return 2;
    }
    int lfd = socket(ss.ss_family, SOCK_STREAM, 0), one = 1;
    if (lfd < 0) {
        die("socket");
    }
    (void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_UNIX) {
        unlink(listen_addr);
    }
    if (bind(lfd, (struct sockaddr *)&ss, sslen) != 0 || listen(lfd, 16) != 0) {
        die("bind/listen");
    }
    for (int i = 0; i < MAX_PAIRS; i++) {
        g_pairs[i].fd[0] = g_pairs[i].fd[1] = -1;
    }
    printf("relay %s -> %s (%s channels), captures in %s\n", listen_addr, target,
           HS_FRAMES_C2S == 1 ? "local" : "peer", capdir);
    static uint8_t rbuf[256 * 1024];
    while (!g_stop) {
        struct pollfd pfd[1 + 2 * MAX_PAIRS];
        struct pair *owner[1 + 2 * MAX_PAIRS];
        int side[1 + 2 * MAX_PAIRS];
        nfds_t n = 0;
        pfd[n].fd = lfd;
        pfd[n].events = POLLIN;
        owner[n] = NULL;
        side[n] = -1;
        n++;
        for (int i = 0; i < MAX_PAIRS; i++) {
            struct pair *pr = &g_pairs[i];
            if (!pr->used) {
                continue;
            }
            for (int s = 0; s < 2; s++) {
                if (pr->fd[s] < 0) {
                    continue;
                }
                /* side s reads direction s, writes direction 1-s */
                struct buf *out = &pr->d[1 - s].out;
                pfd[n].fd = pr->fd[s];
                pfd[n].events = (short)(POLLIN | (out->len ? POLLOUT : 0));
                owner[n] = pr;
                side[n] = s;
                n++;
            }
        }
        int rc = poll(pfd, n, 50);
        if (rc < 0 && errno != EINTR) {
            die("poll");
        }
        ctl_poll(ctl);
        if (rc <= 0) {
            continue;
        }
        if (pfd[0].revents & POLLIN) {
            accept_one(lfd, target, capdir);
        }
        for (nfds_t i = 1; i < n; i++) {
            struct pair *pr = owner[i];
            int s = side[i];
            if (!pr->used || !pfd[i].revents) {
                continue;
            }
            if (pfd[i].revents & POLLOUT) {
                if (flush_out(pr->fd[s], &pr->d[1 - s].out) != 0) {
                    pair_close(pr, s == 0 ? "dialer write error" : "acceptor write error");
                    continue;
                }
            }
            if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t r = read(pr->fd[s], rbuf, sizeof rbuf);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                    /* deliver what is queued towards the other side, then close */
                    int o = 1 - s;
                    if (pr->fd[o] >= 0) {
                        (void)flush_out(pr->fd[o], &pr->d[s].out);
                    }
                    pair_close(pr, s == 0 ? "dialer closed" : "acceptor closed");
                    continue;
                }
                if (r > 0 && on_bytes(pr, s, rbuf, (size_t)r) != 0) {
                    pair_close(pr, "out of memory");
                    continue;
                }
            }
            if (pr->used && (pr->d[0].out.len > OUTBUF_MAX || pr->d[1].out.len > OUTBUF_MAX)) {
                pair_close(pr, "output backlog");
            }
        }
        for (int i = 0; i < MAX_PAIRS; i++) { /* opportunistic flush of fresh output */
            struct pair *pr = &g_pairs[i];
            for (int s = 0; pr->used && s < 2; s++) {
                if (pr->fd[s] >= 0 && pr->d[1 - s].out.len &&
                    flush_out(pr->fd[s], &pr->d[1 - s].out) != 0) {
                    pair_close(pr, "write error");
                }
            }
        }
    }
    printf("relay stopped: connections %lu frames %lu injected %lu\n", g_connections,
           g_relayed_frames, g_injected);
    return 0;
}

static int cmd_replay(const char *target, const char *from, unsigned wait_ms)
{
    FILE *f = fopen(from, "rb");
    struct buf all = {0};
    uint8_t tmp[65536];
    size_t r;
    if (!f) {
        die(from);
    }
    while ((r = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (buf_append(&all, tmp, r) != 0) {
            die("memory");
        }
    }
    fclose(f);
    unsigned frames = 0;
    for (size_t off = 0; off + 4 <= all.len;) {
        uint32_t len = get_u32le(all.p + off);
        if (len > FRAME_MAX || off + 4 + len > all.len) {
            break;
        }
        off += 4 + (size_t)len;
        frames++;
    }
    int fd = dial(target);
    if (fd < 0) {
        die("connect");
    }
    size_t sent = 0;
    while (sent < all.len) {
        ssize_t w = write(fd, all.p + sent, all.len - sent);
        if (w <= 0) {
            break; /* the target may close while we are still sending */
        }
        sent += (size_t)w;
    }
    size_t got = 0;
    int closed = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long el = (t1.tv_sec - t0.tv_sec) * 1000L + (t1.tv_nsec - t0.tv_nsec) / 1000000L;
        if (el >= (long)wait_ms) {
            break;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)((long)wait_ms - el)) <= 0) {
            continue;
        }
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n <= 0) {
            closed = 1;
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    buf_free(&all);
    printf("replay: %u frames (%zu of their bytes sent) into a fresh connection; %zu bytes "
           "came back; the target %s\n",
           frames, sent, got, closed ? "closed the connection" : "kept it open");
    return closed ? 0 : 3;
}

int main(int argc, char **argv)
{
    unsigned wait_ms = 3000;
    const char *listen_addr = NULL, *target = NULL, *dir = NULL, *ctl = NULL, *from = NULL;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        goto usage;
    }
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i];
        if (strcmp(k, "--local") == 0) {
            HS_FRAMES_C2S = 1u;
            continue;
        }
        if (i + 1 >= argc) {
            goto usage;
        }
        const char *v = argv[++i];
        if (strcmp(k, "--listen") == 0) {
            listen_addr = v;
        } else if (strcmp(k, "--target") == 0) {
            target = v;
        } else if (strcmp(k, "--dir") == 0) {
            dir = v;
        } else if (strcmp(k, "--ctl") == 0) {
            ctl = v;
        } else if (strcmp(k, "--from") == 0) {
            from = v;
        } else if (strcmp(k, "--wait-ms") == 0) {
            wait_ms = (unsigned)strtoul(v, NULL, 10);
        } else {
            goto usage;
        }
    }
    if (strcmp(argv[1], "relay") == 0 && listen_addr && target && dir && ctl) {
        return cmd_relay(listen_addr, target, dir, ctl);
    }
    if (strcmp(argv[1], "replay") == 0 && target && from) {
        return cmd_replay(target, from, wait_ms);
    }
usage:
    fprintf(stderr, "usage: attack_proxy relay --listen ADDR --target ADDR --dir CAPDIR --ctl FILE "
                    "[--local]\n"
                    "       attack_proxy replay --target ADDR --from CAPFILE [--wait-ms MS]\n"
                    "ADDR: a TCP port on 127.0.0.1, or a Unix socket path (contains '/')\n");
    return 2;
}
