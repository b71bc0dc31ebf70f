/* Fuzz target for the JSON-RPC response parser (bytes from an untrusted Ethereum node).
 *
 * Every input goes through nr_rpc_parse_response() (expected id 1) and, when that yields a
 * result, through every typed result parser (quantities, fixed data, data, receipts, logs). The
 * typed parsers also see every JSON value of the input directly, so they are exercised even
 * when the envelope is wrong. Properties checked:
 *  - no crash, leak or undefined behaviour (ASan/UBSan under NR_FUZZ);
 *  - every return value is 0 or a known NR_E* code, and error texts are NUL-terminated within
 *    their buffers and printable;
 *  - a 64-bit quantity parses to the same value as the 256-bit parse;
 *  - a parsed receipt has status 0 or 1, parsed logs have at most NR_RPC_MAX_TOPICS topics.
 *
 * Built two ways: with -fsanitize=fuzzer under NR_FUZZ, and with NR_FUZZ_REPLAY as a plain
 * executable that runs every file of the directories (or files) named on its command line;
 * CTest runs it over test/fuzz/corpus/jsonrpc. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_code(int rc)
{
    if (rc > 0 || strcmp(nr_errname(rc), "NR_E?") == 0)
        abort();
}

static void check_text(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == cap)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
            abort();
}

static void typed(const cJSON *v)
{
    uint64_t q = 0;
    nr_u256 u;
    int r64 = nr_rpc_parse_quantity(&q, v), r256 = nr_rpc_parse_quantity256(&u, v);
    check_code(r64);
    check_code(r256);
    if (r64 == NR_OK) {
        nr_u256 back;
        if (r256 != NR_OK)
            abort();
        nr_u256_from_u64(&back, q);
        if (nr_u256_cmp(&back, &u) != 0)
            abort();
    }
    uint8_t fixed[32];
    check_code(nr_rpc_parse_fixed(fixed, sizeof fixed, v));
    uint8_t *d = NULL;
    size_t dlen = 0;
    int rc = nr_rpc_parse_data(&d, &dlen, v, 1024);
    check_code(rc);
    if (rc == NR_OK && (d == NULL || dlen > 1024))
        abort();
    free(d);
    struct nr_eth_receipt r;
    rc = nr_rpc_parse_receipt(&r, v);
    check_code(rc);
    if (rc == NR_OK && r.status != 0 && r.status != 1)
        abort();
    struct nr_eth_log *logs = NULL;
    size_t n = 0;
    rc = nr_rpc_parse_logs(&logs, &n, v);
    check_code(rc);
    for (size_t i = 0; rc == NR_OK && i < n; i++)
        if (logs[i].n_topics > NR_RPC_MAX_TOPICS)
            abort();
    nr_rpc_logs_free(logs, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *res = NULL;
    char err[256], reason[128];
    err[0] = reason[0] = '\0';
    int rc = nr_rpc_parse_response(&res, (const char *)data, size, 1, err, sizeof err, reason,
                                   sizeof reason);
    check_code(rc);
    check_text(reason, sizeof reason);
    if (strnlen(err, sizeof err) == sizeof err)
        abort();
    if (rc == NR_OK) {
        if (res == NULL)
            abort();
        typed(res);
        cJSON_Delete(res);
    } else if (res != NULL) {
        abort();
    }

    cJSON *v = cJSON_ParseWithLength((const char *)data, size);
    if (v != NULL) {
        typed(v);
        int k = 0;
        for (const cJSON *c = v->child; c != NULL && k < 64; c = c->next, k++)
            typed(c);
        cJSON_Delete(v);
    }
    return 0;
}

/* Replay runner (NR_FUZZ_REPLAY): main() over the corpus, shared by every target. */
#include "fuzz_replay.h"
