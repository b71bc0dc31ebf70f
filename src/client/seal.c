/* Sealed state files and the restart check.
 *
 * An AE's state lives in two files, <path>.0 and <path>.1; version v goes to <path>.(v % 2),
 * so the two latest versions are always both on disk. Each file is written atomically
 * (temporary file, fsync, rename, fsync of the directory) and holds
 *     "NRSTATE2" || u32 blob_len || blob
 * where blob = TEE-sealed(u64 version || genesis[32] || state) with associated data
 *     "narrator-state-file\0" || system_id[32] || basename of the file (with its .0/.1).
 * Binding the file name stops the host from swapping the two files, binding the system id
 * stops it from feeding state of another system. The genesis id names the network the state
 * was committed in: restoring against an SE of another network (a blank-clone network the
 * host started) is NR_EGENESIS, never a fresh start. Nothing here trusts the file contents: a
 * file that does not unseal, or whose version does not match its name, counts as absent. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "client/client_internal.h"
#include "core/wire.h"
#include "tee/tee.h"

#define STATE_MAGIC "NRSTATE2"
#define STATE_MAGIC_LEN 8u
#define STATE_AD_LABEL "narrator-state-file"
#define STATE_MAX_BYTES (16u * 1024u * 1024u) /* cap on one AE state */
#define PATH_CAP 4096u

void nr_state_digest(uint8_t digest[NR_DIGEST_BYTES], const uint8_t *state, size_t len,
                     uint64_t version)
{
    static const char label[] = "narrator-state";
    uint8_t v[8];
    crypto_generichash_state st;
    nr_put_u64(v, version);
    crypto_generichash_init(&st, NULL, 0, NR_DIGEST_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)label, sizeof label - 1);
    crypto_generichash_update(&st, v, sizeof v);
    if (len > 0) {
        crypto_generichash_update(&st, state, len);
    }
    crypto_generichash_final(&st, digest, NR_DIGEST_BYTES);
}

static int file_name(char *out, size_t cap, const char *path, unsigned idx, const char *suffix)
{
    int n = snprintf(out, cap, "%s.%u%s", path, idx, suffix);
    return n < 0 || (size_t)n >= cap ? NR_EINVAL : NR_OK;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* AD = label || system_id || basename(file). */
static int make_ad(uint8_t *ad, size_t cap, size_t *ad_len,
                   const uint8_t system_id[NR_SYSTEM_ID_BYTES], const char *file)
{
    const char *b = base_name(file);
    size_t bl = strlen(b);
    size_t need = sizeof STATE_AD_LABEL + NR_SYSTEM_ID_BYTES + bl;
    if (need > cap) {
        return NR_EINVAL;
    }
    memcpy(ad, STATE_AD_LABEL, sizeof STATE_AD_LABEL); /* with its NUL */
    memcpy(ad + sizeof STATE_AD_LABEL, system_id, NR_SYSTEM_ID_BYTES);
    memcpy(ad + sizeof STATE_AD_LABEL + NR_SYSTEM_ID_BYTES, b, bl);
    *ad_len = need;
    return NR_OK;
}

static int fsync_dir_of(const char *file)
{
    char dir[PATH_CAP];
    const char *slash = strrchr(file, '/');
    if (!slash) {
        memcpy(dir, ".", 2);
    } else if (slash == file) {
        memcpy(dir, "/", 2);
    } else {
        size_t n = (size_t)(slash - file);
        if (n >= sizeof dir) {
            return NR_EINVAL;
        }
        memcpy(dir, file, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return NR_EIO;
    }
    int rc = fsync(fd) == 0 ? NR_OK : NR_EIO;
    close(fd);
    return rc;
}

static int write_atomic(const char *file, const uint8_t *data, size_t len)
{
    char tmp[PATH_CAP];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", file);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        return NR_EINVAL;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return NR_EIO;
    }
    int rc = NR_OK;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            rc = NR_EIO;
            break;
        }
        off += (size_t)w;
    }
    if (rc == NR_OK && fsync(fd) != 0) {
        rc = NR_EIO;
    }
    if (close(fd) != 0 && rc == NR_OK) {
        rc = NR_EIO;
    }
    if (rc == NR_OK && rename(tmp, file) != 0) {
        rc = NR_EIO;
    }
    if (rc != NR_OK) {
        unlink(tmp);
        return rc;
    }
    return fsync_dir_of(file);
}

#define STATE_PT_FIXED (8u + NR_GENESIS_ID_BYTES) /* u64 version || genesis */

int nr_state_file_build(struct nr_tee *tee, const uint8_t system_id[NR_SYSTEM_ID_BYTES],
                        const uint8_t genesis[NR_GENESIS_ID_BYTES], const char *file,
                        const uint8_t *state, size_t len, uint64_t version, uint8_t **out,
                        size_t *out_len)
{
    uint8_t ad[sizeof STATE_AD_LABEL + NR_SYSTEM_ID_BYTES + PATH_CAP];
    size_t ad_len = 0;
    *out = NULL;
    *out_len = 0;
    if ((!state && len > 0) || version == 0 || len > STATE_MAX_BYTES) {
        return NR_EINVAL;
    }
    int rc = make_ad(ad, sizeof ad, &ad_len, system_id, file);
    if (rc) {
        return rc;
    }
    size_t pt_len = STATE_PT_FIXED + len;
    size_t cap = STATE_MAGIC_LEN + 4u + pt_len + NR_SEAL_OVERHEAD;
    uint8_t *pt = malloc(pt_len);
    uint8_t *buf = malloc(cap);
    size_t blob_len = 0;
    if (!pt || !buf) {
        rc = NR_ENOMEM;
        goto done;
    }
    nr_put_bytes(nr_put_u64(pt, version), genesis, NR_GENESIS_ID_BYTES);
    if (len > 0) {
        memcpy(pt + STATE_PT_FIXED, state, len);
    }
    memcpy(buf, STATE_MAGIC, STATE_MAGIC_LEN);
    rc = nr_tee_seal(tee, pt, pt_len, ad, ad_len, buf + STATE_MAGIC_LEN + 4u,
                     cap - STATE_MAGIC_LEN - 4u, &blob_len);
    if (rc) {
        goto done;
    }
    nr_put_u32(buf + STATE_MAGIC_LEN, (uint32_t)blob_len);
    *out = buf;
    *out_len = STATE_MAGIC_LEN + 4u + blob_len;
    buf = NULL;
done:
    if (pt) {
        sodium_memzero(pt, pt_len);
    }
    free(pt);
    free(buf);
    return rc;
}

int nr_seal_state(struct nr_client *c, const char *path, const uint8_t *state, size_t len,
                  uint64_t version)
{
    if (!c || !path || (!state && len > 0) || version == 0 || len > STATE_MAX_BYTES) {
        return NR_EINVAL;
    }
    char file[PATH_CAP];
    uint8_t *bytes = NULL, genesis[NR_GENESIS_ID_BYTES];
    size_t n = 0;
    int rc = nr_client_genesis(c, genesis); /* state is bound to the SE's network */
    if (rc == NR_OK) {
        rc = file_name(file, sizeof file, path, (unsigned)(version & 1u), "");
    }
    if (rc == NR_OK) {
        rc = nr_state_file_build(c->tee, c->system_id, genesis, file, state, len, version, &bytes,
                                 &n);
    }
    if (rc == NR_OK) {
        rc = write_atomic(file, bytes, n);
    }
    free(bytes);
    return rc;
}

/* Read whole file (capped). NR_ENOTFOUND if it does not exist. */
static int read_file(const char *file, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(file, "rb");
    if (!f) {
        return errno == ENOENT ? NR_ENOTFOUND : NR_EIO;
    }
    size_t cap = STATE_MAGIC_LEN + 4u + STATE_PT_FIXED + STATE_MAX_BYTES + NR_SEAL_OVERHEAD;
    size_t used = 0, alloc = 4096;
    uint8_t *buf = malloc(alloc);
    int rc = NR_OK;
    while (buf) {
        if (used == alloc) {
            if (alloc >= cap) {
                rc = NR_ETOOBIG;
                break;
            }
            alloc = alloc * 2 > cap ? cap : alloc * 2;
            uint8_t *nb = realloc(buf, alloc);
            if (!nb) {
                break;
            }
            buf = nb;
        }
        size_t r = fread(buf + used, 1, alloc - used, f);
        used += r;
        if (r == 0) {
            if (ferror(f)) {
                rc = NR_EIO;
            }
            break;
        }
    }
    fclose(f);
    if (!buf) {
        return NR_ENOMEM;
    }
    if (rc) {
        free(buf);
        return rc;
    }
    *data = buf;
    *len = used;
    return NR_OK;
}

/* Parse and open the bytes of sealed file `file` (index idx = its .0/.1 suffix). On any
 * problem the candidate stays absent (NR_OK); only NR_ENOMEM is an error. On success
 * ld->pt (owned, wipe and free) holds u64 version || genesis[32] || state. */
int nr_state_file_open(struct nr_tee *tee, const uint8_t system_id[NR_SYSTEM_ID_BYTES],
                       const char *file, unsigned idx, const uint8_t *data, size_t len,
                       struct nr_sealed_cand *cand, struct nr_loaded *ld)
{
    uint8_t ad[sizeof STATE_AD_LABEL + NR_SYSTEM_ID_BYTES + PATH_CAP];
    size_t ad_len = 0;
    memset(cand, 0, sizeof *cand);
    memset(ld, 0, sizeof *ld);
    if (make_ad(ad, sizeof ad, &ad_len, system_id, file) != NR_OK) {
        return NR_OK;
    }
    struct nr_cur cur;
    uint32_t blob_len = 0;
    const uint8_t *magic = NULL, *blob = NULL;
    nr_cur_init(&cur, data, len);
    if (nr_cur_ptr(&cur, &magic, STATE_MAGIC_LEN) ||
        memcmp(magic, STATE_MAGIC, STATE_MAGIC_LEN) != 0 || nr_cur_u32(&cur, &blob_len) ||
        blob_len != cur.left || nr_cur_ptr(&cur, &blob, blob_len)) {
        return NR_OK;
    }
    ld->pt = malloc(blob_len ? blob_len : 1);
    if (!ld->pt) {
        return NR_ENOMEM;
    }
    uint64_t v = 0;
    if (nr_tee_unseal(tee, blob, blob_len, ad, ad_len, ld->pt, blob_len, &ld->pt_len) != NR_OK ||
        ld->pt_len < STATE_PT_FIXED) {
        goto absent;
    }
    nr_cur_init(&cur, ld->pt, ld->pt_len);
    if (nr_cur_u64(&cur, &v) || v == 0 || (v & 1u) != idx ||
        nr_cur_bytes(&cur, cand->genesis, NR_GENESIS_ID_BYTES)) {
        goto absent;
    }
    cand->present = 1;
    cand->version = v;
    nr_state_digest(cand->digest, ld->pt + STATE_PT_FIXED, ld->pt_len - STATE_PT_FIXED, v);
    return NR_OK;
absent:
    nr_loaded_free(ld);
    return NR_OK;
}

void nr_loaded_free(struct nr_loaded *ld)
{
    if (ld->pt) {
        sodium_memzero(ld->pt, ld->pt_len);
        free(ld->pt);
    }
    memset(ld, 0, sizeof *ld);
}

/* Load and open <path>.idx; a missing or invalid file leaves the candidate absent. */
static int load_cand(struct nr_client *c, const char *path, unsigned idx,
                     struct nr_sealed_cand *cand, struct nr_loaded *ld)
{
    char file[PATH_CAP];
    uint8_t *data = NULL;
    size_t len = 0;
    memset(cand, 0, sizeof *cand);
    memset(ld, 0, sizeof *ld);
    int rc = file_name(file, sizeof file, path, idx, "");
    if (rc) {
        return rc;
    }
    rc = read_file(file, &data, &len);
    if (rc == NR_ENOTFOUND || rc == NR_ETOOBIG) {
        return NR_OK; /* absent (or not ours: an oversized file cannot be a valid one) */
    }
    if (rc) {
        return rc;
    }
    rc = nr_state_file_open(c->tee, c->system_id, file, idx, data, len, cand, ld);
    free(data);
    return rc;
}

int nr_restore_local(struct nr_client *c, const char *path, uint64_t vn,
                     const uint8_t dn[NR_DIGEST_BYTES], const uint8_t gn[NR_GENESIS_ID_BYTES],
                     const uint8_t (*pred)[NR_GENESIS_ID_BYTES], unsigned npred, uint8_t *state,
                     size_t cap, size_t *len, uint64_t *version, int *result)
{
    int rc = NR_OK;
    struct nr_sealed_cand cand[2];
    struct nr_loaded ld[2];
    memset(ld, 0, sizeof ld);
    for (unsigned i = 0; i < 2 && rc == NR_OK; i++) {
        rc = load_cand(c, path, i, &cand[i], &ld[i]);
    }
    if (rc) {
        goto done;
    }
    /* State committed in another network (genesis) than the SE's: never restored, never
     * taken for "no state" (S6: a distinct, loud outcome). An earlier epoch of the SE's network
     * (its predecessors on chain, as the SE verified them) is the same network: the new epoch
     * began from that epoch's handed-over state, so the usual version rules decide. */
    for (unsigned i = 0; i < 2; i++) {
        if (!cand[i].present || sodium_memcmp(cand[i].genesis, gn, NR_GENESIS_ID_BYTES) == 0)
            continue;
        int ours = 0;
        for (unsigned k = 0; k < npred && k < NR_CLIENT_MAX_LINEAGE; k++)
            ours |= sodium_memcmp(cand[i].genesis, pred[k], NR_GENESIS_ID_BYTES) == 0;
        if (!ours) {
            rc = NR_EGENESIS;
            goto done;
        }
    }
    int swapped = 0, pick = NR_PICK_NONE;
    nr_sealed_order(&cand[0], &cand[1], &swapped);
    rc = nr_restore_decide(&cand[0], &cand[1], vn, dn, result, &pick);
    if (rc) {
        goto done;
    }
    if (pick == NR_PICK_NONE) {
        *len = 0;
        *version = 0;
        goto done;
    }
    /* cand[k] came from file index (k ^ swapped). */
    unsigned k = pick == NR_PICK_LATEST ? 0u : 1u;
    const struct nr_loaded *l = &ld[k ^ (unsigned)swapped];
    size_t slen = l->pt_len - STATE_PT_FIXED;
    if (slen > cap) {
        rc = NR_ETOOBIG;
        goto done;
    }
    if (slen > 0) {
        memcpy(state, l->pt + STATE_PT_FIXED, slen);
    }
    *len = slen;
    *version = cand[k].version;
done:
    for (unsigned i = 0; i < 2; i++) {
        nr_loaded_free(&ld[i]);
    }
    return rc;
}
