/* Bindings for contracts/NarratorRegistry.sol: deploy, createSystem, registerMember, finalize,
 * recordGenesis, epochs (openEpoch, setGovernance), views, and the check every state enclave
 * runs before serving (nr_registry_verify).
 *
 * A transaction is: estimate gas (a revert is reported here with its reason, and nothing is
 * sent), sign with the caller's key (EIP-1559, or legacy where the chain has no base fee),
 * send, wait for the receipt (bounded), wait for the configured number of confirmations
 * (bounded). A mined transaction with status 0 is NR_EREVERT; its reason is recovered by
 * replaying the call on the parent block. "nonce too low" refetches the nonce and retries a
 * bounded number of times. Views read the state at the confirmed head
 * (head - confirmations + 1), so a record counts only once it has its confirmations.
 *
 * Error texts: nr_registry_errmsg(); revert reason alone: nr_registry_revert_reason(). */
#ifndef NR_ETH_REGISTRY_H
#define NR_ETH_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "eth/eth.h"
#include "eth/registry_state.h"
#include "eth/rpc.h"
#include "narrator/errors.h"

#define NR_REGISTRY_MAX_MEMBERS 255u
#define NR_REGISTRY_DEFAULT_RECEIPT_TIMEOUT_MS 60000u
#define NR_REGISTRY_DEFAULT_POLL_MS 200u
#define NR_REGISTRY_DEFAULT_GAS_MARGIN_PCT 25u
#define NR_REGISTRY_DEFAULT_NONCE_RETRIES 2u

/* Function signatures (selectors are keccak of these). */
#define NR_REGISTRY_SIG_CREATE "createSystem(bytes32,uint256,uint256,bytes32)"
#define NR_REGISTRY_SIG_REGISTER "registerMember(bytes32,bytes32,bytes32,bytes32)"
#define NR_REGISTRY_SIG_FINALIZE "finalize(bytes32)"
#define NR_REGISTRY_SIG_GET_SYSTEM "getSystem(bytes32)"
#define NR_REGISTRY_SIG_GET_MEMBER "getMember(bytes32,uint256)"
#define NR_REGISTRY_EVENT_CREATED "SystemCreated(bytes32,address,uint256,uint256,bytes32)"
#define NR_REGISTRY_EVENT_REGISTERED                                                               \
    "MemberRegistered(bytes32,uint256,bytes32,bytes32,bytes32,address)"
#define NR_REGISTRY_EVENT_FINALIZED "SystemFinalized(bytes32,uint256,uint256,bytes32,bytes32)"
#define NR_REGISTRY_SIG_RECORD_GENESIS "recordGenesis(bytes32,uint256,bytes32,bytes32[8])"
#define NR_REGISTRY_SIG_GET_GENESIS "getGenesis(bytes32,uint256)"
#define NR_REGISTRY_EVENT_GENESIS "GenesisRecorded(bytes32,uint256,bytes32,address)"
#define NR_REGISTRY_SIG_OPEN_EPOCH                                                                 \
    "openEpoch(bytes32,uint256,uint256,uint256,uint8,bytes32[],bytes32[],bytes32[],address[],"     \
    "bytes32,bytes32,bytes32)"
#define NR_REGISTRY_SIG_SET_GOVERNANCE "setGovernance(bytes32,address[],uint256)"
#define NR_REGISTRY_SIG_GET_EPOCH "getEpoch(bytes32,uint256)"
#define NR_REGISTRY_SIG_GET_EPOCH_MEMBER "getEpochMember(bytes32,uint256,uint256)"
#define NR_REGISTRY_SIG_CURRENT_EPOCH "currentEpoch(bytes32)"
#define NR_REGISTRY_SIG_GET_GOVERNANCE "getGovernance(bytes32)"
#define NR_REGISTRY_SIG_GET_APPROVALS "getApprovals(bytes32)"
#define NR_REGISTRY_EVENT_GOVERNANCE_SET "GovernanceSet(bytes32,uint256,address[])"
#define NR_REGISTRY_EVENT_EPOCH_APPROVED "EpochApproved(bytes32,uint256,bytes32,address,uint256)"
#define NR_REGISTRY_EVENT_EPOCH_OPENED "EpochOpened(bytes32,uint256,uint8,bytes32,bytes32,bytes32)"
#define NR_REGISTRY_MAX_OPERATORS 16u /* the contract's MAX_OPERATORS */
/* The revert reason that nr_registry_record_genesis reports as NR_EEXIST. */
#define NR_REGISTRY_REASON_GENESIS_RECORDED "genesis already recorded"

struct nr_registry_config {
    struct nr_rpc_config rpc; /* url, expected chain id (0 = take the node's), timeouts */
    int has_contract;         /* 0 only for deploy */
    uint8_t contract[NR_ETH_ADDR_BYTES];
    unsigned confirmations;      /* >= 1; 0 means 1 */
    unsigned receipt_timeout_ms; /* receipt and confirmations each; 0 = default */
    unsigned poll_ms;            /* 0 = default */
    int legacy_tx;               /* force type-0 (EIP-155) transactions */
    unsigned gas_margin_pct;     /* added to eth_estimateGas; 0 = default */
    unsigned nonce_retries;      /* 0 = default */
};

struct nr_registry;

/* Opens the RPC client, learns (or checks) the chain id and, when a contract is configured,
 * checks that code exists there (NR_ECHAIN otherwise). *out is set whenever memory allows so
 * that the error text can be read; close it in every case. */
int nr_registry_open(struct nr_registry **out, const struct nr_registry_config *cfg)
    __attribute__((warn_unused_result));
void nr_registry_close(struct nr_registry *reg);
const char *nr_registry_errmsg(const struct nr_registry *reg);
const char *nr_registry_revert_reason(const struct nr_registry *reg);
struct nr_rpc *nr_registry_rpc(struct nr_registry *reg);
uint64_t nr_registry_chain_id(const struct nr_registry *reg);
void nr_registry_contract(const struct nr_registry *reg, uint8_t out[NR_ETH_ADDR_BYTES]);

/* One signed transaction from sk's account; to NULL = contract creation, gas_limit 0 =
 * estimate. On NR_OK the receipt (status 1) has the configured confirmations. */
int nr_registry_send(struct nr_registry *reg, struct nr_eth_receipt *rc,
                     const uint8_t sk[NR_ETH_SK_BYTES], const uint8_t *to, const nr_u256 *value,
                     const uint8_t *data, size_t data_len, uint64_t gas_limit)
    __attribute__((warn_unused_result));

/* Deploys the creation code (hex text, as written by scripts/build-contract.js, or bytes) and
 * makes it this handle's contract. */
int nr_registry_deploy(struct nr_registry *reg, struct nr_eth_receipt *rc,
                       uint8_t addr[NR_ETH_ADDR_BYTES], const uint8_t sk[NR_ETH_SK_BYTES],
                       const uint8_t *code, size_t code_len) __attribute__((warn_unused_result));

int nr_registry_create_system(struct nr_registry *reg, struct nr_eth_receipt *rc,
                              const uint8_t sk[NR_ETH_SK_BYTES], const uint8_t system_id[32],
                              uint32_t n, uint32_t f, const uint8_t measurement[32])
    __attribute__((warn_unused_result));

/* struct nr_registry_member is in registry_state.h. */
int nr_registry_register_member(struct nr_registry *reg, struct nr_eth_receipt *rc,
                                const uint8_t sk[NR_ETH_SK_BYTES], const uint8_t system_id[32],
                                const struct nr_registry_member *m)
    __attribute__((warn_unused_result));
int nr_registry_finalize(struct nr_registry *reg, struct nr_eth_receipt *rc,
                         const uint8_t sk[NR_ETH_SK_BYTES], const uint8_t system_id[32])
    __attribute__((warn_unused_result));
/* Plain value transfer (funding an SE's account). */
int nr_registry_transfer(struct nr_registry *reg, struct nr_eth_receipt *rc,
                         const uint8_t sk[NR_ETH_SK_BYTES], const uint8_t to[NR_ETH_ADDR_BYTES],
                         const nr_u256 *value) __attribute__((warn_unused_result));

/* struct nr_registry_system is in registry_state.h (shared with the evidence verifier). */
/* block_tag NULL: the confirmed head. */
int nr_registry_get_system(struct nr_registry *reg, struct nr_registry_system *out,
                           const uint8_t system_id[32], const char *block_tag)
    __attribute__((warn_unused_result));
int nr_registry_get_member(struct nr_registry *reg, struct nr_registry_member *out,
                           const uint8_t system_id[32], uint32_t index, const char *block_tag)
    __attribute__((warn_unused_result));

/* recordGenesis(systemId, epoch, genesisId, founders) from sk's account (a member's). The
 * genesis id must be nr_genesis_packed_id(system_id, epoch, n, founders). A genesis that another
 * member recorded first is NR_EEXIST ("genesis already recorded"); any other refusal is NR_EREVERT
 * with its reason. */
int nr_registry_record_genesis(struct nr_registry *reg, struct nr_eth_receipt *rc,
                               const uint8_t sk[NR_ETH_SK_BYTES], const uint8_t system_id[32],
                               uint32_t epoch, const uint8_t genesis_id[32],
                               const uint8_t founders[NR_GENESIS_FOUNDERS_BYTES])
    __attribute__((warn_unused_result));
/* getGenesis(systemId, epoch) (eth_call, not proven: the state enclave uses nr_evidence_genesis).
 * out->recorded = 0 when none. block_tag NULL: the confirmed head. */
int nr_registry_get_genesis(struct nr_registry *reg, struct nr_registry_genesis *out,
                            const uint8_t system_id[32], uint32_t epoch, const char *block_tag)
    __attribute__((warn_unused_result));

/* The members hash (nr_registry_members_hash, nr_registry_epoch_members_hash) is in
 * registry_state.h. */

/* ---- epochs (docs/chain.md "Epochs") ---- */

/* The arguments of openEpoch: epoch = the current epoch + 1, its n = 2f+1 members (platform id,
 * identity key, evidence hash and account each; n_members is normally n: the contract refuses
 * any other count), kind NR_REGISTRY_KIND_RECONFIGURATION or _RECOVERY, predecessor = the
 * genesis id of the current epoch, the state root it begins from and the hash of the handover
 * certificate. */
struct nr_registry_epoch_proposal {
    uint8_t system_id[32];
    uint32_t epoch;
    uint32_t n, f;
    uint8_t kind;
    const struct nr_registry_member *members;
    size_t n_members; /* at most NR_REGISTRY_MAX_EPOCH_MEMBERS (NR_EINVAL otherwise) */
    uint8_t predecessor[32];
    uint8_t state_root[32];
    uint8_t handover_hash[32];
};
/* The proposal hash that M-of-N approvals count: keccak256(abi.encode(all openEpoch
 * arguments)). NR_EINVAL if n_members is too large. */
int nr_registry_epoch_proposal_hash(uint8_t out[32], const struct nr_registry_epoch_proposal *p)
    __attribute__((warn_unused_result));
/* openEpoch from sk's account (the creator, or one of the operators under M-of-N governance).
 * *opened (may be NULL) is 1 if the epoch is open after this transaction (the creator's call,
 * or the approval that reached the threshold), 0 if this was an approval still short of it.
 * Every refusal is NR_EREVERT with the contract's reason (nr_registry_revert_reason). */
int nr_registry_open_epoch(struct nr_registry *reg, struct nr_eth_receipt *rc,
                           const uint8_t sk[NR_ETH_SK_BYTES],
                           const struct nr_registry_epoch_proposal *p, int *opened)
    __attribute__((warn_unused_result));
/* setGovernance(systemId, operators, threshold) from the creator's key: from then on epochs
 * open with threshold of the n_operators operators (20-byte addresses, packed). */
int nr_registry_set_governance(struct nr_registry *reg, struct nr_eth_receipt *rc,
                               const uint8_t sk[NR_ETH_SK_BYTES], const uint8_t system_id[32],
                               const uint8_t (*operators)[NR_ETH_ADDR_BYTES], size_t n_operators,
                               uint32_t threshold) __attribute__((warn_unused_result));

/* Views (eth_call, not proven: a state enclave uses nr_evidence_epoch). block_tag NULL: the
 * confirmed head. */
/* getEpoch(systemId, epoch): out->exists = 0 when not open (epoch 1: not finalised). */
int nr_registry_get_epoch(struct nr_registry *reg, struct nr_registry_epoch *out,
                          const uint8_t system_id[32], uint32_t epoch, const char *block_tag)
    __attribute__((warn_unused_result));
/* getEpochMember(systemId, epoch, index); "no such epoch" / "no such member" are NR_EREVERT. */
int nr_registry_get_epoch_member(struct nr_registry *reg, struct nr_registry_member *out,
                                 const uint8_t system_id[32], uint32_t epoch, uint32_t index,
                                 const char *block_tag) __attribute__((warn_unused_result));
/* currentEpoch(systemId): 0 before finalize (or for no system), 1 after, then the last opened. */
int nr_registry_current_epoch(struct nr_registry *reg, uint32_t *out, const uint8_t system_id[32],
                              const char *block_tag) __attribute__((warn_unused_result));
/* getGovernance(systemId): *threshold 0 means the creator governs alone; operators into
 * operators[0..cap) (NR_ETOOBIG beyond cap), their number in *n_operators. */
int nr_registry_get_governance(struct nr_registry *reg, uint32_t *threshold,
                               uint8_t (*operators)[NR_ETH_ADDR_BYTES], size_t cap,
                               size_t *n_operators, const uint8_t system_id[32],
                               const char *block_tag) __attribute__((warn_unused_result));
/* getApprovals(proposal): distinct operators that approved it. */
int nr_registry_get_approvals(struct nr_registry *reg, uint32_t *out, const uint8_t proposal[32],
                              const char *block_tag) __attribute__((warn_unused_result));

/* The check before serving (S4): at the confirmed head, the system exists, is finalised, has
 * the expected measurement (if not NULL), and its members (read back into members[0..cap),
 * *n_members) hash to the recorded members hash. NR_ECHAIN with a text otherwise. */
int nr_registry_verify(struct nr_registry *reg, struct nr_registry_system *sys,
                       struct nr_registry_member *members, size_t cap, size_t *n_members,
                       const uint8_t system_id[32], const uint8_t *measurement)
    __attribute__((warn_unused_result));

/* ---- chain.ini (written by scripts/devnet.sh, read by narrator-chain and the daemon) ----
 *
 *   [Chain]
 *   RpcUrl = http://127.0.0.1:8545     JSON-RPC endpoint (required); once per endpoint, at
 *                                      most NR_CHAIN_MAX_ENDPOINTS (transactions use the first)
 *   Agree = 2                          endpoints that must agree on a block (default: all)
 *   ChainId = 31337                    expected chain id (required; checked on connect)
 *   Contract = 0x5FbDB2...             registry address (optional until deployed)
 *   Confirmations = 1                  confirmations before a record counts (default 1)
 *   ReceiptTimeoutMs = 60000           optional
 *   LegacyTx = false                   optional: force type-0 transactions
 *
 * Unknown sections or keys, duplicates and bad values are errors: one line "name:line: Key:
 * reason" in err. */
#define NR_CHAIN_URL_MAX 256u
#define NR_CHAIN_MAX_ENDPOINTS 8u
struct nr_chain_ini {
    char rpc_url[NR_CHAIN_URL_MAX]; /* the first endpoint */
    char rpc_urls[NR_CHAIN_MAX_ENDPOINTS][NR_CHAIN_URL_MAX];
    unsigned n_rpc_urls;
    unsigned agree; /* 1..n_rpc_urls, default n_rpc_urls */
    uint64_t chain_id;
    int has_contract;
    uint8_t contract[NR_ETH_ADDR_BYTES];
    unsigned confirmations;
    unsigned receipt_timeout_ms;
    int legacy_tx;
};
int nr_chain_ini_parse(struct nr_chain_ini *out, const char *name, const char *text, size_t len,
                       char *err, size_t err_cap) __attribute__((warn_unused_result));
/* Fill a registry configuration from a parsed file (the strings stay owned by ini). */
void nr_chain_ini_to_config(struct nr_registry_config *cfg, const struct nr_chain_ini *ini);

#endif
