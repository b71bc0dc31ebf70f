/* Internals shared by the three files of the JSON-RPC client (not a public header):
 *   rpc_json.c  pure parsers of node replies (no I/O; fuzzed)
 *   rpc_http.c  the libcurl transport: one JSON-RPC request with timeouts and bounded retries
 *   rpc.c       typed calls (eth_*), receipts and confirmations */
#ifndef NR_ETH_RPC_INTERNAL_H
#define NR_ETH_RPC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "eth/rpc.h"

#define NR_RPC_REASON_BYTES 256u
#define NR_RPC_MAX_LOGS 100000u
#define NR_RPC_MAX_DATA_BYTES (4u * 1024u * 1024u)

struct nr_rpc {
    char *url;
    uint64_t expect_chain_id;
    unsigned timeout_ms, connect_timeout_ms, retries, backoff_ms;
    size_t max_response_bytes;
    void *curl; /* CURL * */
    struct curl_slist *headers;
    uint64_t next_id;
    unsigned long attempts;
    char err[NR_RPC_ERRMSG_BYTES];
    char reason[NR_RPC_REASON_BYTES];
};

/* rpc_json.c */
void nr_rpc_msg(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void nr_rpc_copy_str(char *buf, size_t cap, const char *s);
/* "0x"-prefixed lower-case hex of in[0..len); out needs 2*len + 3 bytes. */
void nr_rpc_hex(char *out, const uint8_t *in, size_t len);
int nr_rpc_contains_ci(const char *hay, const char *needle);

/* rpc_http.c */
void nr_rpc_sleep_ms(unsigned ms);
uint64_t nr_rpc_now_ms(void);

#endif
