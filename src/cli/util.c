/* Small helpers shared by the subcommands: hex, numbers, files, network directory layout. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "chan/membership.h"
#include "cli/cli.h"
#include "common/hex.h"
#include "host/config.h"

int nr_cli_hex_decode(uint8_t *out, size_t len, const char *hex)
{
    if (!hex || nr_hex_decode(out, len, hex, strlen(hex)) != NR_OK) {
        return NR_EINVAL;
    }
    return NR_OK;
}

void nr_cli_hex_encode(char *out, const uint8_t *in, size_t len)
{
    sodium_bin2hex(out, 2 * len + 1, in, len);
}

int nr_cli_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+') {
        return NR_EINVAL;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || !end || *end) {
        return NR_EINVAL;
    }
    *out = (uint64_t)v;
    return NR_OK;
}

int nr_cli_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    uint64_t v = 0;
    if (nr_cli_parse_u64(s, &v) || v < min || v > max) {
        return NR_EINVAL;
    }
    *out = (unsigned)v;
    return NR_OK;
}

int nr_cli_mkdirs(const char *path)
{
    char buf[NR_CLI_PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        return NR_EINVAL;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
                return NR_EIO;
            }
            buf[i] = c;
        }
    }
    return NR_OK;
}

int nr_cli_realdir(const char *path, char *out, size_t cap)
{
    char tmp[PATH_MAX];
    if (!realpath(path, tmp)) {
        return NR_ENOTFOUND;
    }
    if (strlen(tmp) >= cap) {
        return NR_ETOOBIG;
    }
    memcpy(out, tmp, strlen(tmp) + 1);
    return NR_OK;
}

int nr_cli_write_text(const char *path, const char *text)
{
    char tmp[NR_CLI_PATH_MAX + 8];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        return NR_EINVAL;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        return NR_EIO;
    }
    int ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return NR_EIO;
    }
    return NR_OK;
}

int nr_cli_read_text(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        return errno == ENOENT ? NR_ENOTFOUND : NR_EIO;
    }
    size_t n = fread(out, 1, cap - 1, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    if (more) {
        return NR_ETOOBIG;
    }
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ')) {
        out[--n] = '\0';
    }
    return NR_OK;
}

static int join(char *out, const char *a, unsigned i, const char *b)
{
    int n = snprintf(out, NR_CLI_PATH_MAX, "%s/node%u%s%s", a, i, b[0] ? "/" : "", b);
    return n < 0 || (size_t)n >= NR_CLI_PATH_MAX ? NR_ETOOBIG : NR_OK;
}

int nr_cli_node_paths(struct nr_cli_node *o, const char *netdir, unsigned i)
{
    int rc = join(o->dir, netdir, i, "");
    rc = rc ? rc : join(o->platform, netdir, i, "platform");
    rc = rc ? rc : join(o->identity, netdir, i, "data/identity");
    rc = rc ? rc : join(o->data, netdir, i, "data");
    rc = rc ? rc : join(o->config, netdir, i, "se.ini");
    rc = rc ? rc : join(o->socket, netdir, i, "se.sock");
    rc = rc ? rc : join(o->pidfile, netdir, i, "narratord.pid");
    rc = rc ? rc : join(o->logfile, netdir, i, "narratord.log");
    rc = rc ? rc : join(o->envfile, netdir, i, "client.env");
    return rc;
}

int nr_cli_net_nodes(const char *netdir, unsigned *n)
{
    char path[NR_CLI_PATH_MAX], text[32];
    int k = snprintf(path, sizeof path, "%s/nodes", netdir);
    if (k < 0 || (size_t)k >= sizeof path) {
        return NR_ETOOBIG;
    }
    int rc = nr_cli_read_text(path, text, sizeof text);
    if (rc) {
        return rc;
    }
    return nr_cli_parse_uint(text, 1, NR_MAX_MEMBERS, n) ? NR_ECONFIG : NR_OK;
}

int nr_cli_client_options(struct nr_cli_client *s, const char *netdir, unsigned node,
                          const char *code_identity)
{
    struct nr_cli_node p;
    static struct nr_host_config cfg; /* large; the CLI is single-threaded */
    char err[NR_CFG_ERR_MAX], path[NR_CLI_PATH_MAX], hex[2 * NR_SYSTEM_ID_BYTES + 8];
    memset(s, 0, sizeof *s);
    int rc = nr_cli_node_paths(&p, netdir, node);
    if (rc) {
        return rc;
    }
    rc = nr_host_config_load(&cfg, p.config, err, sizeof err);
    if (rc) {
        fprintf(stderr, "narrator: %s\n", err);
        return rc;
    }
    /* The system id: from the node's membership file (the source of truth), else from the
     * network directory's system_id file. */
    static struct nr_membership m; /* large */
    char merr[NR_MEMBERSHIP_ERR_BYTES];
    rc = nr_membership_load(&m, cfg.membership_path, merr, sizeof merr);
    if (rc == NR_OK) {
        memcpy(s->opt.system_id, m.system_id, NR_SYSTEM_ID_BYTES);
    } else {
        int k = snprintf(path, sizeof path, "%s/system_id", netdir);
        if (k < 0 || (size_t)k >= sizeof path) {
            return NR_ETOOBIG;
        }
        rc = nr_cli_read_text(path, hex, sizeof hex);
        if (rc == NR_OK && nr_cli_hex_decode(s->opt.system_id, NR_SYSTEM_ID_BYTES, hex) != NR_OK) {
            rc = NR_ECONFIG;
        }
        if (rc) {
            fprintf(stderr, "narrator: %s\n", merr);
            return rc;
        }
    }
    snprintf(s->socket, sizeof s->socket, "%s", cfg.socket_path);
    snprintf(s->platform, sizeof s->platform, "%s", cfg.platform_dir);
    snprintf(s->backend, sizeof s->backend, "%s", cfg.tee_backend[0] ? cfg.tee_backend : "sim");
    s->opt.socket_path = s->socket;
    s->opt.platform_dir = s->platform;
    s->opt.tee_backend = s->backend;
    s->opt.code_identity = code_identity;
    s->opt.se_code_identity = NR_SE_CODE_IDENTITY;
    return NR_OK;
}

/* SGX SIGSTRUCT (Intel SDM vol. 3D, 38.13): 1808 bytes; HEADER at 0, HEADER2 at 24, MODULUS
 * (384, little-endian) at 128, ENCLAVEHASH (MRENCLAVE) at 960. MRSIGNER = SHA-256(MODULUS). */
#define SIGSTRUCT_BYTES 1808u
int nr_cli_sigstruct(const char *path, uint8_t mrenclave[32], uint8_t mrsigner[32])
{
    static const uint8_t hdr[16] = {0x06, 0, 0, 0, 0xe1, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0};
    static const uint8_t hdr2[16] = {0x01, 0x01, 0, 0, 0x60, 0, 0, 0, 0x60, 0, 0, 0, 0x01, 0, 0, 0};
    uint8_t buf[SIGSTRUCT_BYTES + 1];
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NR_ENOTFOUND;
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n != SIGSTRUCT_BYTES || memcmp(buf, hdr, sizeof hdr) != 0 ||
        memcmp(buf + 24, hdr2, sizeof hdr2) != 0) {
        return NR_EMALFORMED;
    }
    memcpy(mrenclave, buf + 960, 32);
    crypto_hash_sha256(mrsigner, buf + 128, 384);
    return NR_OK;
}
