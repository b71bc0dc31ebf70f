/* Fuzz target for the RLP decoder (bytes from an untrusted JSON-RPC node or peer).
 *
 * Properties checked on every input:
 *  - nr_rlp_validate never crashes and returns 0 or an NR_E* decoding error;
 *  - a decode walk over the same bytes agrees with it (validate OK <=> the walk consumes the
 *    input exactly with no error, at most NR_RLP_MAX_DEPTH list levels);
 *  - an input that validates is canonical: re-encoding the decoded tree with the encoder
 *    reproduces it byte for byte.
 *
 * Built two ways: with -fsanitize=fuzzer under NR_FUZZ (LLVMFuzzerTestOneInput only), and with
 * NR_FUZZ_REPLAY as a plain executable that runs every file of the directories (or files)
 * named on its command line once; CTest runs it over test/fuzz/corpus/rlp. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/eth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decode-walks one item (which must span in[0..len) exactly) and re-encodes it into out.
 * Returns 0 or an error. */
static int walk(const uint8_t *in, size_t len, unsigned depth, struct nr_rlp_buf *out)
{
    struct nr_rlp_item it;
    size_t used;
    int rc = nr_rlp_decode(&it, in, len, &used);
    if (rc != NR_OK)
        return rc;
    if (used != len)
        return NR_EMALFORMED;
    if (!it.is_list) {
        nr_u256 u;
        uint64_t v;
        int ru = nr_rlp_item_u256(&u, &it), rv = nr_rlp_item_u64(&v, &it);
        if (ru == NR_OK && rv == NR_OK) {
            nr_u256 back;
            nr_u256_from_u64(&back, v);
            if (nr_u256_cmp(&back, &u) != 0)
                abort();
        }
        nr_rlp_bytes(out, it.payload, it.payload_len);
        return NR_OK;
    }
    if (depth >= NR_RLP_MAX_DEPTH)
        return NR_ETOOBIG;
    size_t m = nr_rlp_list_begin(out);
    const uint8_t *cur = it.payload;
    size_t left = it.payload_len;
    while (left) {
        const uint8_t *start = cur;
        struct nr_rlp_item sub;
        rc = nr_rlp_next(&sub, &cur, &left);
        if (rc != NR_OK)
            return rc;
        rc = walk(start, (size_t)(cur - start), depth + 1u, out);
        if (rc != NR_OK)
            return rc;
    }
    nr_rlp_list_end(out, m);
    return NR_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int rc = nr_rlp_validate(data, size);
    if (rc != NR_OK && rc != NR_EMALFORMED && rc != NR_ETRUNCATED && rc != NR_ETOOBIG)
        abort();
    struct nr_rlp_buf out = {0};
    int wrc = walk(data, size, 0, &out);
    if ((rc == NR_OK) != (wrc == NR_OK))
        abort();
    if (wrc == NR_OK) {
        if (out.err != NR_OK || out.len != size || (size && memcmp(out.p, data, size) != 0))
            abort(); /* accepted but not canonical */
    }
    free(out.p);
    return 0;
}

#ifdef NR_FUZZ_REPLAY
#include <dirent.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 4096;
            uint8_t *p = realloc(buf, cap);
            if (p == NULL) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = p;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    (void)LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "missing corpus %s\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]) != 0)
                return 1;
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (d == NULL)
            return 1;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            if (run_file(path) != 0) {
                closedir(d);
                return 1;
            }
            files++;
        }
        closedir(d);
    }
    printf("fuzz_rlp replay: %d inputs, no failure\n", files);
    return files > 0 ? 0 : 1; /* an empty corpus is a broken test */
}
#endif
