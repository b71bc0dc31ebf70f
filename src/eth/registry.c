/* NarratorRegistry bindings: see registry.h. */
#include "eth/registry.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>
#include <sodium.h>

#define REASON_BYTES 256u

struct nr_registry {
    struct nr_rpc *rpc;
    uint64_t chain_id;
    int has_contract;
    uint8_t contract[NR_ETH_ADDR_BYTES];
    unsigned confirmations, receipt_timeout_ms, poll_ms, gas_margin_pct, nonce_retries;
    int legacy_tx;
    char err[NR_RPC_ERRMSG_BYTES + 128];
    char reason[REASON_BYTES];
};

static void set_err(struct nr_registry *reg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_err(struct nr_registry *reg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reg->err, sizeof reg->err, fmt, ap);
    va_end(ap);
}

/* Adopt the RPC client's error text with a context prefix; returns rc. */
static int rpc_fail(struct nr_registry *reg, const char *what, int rc)
{
    const char *m = nr_rpc_errmsg(reg->rpc);
    size_t wl = strlen(what);
    if (strncmp(m, what, wl) == 0 && m[wl] == ':')
        set_err(reg, "%s", m); /* already names the call */
    else
        set_err(reg, "%s: %s", what, m);
    snprintf(reg->reason, sizeof reg->reason, "%s", nr_rpc_revert_reason(reg->rpc));
    return rc;
}

const char *nr_registry_errmsg(const struct nr_registry *reg)
{
    return reg ? reg->err : "no registry";
}
const char *nr_registry_revert_reason(const struct nr_registry *reg)
{
    return reg ? reg->reason : "";
}
struct nr_rpc *nr_registry_rpc(struct nr_registry *reg)
{
    return reg->rpc;
}
uint64_t nr_registry_chain_id(const struct nr_registry *reg)
{
    return reg->chain_id;
}
void nr_registry_contract(const struct nr_registry *reg, uint8_t out[NR_ETH_ADDR_BYTES])
{
    memcpy(out, reg->contract, NR_ETH_ADDR_BYTES);
}

int nr_registry_open(struct nr_registry **out, const struct nr_registry_config *cfg)
{
    *out = NULL;
    if (cfg == NULL)
        return NR_EINVAL;
    struct nr_registry *reg = calloc(1, sizeof *reg);
    if (reg == NULL)
        return NR_ENOMEM;
    reg->confirmations = cfg->confirmations ? cfg->confirmations : 1;
    reg->receipt_timeout_ms =
        cfg->receipt_timeout_ms ? cfg->receipt_timeout_ms : NR_REGISTRY_DEFAULT_RECEIPT_TIMEOUT_MS;
    reg->poll_ms = cfg->poll_ms ? cfg->poll_ms : NR_REGISTRY_DEFAULT_POLL_MS;
    reg->gas_margin_pct =
        cfg->gas_margin_pct ? cfg->gas_margin_pct : NR_REGISTRY_DEFAULT_GAS_MARGIN_PCT;
    reg->nonce_retries =
        cfg->nonce_retries ? cfg->nonce_retries : NR_REGISTRY_DEFAULT_NONCE_RETRIES;
    reg->legacy_tx = cfg->legacy_tx;
    reg->has_contract = cfg->has_contract;
    memcpy(reg->contract, cfg->contract, NR_ETH_ADDR_BYTES);
    *out = reg;

    int rc = nr_rpc_open(&reg->rpc, &cfg->rpc);
    if (reg->rpc == NULL) {
        set_err(reg, "cannot open JSON-RPC client for %s: %s",
                cfg->rpc.url ? cfg->rpc.url : "(no url)", nr_strerror(rc));
        return rc;
    }
    if (rc != NR_OK)
        return rpc_fail(reg, "connect", rc);
    if (cfg->rpc.expect_chain_id != 0) {
        reg->chain_id = cfg->rpc.expect_chain_id;
    } else if ((rc = nr_rpc_chain_id(reg->rpc, &reg->chain_id)) != NR_OK) {
        return rpc_fail(reg, "eth_chainId", rc);
    }
    if (reg->has_contract) {
        char addr[NR_ETH_ADDR_HEX_BYTES], params[80];
        nr_eth_address_hex(addr, reg->contract);
        snprintf(params, sizeof params, "[\"%s\",\"latest\"]", addr);
        cJSON *res = NULL;
        if ((rc = nr_rpc_call(reg->rpc, &res, "eth_getCode", params)) != NR_OK)
            return rpc_fail(reg, "eth_getCode", rc);
        int empty = !cJSON_IsString(res) || strcmp(res->valuestring, "0x") == 0 ||
                    res->valuestring[0] == '\0';
        cJSON_Delete(res);
        if (empty) {
            set_err(reg, "no contract code at %s on chain %" PRIu64, addr, reg->chain_id);
            return NR_ECHAIN;
        }
    }
    return NR_OK;
}

void nr_registry_close(struct nr_registry *reg)
{
    if (reg == NULL)
        return;
    nr_rpc_close(reg->rpc);
    free(reg);
}

/* ---------------------------------------------------------------------------------------- */
/* transactions */

/* Block tag of the confirmed head: "0x<head - confirmations + 1>". */
static int confirmed_tag(struct nr_registry *reg, char tag[24])
{
    if (reg->confirmations <= 1) {
        snprintf(tag, 24, "latest");
        return NR_OK;
    }
    uint64_t head = 0;
    int rc = nr_rpc_block_number(reg->rpc, &head);
    if (rc != NR_OK)
        return rpc_fail(reg, "eth_blockNumber", rc);
    uint64_t b = head + 1 >= reg->confirmations ? head + 1 - reg->confirmations : 0;
    snprintf(tag, 24, "0x%" PRIx64, b);
    return NR_OK;
}

/* The reason a mined transaction reverted: replay it as a call on the parent block. */
static void reason_of_mined_revert(struct nr_registry *reg, const uint8_t from[20],
                                   const uint8_t *to, const uint8_t *data, size_t data_len,
                                   uint64_t block)
{
    snprintf(reg->reason, sizeof reg->reason, "(reason unavailable)");
    if (to == NULL || block == 0)
        return;
    char tag[24];
    snprintf(tag, sizeof tag, "0x%" PRIx64, block - 1);
    uint8_t *out = NULL;
    size_t out_len = 0;
    int rc = nr_rpc_eth_call(reg->rpc, &out, &out_len, from, to, data, data_len, tag);
    free(out);
    if (rc == NR_EREVERT)
        snprintf(reg->reason, sizeof reg->reason, "%s", nr_rpc_revert_reason(reg->rpc));
}

static int send_once(struct nr_registry *reg, struct nr_eth_receipt *rc_out, const uint8_t sk[32],
                     const uint8_t from[20], const uint8_t *to, const nr_u256 *value,
                     const uint8_t *data, size_t data_len, uint64_t gas_limit)
{
    struct nr_eth_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.chain_id = reg->chain_id;
    if (value)
        tx.value = *value;
    tx.data = data;
    tx.data_len = data_len;
    if (to) {
        tx.has_to = 1;
        memcpy(tx.to, to, 20);
    }
    int rc;
    if ((rc = nr_rpc_nonce(reg->rpc, &tx.nonce, from, "pending")) != NR_OK)
        return rpc_fail(reg, "eth_getTransactionCount", rc);
    tx.type = 2;
    if (reg->legacy_tx) {
        tx.type = 0;
    } else if ((rc = nr_rpc_fees(reg->rpc, &tx.max_fee, &tx.max_priority_fee)) == NR_ENOTFOUND) {
        tx.type = 0;
    } else if (rc != NR_OK) {
        return rpc_fail(reg, "fees", rc);
    }
    if (tx.type == 0 && (rc = nr_rpc_gas_price(reg->rpc, &tx.gas_price)) != NR_OK)
        return rpc_fail(reg, "eth_gasPrice", rc);
    if (gas_limit == 0) {
        uint64_t est = 0;
        if ((rc = nr_rpc_estimate_gas(reg->rpc, &est, from, to, data, data_len, value)) != NR_OK)
            return rpc_fail(reg, "eth_estimateGas", rc);
        gas_limit = est + est * reg->gas_margin_pct / 100u;
    }
    tx.gas_limit = gas_limit;

    uint8_t *raw = NULL;
    size_t raw_len = 0;
    uint8_t hash[32];
    if ((rc = nr_eth_tx_sign(&raw, &raw_len, hash, &tx, sk)) != NR_OK) {
        set_err(reg, "signing the transaction failed: %s", nr_strerror(rc));
        return rc;
    }
    rc = nr_rpc_send_raw(reg->rpc, hash, raw, raw_len);
    free(raw);
    if (rc != NR_OK)
        return rpc_fail(reg, "eth_sendRawTransaction", rc);
    struct nr_eth_receipt r;
    rc = nr_rpc_wait_receipt(reg->rpc, &r, hash, reg->receipt_timeout_ms, reg->poll_ms);
    if (rc != NR_OK)
        return rpc_fail(reg, "receipt", rc);
    if (rc_out)
        *rc_out = r;
    if (r.status != 1) {
        reason_of_mined_revert(reg, from, to, data, data_len, r.block_number);
        set_err(reg, "transaction reverted in block %" PRIu64 " (gas used %" PRIu64 "): %s",
                r.block_number, r.gas_used, reg->reason);
        return NR_EREVERT;
    }
    rc = nr_rpc_wait_confirmations(reg->rpc, &r, reg->confirmations, reg->receipt_timeout_ms,
                                   reg->poll_ms);
    if (rc != NR_OK)
        return rpc_fail(reg, "confirmations", rc);
    return NR_OK;
}

int nr_registry_send(struct nr_registry *reg, struct nr_eth_receipt *rc_out,
                     const uint8_t sk[NR_ETH_SK_BYTES], const uint8_t *to, const nr_u256 *value,
                     const uint8_t *data, size_t data_len, uint64_t gas_limit)
{
    reg->err[0] = '\0';
    reg->reason[0] = '\0';
    uint8_t from[20];
    int rc = nr_eth_address(from, sk);
    if (rc != NR_OK) {
        set_err(reg, "invalid private key");
        return rc;
    }
    for (unsigned attempt = 0;; attempt++) {
        rc = send_once(reg, rc_out, sk, from, to, value, data, data_len, gas_limit);
        /* Another transaction from this account took the nonce: refetch and retry. */
        if (rc != NR_ENONCE || attempt >= reg->nonce_retries)
            return rc;
    }
}

int nr_registry_deploy(struct nr_registry *reg, struct nr_eth_receipt *rc_out,
                       uint8_t addr[NR_ETH_ADDR_BYTES], const uint8_t sk[NR_ETH_SK_BYTES],
                       const uint8_t *code, size_t code_len)
{
    /* Accept the hex text that build-contract.js writes, as well as raw bytes. */
    uint8_t *bytes = NULL;
    size_t n = 0;
    int is_text = code_len >= 2;
    for (size_t i = 0; i < code_len && is_text; i++) {
        uint8_t c = code[i];
        is_text = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                  c == 'x' || c == '\n' || c == '\r' || c == ' ';
    }
    if (is_text) {
        char *s = malloc(code_len + 1);
        bytes = malloc(code_len / 2 + 1);
        if (s == NULL || bytes == NULL) {
            free(s);
            free(bytes);
            return NR_ENOMEM;
        }
        size_t j = 0;
        for (size_t i = 0; i < code_len; i++)
            if (code[i] != '\n' && code[i] != '\r' && code[i] != ' ')
                s[j++] = (char)code[i];
        s[j] = '\0';
        int rc = nr_eth_hex_decode(bytes, code_len / 2 + 1, &n, s);
        free(s);
        if (rc != NR_OK) {
            free(bytes);
            set_err(reg, "contract bytecode is not valid hex");
            return rc;
        }
        code = bytes;
        code_len = n;
    }
    if (code_len == 0) {
        free(bytes);
        set_err(reg, "empty contract bytecode");
        return NR_EINVAL;
    }
    struct nr_eth_receipt r;
    memset(&r, 0, sizeof r);
    int rc = nr_registry_send(reg, &r, sk, NULL, NULL, code, code_len, 0);
    free(bytes);
    if (rc_out)
        *rc_out = r;
    if (rc != NR_OK)
        return rc;
    if (!r.has_contract_address) {
        set_err(reg, "deployment receipt has no contract address");
        return NR_ECHAIN;
    }
    memcpy(addr, r.contract_address, 20);
    memcpy(reg->contract, r.contract_address, 20);
    reg->has_contract = 1;
    return NR_OK;
}

static int need_contract(struct nr_registry *reg)
{
    if (reg->has_contract)
        return NR_OK;
    set_err(reg, "no registry contract address configured");
    return NR_ECONFIG;
}

static void arg_b32(struct nr_abi_arg *a, const uint8_t v[32])
{
    memset(a, 0, sizeof *a);
    a->type = NR_ABI_BYTES32;
    memcpy(a->b32, v, 32);
}

static void arg_u64(struct nr_abi_arg *a, uint64_t v)
{
    memset(a, 0, sizeof *a);
    a->type = NR_ABI_UINT256;
    nr_u256_from_u64(&a->u, v);
}

/* Encode sig(args) and send it to the registry. */
static int call_tx(struct nr_registry *reg, struct nr_eth_receipt *rc_out, const uint8_t sk[32],
                   const char *what, const char *sig, const struct nr_abi_arg *args, size_t nargs)
{
    int rc = need_contract(reg);
    if (rc != NR_OK)
        return rc;
    struct nr_abi_buf buf = {0};
    if ((rc = nr_abi_encode_call(&buf, sig, args, nargs)) != NR_OK) {
        free(buf.p);
        set_err(reg, "%s: ABI encoding failed: %s", what, nr_strerror(rc));
        return rc;
    }
    rc = nr_registry_send(reg, rc_out, sk, reg->contract, NULL, buf.p, buf.len, 0);
    free(buf.p);
    if (rc != NR_OK) {
        char tmp[sizeof reg->err];
        memcpy(tmp, reg->err, sizeof tmp);
        set_err(reg, "%s: %s", what, tmp);
    }
    return rc;
}

int nr_registry_create_system(struct nr_registry *reg, struct nr_eth_receipt *rc,
                              const uint8_t sk[NR_ETH_SK_BYTES], const uint8_t system_id[32],
                              uint32_t n, uint32_t f, const uint8_t measurement[32])
{
    struct nr_abi_arg a[4];
    arg_b32(&a[0], system_id);
    arg_u64(&a[1], n);
    arg_u64(&a[2], f);
    arg_b32(&a[3], measurement);
    return call_tx(reg, rc, sk, "createSystem", NR_REGISTRY_SIG_CREATE, a, 4);
}

int nr_registry_register_member(struct nr_registry *reg, struct nr_eth_receipt *rc,
                                const uint8_t sk[NR_ETH_SK_BYTES], const uint8_t system_id[32],
                                const struct nr_registry_member *m)
{
    struct nr_abi_arg a[4];
    arg_b32(&a[0], system_id);
    arg_b32(&a[1], m->platform_id);
    arg_b32(&a[2], m->identity_key);
    arg_b32(&a[3], m->evidence_hash);
    return call_tx(reg, rc, sk, "registerMember", NR_REGISTRY_SIG_REGISTER, a, 4);
}

int nr_registry_finalize(struct nr_registry *reg, struct nr_eth_receipt *rc,
                         const uint8_t sk[NR_ETH_SK_BYTES], const uint8_t system_id[32])
{
    struct nr_abi_arg a[1];
    arg_b32(&a[0], system_id);
    return call_tx(reg, rc, sk, "finalize", NR_REGISTRY_SIG_FINALIZE, a, 1);
}

int nr_registry_record_genesis(struct nr_registry *reg, struct nr_eth_receipt *rc,
                               const uint8_t sk[NR_ETH_SK_BYTES], const uint8_t system_id[32],
                               uint32_t epoch, const uint8_t genesis_id[32],
                               const uint8_t founders[NR_GENESIS_FOUNDERS_BYTES])
{
    /* bytes32[8] is static: its eight words are encoded in place, like eight bytes32. */
    struct nr_abi_arg a[3 + NR_GENESIS_WORDS];
    arg_b32(&a[0], system_id);
    arg_u64(&a[1], epoch);
    arg_b32(&a[2], genesis_id);
    for (unsigned i = 0; i < NR_GENESIS_WORDS; i++)
        arg_b32(&a[3 + i], founders + 32 * i);
    int r = call_tx(reg, rc, sk, "recordGenesis", NR_REGISTRY_SIG_RECORD_GENESIS, a,
                    sizeof a / sizeof a[0]);
    if (r == NR_EREVERT && strcmp(reg->reason, NR_REGISTRY_REASON_GENESIS_RECORDED) == 0)
        return NR_EEXIST;
    return r;
}

int nr_registry_transfer(struct nr_registry *reg, struct nr_eth_receipt *rc,
                         const uint8_t sk[NR_ETH_SK_BYTES], const uint8_t to[NR_ETH_ADDR_BYTES],
                         const nr_u256 *value)
{
    return nr_registry_send(reg, rc, sk, to, value, NULL, 0, 21000);
}

/* ---------------------------------------------------------------------------------------- */
/* views */

static int view_call(struct nr_registry *reg, uint8_t **out, size_t *out_len, const char *what,
                     const char *sig, const struct nr_abi_arg *args, size_t nargs,
                     const char *block_tag)
{
    reg->err[0] = '\0';
    reg->reason[0] = '\0';
    int rc = need_contract(reg);
    if (rc != NR_OK)
        return rc;
    char tag[24];
    if (block_tag == NULL) {
        if ((rc = confirmed_tag(reg, tag)) != NR_OK)
            return rc;
        block_tag = tag;
    }
    struct nr_abi_buf buf = {0};
    if ((rc = nr_abi_encode_call(&buf, sig, args, nargs)) != NR_OK) {
        free(buf.p);
        set_err(reg, "%s: ABI encoding failed: %s", what, nr_strerror(rc));
        return rc;
    }
    rc = nr_rpc_eth_call(reg->rpc, out, out_len, NULL, reg->contract, buf.p, buf.len, block_tag);
    free(buf.p);
    if (rc != NR_OK)
        return rpc_fail(reg, what, rc);
    return NR_OK;
}

static int decode_fail(struct nr_registry *reg, const char *what, int rc, size_t len)
{
    set_err(reg, "%s: unexpected return data (%zu bytes): %s", what, len, nr_strerror(rc));
    return len == 0 ? NR_ECHAIN : rc;
}

int nr_registry_get_system(struct nr_registry *reg, struct nr_registry_system *out,
                           const uint8_t system_id[32], const char *block_tag)
{
    memset(out, 0, sizeof *out);
    struct nr_abi_arg a[1];
    arg_b32(&a[0], system_id);
    uint8_t *d = NULL;
    size_t len = 0;
    int rc = view_call(reg, &d, &len, "getSystem", NR_REGISTRY_SIG_GET_SYSTEM, a, 1, block_tag);
    if (rc != NR_OK)
        return rc;
    uint64_t n = 0, f = 0, registered = 0;
    if (len != 10 * 32) {
        rc = NR_EMALFORMED;
    } else if ((rc = nr_abi_bool(d, len, 0, &out->exists)) ||
               (rc = nr_abi_address(d, len, 1, out->creator)) || (rc = nr_abi_u64(d, len, 2, &n)) ||
               (rc = nr_abi_u64(d, len, 3, &f)) ||
               (rc = nr_abi_word(d, len, 4, out->measurement)) ||
               (rc = nr_abi_u64(d, len, 5, &registered)) ||
               (rc = nr_abi_bool(d, len, 6, &out->finalized)) ||
               (rc = nr_abi_u64(d, len, 7, &out->created_block)) ||
               (rc = nr_abi_u64(d, len, 8, &out->finalized_block)) ||
               (rc = nr_abi_word(d, len, 9, out->members_hash))) {
        /* rc set */
    } else if (n > NR_REGISTRY_MAX_MEMBERS || f > NR_REGISTRY_MAX_MEMBERS ||
               registered > NR_REGISTRY_MAX_MEMBERS) {
        rc = NR_ETOOBIG;
    }
    free(d);
    if (rc != NR_OK)
        return decode_fail(reg, "getSystem", rc, len);
    out->n = (uint32_t)n;
    out->f = (uint32_t)f;
    out->registered = (uint32_t)registered;
    return NR_OK;
}

int nr_registry_get_member(struct nr_registry *reg, struct nr_registry_member *out,
                           const uint8_t system_id[32], uint32_t index, const char *block_tag)
{
    memset(out, 0, sizeof *out);
    struct nr_abi_arg a[2];
    arg_b32(&a[0], system_id);
    arg_u64(&a[1], index);
    uint8_t *d = NULL;
    size_t len = 0;
    int rc = view_call(reg, &d, &len, "getMember", NR_REGISTRY_SIG_GET_MEMBER, a, 2, block_tag);
    if (rc != NR_OK)
        return rc;
    if (len != 4 * 32)
        rc = NR_EMALFORMED;
    else if ((rc = nr_abi_word(d, len, 0, out->platform_id)) ||
             (rc = nr_abi_word(d, len, 1, out->identity_key)) ||
             (rc = nr_abi_word(d, len, 2, out->evidence_hash)) ||
             (rc = nr_abi_address(d, len, 3, out->account))) {
        /* rc set */
    }
    free(d);
    if (rc != NR_OK)
        return decode_fail(reg, "getMember", rc, len);
    return NR_OK;
}

int nr_registry_get_genesis(struct nr_registry *reg, struct nr_registry_genesis *out,
                            const uint8_t system_id[32], uint32_t epoch, const char *block_tag)
{
    memset(out, 0, sizeof *out);
    struct nr_abi_arg a[2];
    arg_b32(&a[0], system_id);
    arg_u64(&a[1], epoch);
    uint8_t *d = NULL;
    size_t len = 0;
    int rc = view_call(reg, &d, &len, "getGenesis", NR_REGISTRY_SIG_GET_GENESIS, a, 2, block_tag);
    if (rc != NR_OK)
        return rc;
    if (len != (3 + NR_GENESIS_WORDS) * 32)
        rc = NR_EMALFORMED;
    else if ((rc = nr_abi_word(d, len, 0, out->id)) ||
             (rc = nr_abi_u64(d, len, 1, &out->block_number)) ||
             (rc = nr_abi_address(d, len, 2, out->poster))) {
        /* rc set */
    } else {
        for (unsigned i = 0; i < NR_GENESIS_WORDS && rc == NR_OK; i++)
            rc = nr_abi_word(d, len, 3 + i, out->founders + 32 * i);
    }
    free(d);
    if (rc != NR_OK)
        return decode_fail(reg, "getGenesis", rc, len);
    out->recorded = !sodium_is_zero(out->id, 32);
    return NR_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* epochs */

/* The packed member columns of a proposal, for the ABI arrays. */
struct epoch_columns {
    uint8_t platform[NR_REGISTRY_MAX_EPOCH_MEMBERS][32];
    uint8_t identity[NR_REGISTRY_MAX_EPOCH_MEMBERS][32];
    uint8_t evidence[NR_REGISTRY_MAX_EPOCH_MEMBERS][32];
    uint8_t account[NR_REGISTRY_MAX_EPOCH_MEMBERS][NR_ETH_ADDR_BYTES];
};

#define EPOCH_ARGS 12u

static void arg_array(struct nr_abi_arg *a, int type, const void *items, size_t n)
{
    memset(a, 0, sizeof *a);
    a->type = type;
    a->items = items;
    a->n_items = n;
}

/* The twelve arguments of openEpoch, in order; cols must outlive args. */
static int epoch_args(struct nr_abi_arg args[EPOCH_ARGS], struct epoch_columns *cols,
                      const struct nr_registry_epoch_proposal *p)
{
    if (p->n_members > NR_REGISTRY_MAX_EPOCH_MEMBERS || (p->n_members > 0 && p->members == NULL))
        return NR_EINVAL;
    memset(cols, 0, sizeof *cols);
    for (size_t i = 0; i < p->n_members; i++) {
        memcpy(cols->platform[i], p->members[i].platform_id, 32);
        memcpy(cols->identity[i], p->members[i].identity_key, 32);
        memcpy(cols->evidence[i], p->members[i].evidence_hash, 32);
        memcpy(cols->account[i], p->members[i].account, NR_ETH_ADDR_BYTES);
    }
    arg_b32(&args[0], p->system_id);
    arg_u64(&args[1], p->epoch);
    arg_u64(&args[2], p->n);
    arg_u64(&args[3], p->f);
    arg_u64(&args[4], p->kind);
    arg_array(&args[5], NR_ABI_BYTES32_ARRAY, cols->platform, p->n_members);
    arg_array(&args[6], NR_ABI_BYTES32_ARRAY, cols->identity, p->n_members);
    arg_array(&args[7], NR_ABI_BYTES32_ARRAY, cols->evidence, p->n_members);
    arg_array(&args[8], NR_ABI_ADDRESS_ARRAY, cols->account, p->n_members);
    arg_b32(&args[9], p->predecessor);
    arg_b32(&args[10], p->state_root);
    arg_b32(&args[11], p->handover_hash);
    return NR_OK;
}

int nr_registry_epoch_proposal_hash(uint8_t out[32], const struct nr_registry_epoch_proposal *p)
{
    memset(out, 0, 32);
    struct nr_abi_arg a[EPOCH_ARGS];
    struct epoch_columns cols;
    int rc = epoch_args(a, &cols, p);
    if (rc != NR_OK)
        return rc;
    struct nr_abi_buf buf = {0};
    rc = nr_abi_encode_args(&buf, a, EPOCH_ARGS);
    if (rc == NR_OK)
        nr_keccak256(out, buf.p, buf.len);
    free(buf.p);
    return rc;
}

int nr_registry_open_epoch(struct nr_registry *reg, struct nr_eth_receipt *rc,
                           const uint8_t sk[NR_ETH_SK_BYTES],
                           const struct nr_registry_epoch_proposal *p, int *opened)
{
    if (opened)
        *opened = 0;
    struct nr_abi_arg a[EPOCH_ARGS];
    struct epoch_columns cols;
    int r = epoch_args(a, &cols, p);
    if (r != NR_OK) {
        set_err(reg, "openEpoch: %zu members (at most %u)", p->n_members,
                NR_REGISTRY_MAX_EPOCH_MEMBERS);
        return r;
    }
    struct nr_eth_receipt tmp;
    struct nr_eth_receipt *rcp = rc ? rc : &tmp;
    r = call_tx(reg, rcp, sk, "openEpoch", NR_REGISTRY_SIG_OPEN_EPOCH, a, EPOCH_ARGS);
    if (r != NR_OK || opened == NULL)
        return r;
    /* The transaction succeeded, so the epoch was not open before it: open now means opened
     * by it. Read at its own block. */
    char tag[24];
    snprintf(tag, sizeof tag, "0x%" PRIx64, rcp->block_number);
    struct nr_registry_epoch e;
    if ((r = nr_registry_get_epoch(reg, &e, p->system_id, p->epoch, tag)) != NR_OK)
        return r;
    *opened = e.exists;
    return NR_OK;
}

int nr_registry_set_governance(struct nr_registry *reg, struct nr_eth_receipt *rc,
                               const uint8_t sk[NR_ETH_SK_BYTES], const uint8_t system_id[32],
                               const uint8_t (*operators)[NR_ETH_ADDR_BYTES], size_t n_operators,
                               uint32_t threshold)
{
    struct nr_abi_arg a[3];
    arg_b32(&a[0], system_id);
    arg_array(&a[1], NR_ABI_ADDRESS_ARRAY, operators, n_operators);
    arg_u64(&a[2], threshold);
    return call_tx(reg, rc, sk, "setGovernance", NR_REGISTRY_SIG_SET_GOVERNANCE, a, 3);
}

int nr_registry_get_epoch(struct nr_registry *reg, struct nr_registry_epoch *out,
                          const uint8_t system_id[32], uint32_t epoch, const char *block_tag)
{
    memset(out, 0, sizeof *out);
    struct nr_abi_arg a[2];
    arg_b32(&a[0], system_id);
    arg_u64(&a[1], epoch);
    uint8_t *d = NULL;
    size_t len = 0;
    int rc = view_call(reg, &d, &len, "getEpoch", NR_REGISTRY_SIG_GET_EPOCH, a, 2, block_tag);
    if (rc != NR_OK)
        return rc;
    uint64_t n = 0, f = 0, kind = 0;
    if (len != 10 * 32) {
        rc = NR_EMALFORMED;
    } else if ((rc = nr_abi_bool(d, len, 0, &out->exists)) || (rc = nr_abi_u64(d, len, 1, &n)) ||
               (rc = nr_abi_u64(d, len, 2, &f)) || (rc = nr_abi_u64(d, len, 3, &kind)) ||
               (rc = nr_abi_word(d, len, 4, out->members_hash)) ||
               (rc = nr_abi_word(d, len, 5, out->predecessor)) ||
               (rc = nr_abi_word(d, len, 6, out->state_root)) ||
               (rc = nr_abi_word(d, len, 7, out->handover_hash)) ||
               (rc = nr_abi_u64(d, len, 8, &out->opened_block)) ||
               (rc = nr_abi_word(d, len, 9, out->genesis_id))) {
        /* rc set */
    } else if (n > NR_REGISTRY_MAX_MEMBERS || f > NR_REGISTRY_MAX_MEMBERS ||
               kind > NR_REGISTRY_KIND_RECOVERY) {
        rc = NR_ETOOBIG;
    }
    free(d);
    if (rc != NR_OK)
        return decode_fail(reg, "getEpoch", rc, len);
    out->epoch = epoch;
    out->n = (uint32_t)n;
    out->f = (uint32_t)f;
    out->kind = (uint8_t)kind;
    out->registered = out->exists ? out->n : 0;
    out->has_genesis = !sodium_is_zero(out->genesis_id, 32);
    return NR_OK;
}

int nr_registry_get_epoch_member(struct nr_registry *reg, struct nr_registry_member *out,
                                 const uint8_t system_id[32], uint32_t epoch, uint32_t index,
                                 const char *block_tag)
{
    memset(out, 0, sizeof *out);
    struct nr_abi_arg a[3];
    arg_b32(&a[0], system_id);
    arg_u64(&a[1], epoch);
    arg_u64(&a[2], index);
    uint8_t *d = NULL;
    size_t len = 0;
    int rc = view_call(reg, &d, &len, "getEpochMember", NR_REGISTRY_SIG_GET_EPOCH_MEMBER, a, 3,
                       block_tag);
    if (rc != NR_OK)
        return rc;
    if (len != 4 * 32)
        rc = NR_EMALFORMED;
    else if ((rc = nr_abi_word(d, len, 0, out->platform_id)) ||
             (rc = nr_abi_word(d, len, 1, out->identity_key)) ||
             (rc = nr_abi_word(d, len, 2, out->evidence_hash)) ||
             (rc = nr_abi_address(d, len, 3, out->account))) {
        /* rc set */
    }
    free(d);
    if (rc != NR_OK)
        return decode_fail(reg, "getEpochMember", rc, len);
    return NR_OK;
}

/* A view that returns one uint word below 2^32. */
static int view_u32(struct nr_registry *reg, uint32_t *out, const char *what, const char *sig,
                    const uint8_t key[32], const char *block_tag)
{
    *out = 0;
    struct nr_abi_arg a[1];
    arg_b32(&a[0], key);
    uint8_t *d = NULL;
    size_t len = 0;
    int rc = view_call(reg, &d, &len, what, sig, a, 1, block_tag);
    if (rc != NR_OK)
        return rc;
    uint64_t v = 0;
    if (len != 32)
        rc = NR_EMALFORMED;
    else if ((rc = nr_abi_u64(d, len, 0, &v)) == NR_OK && v > UINT32_MAX)
        rc = NR_ETOOBIG;
    free(d);
    if (rc != NR_OK)
        return decode_fail(reg, what, rc, len);
    *out = (uint32_t)v;
    return NR_OK;
}

int nr_registry_current_epoch(struct nr_registry *reg, uint32_t *out, const uint8_t system_id[32],
                              const char *block_tag)
{
    return view_u32(reg, out, "currentEpoch", NR_REGISTRY_SIG_CURRENT_EPOCH, system_id, block_tag);
}

int nr_registry_get_approvals(struct nr_registry *reg, uint32_t *out, const uint8_t proposal[32],
                              const char *block_tag)
{
    return view_u32(reg, out, "getApprovals", NR_REGISTRY_SIG_GET_APPROVALS, proposal, block_tag);
}

int nr_registry_get_governance(struct nr_registry *reg, uint32_t *threshold,
                               uint8_t (*operators)[NR_ETH_ADDR_BYTES], size_t cap,
                               size_t *n_operators, const uint8_t system_id[32],
                               const char *block_tag)
{
    *threshold = 0;
    *n_operators = 0;
    struct nr_abi_arg a[1];
    arg_b32(&a[0], system_id);
    uint8_t *d = NULL;
    size_t len = 0;
    int rc =
        view_call(reg, &d, &len, "getGovernance", NR_REGISTRY_SIG_GET_GOVERNANCE, a, 1, block_tag);
    if (rc != NR_OK)
        return rc;
    uint64_t t = 0;
    const uint8_t *words = NULL;
    size_t count = 0;
    if ((rc = nr_abi_u64(d, len, 0, &t)) || (rc = nr_abi_array(d, len, 1, &words, &count))) {
        /* rc set */
    } else if (t > NR_REGISTRY_MAX_OPERATORS || count > NR_REGISTRY_MAX_OPERATORS || count > cap) {
        rc = NR_ETOOBIG;
    } else {
        for (size_t i = 0; i < count && rc == NR_OK; i++)
            rc = nr_abi_address(words, 32 * count, i, operators[i]);
    }
    free(d);
    if (rc != NR_OK)
        return decode_fail(reg, "getGovernance", rc, len);
    *threshold = (uint32_t)t;
    *n_operators = count;
    return NR_OK;
}

int nr_registry_verify(struct nr_registry *reg, struct nr_registry_system *sys,
                       struct nr_registry_member *members, size_t cap, size_t *n_members,
                       const uint8_t system_id[32], const uint8_t *measurement)
{
    *n_members = 0;
    /* Pin one block so that the system and its members are read from the same state. */
    char tag[24];
    int rc = confirmed_tag(reg, tag);
    if (rc != NR_OK)
        return rc;
    if (strcmp(tag, "latest") == 0) {
        uint64_t head = 0;
        if ((rc = nr_rpc_block_number(reg->rpc, &head)) != NR_OK)
            return rpc_fail(reg, "eth_blockNumber", rc);
        snprintf(tag, sizeof tag, "0x%" PRIx64, head);
    }
    if ((rc = nr_registry_get_system(reg, sys, system_id, tag)) != NR_OK)
        return rc;
    if (!sys->exists) {
        set_err(reg, "system is not on chain (at block %s)", tag);
        return NR_ECHAIN;
    }
    if (!sys->finalized) {
        set_err(reg,
                "system is not finalized with %u confirmation(s) (%u of %u members registered)",
                reg->confirmations, sys->registered, sys->n);
        return NR_ECHAIN;
    }
    if (measurement != NULL && sodium_memcmp(sys->measurement, measurement, 32) != 0) {
        set_err(reg, "system measurement on chain differs from ours");
        return NR_EMEASUREMENT;
    }
    if (sys->registered != sys->n || sys->n != 2 * sys->f + 1) {
        set_err(reg, "finalized system has inconsistent n=%u f=%u registered=%u", sys->n, sys->f,
                sys->registered);
        return NR_ECHAIN;
    }
    if (sys->n > cap) {
        set_err(reg, "system has %u members, room for %zu", sys->n, cap);
        return NR_EFULL;
    }
    for (uint32_t i = 0; i < sys->n; i++)
        if ((rc = nr_registry_get_member(reg, &members[i], system_id, i, tag)) != NR_OK)
            return rc;
    uint8_t h[32];
    nr_registry_members_hash(h, system_id, sys->n, sys->f, sys->measurement, members, sys->n);
    if (sodium_memcmp(h, sys->members_hash, 32) != 0) {
        set_err(reg, "members read back do not match the finalized members hash");
        return NR_ECHAIN;
    }
    *n_members = sys->n;
    return NR_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* chain.ini */

#define INI_MAX_BYTES (64u * 1024u)

struct ini_state {
    struct nr_chain_ini *out;
    const char *name;
    char *err;
    size_t err_cap;
    const char *p; /* reader position */
    size_t left;
    int line; /* lines handed to inih so far = line of the current key */
    int agree_line;
    int too_long;
    unsigned seen; /* bit per key */
    int failed;
};

static int ini_fail(struct ini_state *st, int line, const char *key, const char *why)
{
    if (!st->failed && st->err && st->err_cap)
        snprintf(st->err, st->err_cap, "%s:%d: %s: %s", st->name, line, key, why);
    st->failed = 1;
    return 0;
}

static int parse_uint(uint64_t *out, const char *v, uint64_t max)
{
    if (v[0] < '0' || v[0] > '9')
        return NR_EMALFORMED;
    uint64_t x = 0;
    for (; *v; v++) {
        if (*v < '0' || *v > '9')
            return NR_EMALFORMED;
        unsigned d = (unsigned)(*v - '0');
        if (x > (max - d) / 10)
            return NR_ETOOBIG;
        x = x * 10 + d;
    }
    *out = x;
    return NR_OK;
}

/* fgets-style reader over the buffer; counts lines so errors can name them. */
static char *ini_reader_fn(char *str, int num, void *stream)
{
    struct ini_state *st = stream;
    if (st->left == 0 || st->too_long || num < 2)
        return NULL;
    size_t n = 0;
    while (n < st->left && st->p[n] != '\n')
        n++;
    size_t take = n < st->left ? n + 1 : n; /* include the newline */
    if (take > (size_t)num - 1) {
        st->too_long = 1;
        return NULL;
    }
    memcpy(str, st->p, take);
    str[take] = '\0';
    st->p += take;
    st->left -= take;
    st->line++;
    return str;
}

static int chain_ini_key(void *user, const char *section, const char *key, const char *value)
{
    struct ini_state *st = user;
    int lineno = st->line;
    if (strcmp(section, "Chain") != 0)
        return ini_fail(st, lineno, section, "unknown section (expected [Chain])");
    static const char *const keys[] = {"RpcUrl",           "ChainId",  "Contract", "Confirmations",
                                       "ReceiptTimeoutMs", "LegacyTx", "Agree"};
    unsigned k = 0;
    while (k < sizeof keys / sizeof keys[0] && strcmp(keys[k], key) != 0)
        k++;
    if (k == sizeof keys / sizeof keys[0])
        return ini_fail(st, lineno, key, "unknown key");
    if ((st->seen & (1u << k)) && k != 0) /* RpcUrl: once per endpoint */
        return ini_fail(st, lineno, key, "duplicate key");
    st->seen |= 1u << k;
    struct nr_chain_ini *o = st->out;
    uint64_t u = 0;
    switch (k) {
    case 0:
        if (strlen(value) >= sizeof o->rpc_url)
            return ini_fail(st, lineno, key, "too long");
        if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
            return ini_fail(st, lineno, key, "must start with http:// or https://");
        if (o->n_rpc_urls == NR_CHAIN_MAX_ENDPOINTS)
            return ini_fail(st, lineno, key, "more than 8 endpoints");
        for (unsigned i = 0; i < o->n_rpc_urls; i++)
            if (strcmp(o->rpc_urls[i], value) == 0)
                return ini_fail(st, lineno, key, "duplicate endpoint");
        snprintf(o->rpc_urls[o->n_rpc_urls++], sizeof o->rpc_urls[0], "%s", value);
        if (o->n_rpc_urls == 1)
            snprintf(o->rpc_url, sizeof o->rpc_url, "%s", value);
        break;
    case 6:
        if (parse_uint(&u, value, NR_CHAIN_MAX_ENDPOINTS) != NR_OK || u == 0)
            return ini_fail(st, lineno, key, "expected an integer in 1..8");
        o->agree = (unsigned)u;
        st->agree_line = lineno;
        break;
    case 1:
        if (parse_uint(&u, value, UINT64_MAX) != NR_OK || u == 0)
            return ini_fail(st, lineno, key, "expected a positive integer");
        o->chain_id = u;
        break;
    case 2: {
        size_t n = 0;
        if (strlen(value) != 42 || value[0] != '0' || value[1] != 'x' ||
            nr_eth_hex_decode(o->contract, sizeof o->contract, &n, value) != NR_OK || n != 20)
            return ini_fail(st, lineno, key, "expected a 0x-prefixed 20-byte address");
        o->has_contract = 1;
        break;
    }
    case 3:
        if (parse_uint(&u, value, 1000000) != NR_OK || u == 0)
            return ini_fail(st, lineno, key, "expected an integer in 1..1000000");
        o->confirmations = (unsigned)u;
        break;
    case 4:
        if (parse_uint(&u, value, 3600000) != NR_OK || u == 0)
            return ini_fail(st, lineno, key, "expected milliseconds in 1..3600000");
        o->receipt_timeout_ms = (unsigned)u;
        break;
    case 5:
        if (strcmp(value, "true") == 0)
            o->legacy_tx = 1;
        else if (strcmp(value, "false") == 0)
            o->legacy_tx = 0;
        else
            return ini_fail(st, lineno, key, "expected true or false");
        break;
    }
    return 1;
}

int nr_chain_ini_parse(struct nr_chain_ini *out, const char *name, const char *text, size_t len,
                       char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    out->confirmations = 1;
    if (err && err_cap)
        err[0] = '\0';
    if (len > INI_MAX_BYTES || memchr(text, '\0', len) != NULL) {
        if (err && err_cap)
            snprintf(err, err_cap, "%s: not a text file of at most %u bytes", name, INI_MAX_BYTES);
        return NR_ECONFIG;
    }
    struct ini_state st = {
        .out = out, .name = name, .err = err, .err_cap = err_cap, .p = text, .left = len};
    int r = ini_parse_stream(ini_reader_fn, &st, chain_ini_key, &st);
    if (st.failed)
        return NR_ECONFIG;
    if (st.too_long) {
        if (err && err_cap)
            snprintf(err, err_cap, "%s:%d: line too long", name, st.line + 1);
        return NR_ECONFIG;
    }
    if (r != 0) {
        if (err && err_cap)
            snprintf(err, err_cap, "%s:%d: syntax error", name, r);
        return NR_ECONFIG;
    }
    if (!(st.seen & 1u) || !(st.seen & 2u)) {
        if (err && err_cap)
            snprintf(err, err_cap, "%s: [Chain] needs RpcUrl and ChainId", name);
        return NR_ECONFIG;
    }
    if (out->agree == 0) {
        out->agree = out->n_rpc_urls;
    } else if (out->agree > out->n_rpc_urls) {
        if (err && err_cap)
            snprintf(err, err_cap, "%s:%d: Agree: %u endpoints must agree but %u RpcUrl %s given",
                     name, st.agree_line, out->agree, out->n_rpc_urls,
                     out->n_rpc_urls == 1 ? "is" : "are");
        return NR_ECONFIG;
    }
    return NR_OK;
}

void nr_chain_ini_to_config(struct nr_registry_config *cfg, const struct nr_chain_ini *ini)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->rpc.url = ini->rpc_url;
    cfg->rpc.expect_chain_id = ini->chain_id;
    cfg->has_contract = ini->has_contract;
    memcpy(cfg->contract, ini->contract, sizeof cfg->contract);
    cfg->confirmations = ini->confirmations;
    cfg->receipt_timeout_ms = ini->receipt_timeout_ms;
    cfg->legacy_tx = ini->legacy_tx;
}
