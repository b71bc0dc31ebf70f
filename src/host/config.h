/* narratord configuration: a WireGuard-like INI file read with libinih.
 *
 *   [Node]
 *   Index = 0                         member index of this SE (required)
 *   Listen = 127.0.0.1:7100           TCP address for peer SEs (required)
 *   Socket = /run/narrator/se0.sock   Unix socket for local AEs, mode 0600 (required)
 *   DataDir = /var/lib/narrator/se0   sealed store and identity (required)
 *   Platform = /path/platform         sim: TEE platform directory; gramine: /dev/attestation
 *                                     (required)
 *   TeeBackend = sim                  TEE backend: sim or gramine (default sim; docs/sgx.md)
 *   Membership = /path/membership.txt membership file (required)
 *   AttestationRoot = <64 hex>        sim: attestation root public key; gramine: SHA-256
 *                                     fingerprint of the pinned Intel SGX Root CA (required)
 *   Durability = memory|disk          (default memory)
 *   LogLevel = error|warn|info|debug  (default info)
 *   LogFile = /path/se0.log           optional, in addition to stderr
 *   Metrics = 127.0.0.1:9100          optional HTTP endpoint (/metrics, /status)
 *   MaxRecords = 2000000              record capacity of the core (default 2000000)
 *   MaxBatch = 1024                   optional core tuning (0 = core default)
 *   MaxInflight = 16                  optional core tuning (0 = core default)
 *   Snapshot = on|off                 write-behind record snapshot in the store (default:
 *                                     off with Durability = memory, on with disk;
 *                                     off only with Durability = memory)
 *   [Peer]                            one section per other member
 *   Index = 1
 *   Endpoint = 127.0.0.1:7101
 *   [Chain]                           optional: the chain anchors the membership (S4)
 *   RpcUrl = http://127.0.0.1:8545    JSON-RPC endpoint (required in [Chain]); give the key
 *                                     once per endpoint (at most 8): chain reads need Agree of
 *                                     them to return the same block (src/host/chain_evidence.h)
 *   Agree = 2                         endpoints that must agree (1..endpoints; default: all)
 *   ChainId = 31337                   expected chain id (required in [Chain])
 *   Contract = 0x5FbDB2...            NarratorRegistry address (required in [Chain])
 *   Confirmations = 1                 confirmations before a record counts (default 1)
 *   Required = yes|no                 no: an unreachable chain only warns (default yes)
 *   StartTimeout = 60                 seconds (or "500ms") to reach the chain (default 60)
 *
 *   [SGX]                             optional, TeeBackend = gramine only: DCAP collateral
 *                                     and policy for peers' and AEs' quotes (docs/sgx.md)
 *   PckCrl = /path/pck.crl.der        a DER CRL (Intel's PCK processor/platform CA CRL, the
 *                                     root CA CRL); give the key once per file (at most 4)
 *   RequireCrl = yes|no               a current CRL for every CA in each PCK chain is
 *                                     required (default no; yes needs PckCrl)
 *   TcbInfo = /path/tcbinfo.json      Intel's TCB info for this platform's FMSPC (JSON)
 *   TcbSigningChain = /path/tcb.pem   its signing chain, PEM (required with TcbInfo)
 *   MinTcbStatus = UpToDate           the worst accepted TCB status, in the order UpToDate,
 *                                     SWHardeningNeeded, ConfigurationNeeded,
 *                                     ConfigurationAndSWHardeningNeeded, OutOfDate,
 *                                     OutOfDateConfigurationNeeded (Revoked never); needs
 *                                     TcbInfo (default UpToDate)
 *   AllowDebug = yes|no               accept SGX debug enclaves (default no; development)
 *   AeSigner = <64 hex>               AEs must have this MRSIGNER (default: any AE)
 *
 * With [Chain], narratord checks at start-up, before it serves anything, that the finalised
 * on-chain membership of the system id in the membership file equals the membership file
 * and contains this SE (src/host/chain.h).
 *
 * The parser runs over a byte buffer (files, tests and the fuzzer share one path). Every error
 * is ONE line naming file, line and key: "se0.ini:4: Listen: bad address". Unknown sections and
 * keys, duplicate keys and missing required keys are errors. Addresses are numeric
 * (IPv4 "a.b.c.d:port" or IPv6 "[addr]:port"); no name resolution. */
#ifndef NR_HOST_CONFIG_H
#define NR_HOST_CONFIG_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/core.h"

#define NR_CFG_PATH_MAX 256u          /* any path value, including the NUL */
#define NR_CFG_SOCK_PATH_MAX 108u     /* sun_path */
#define NR_CFG_FILE_MAX (64u * 1024u) /* config files larger than this are refused */
#define NR_CFG_LINE_MAX 512u
#define NR_CFG_ERR_MAX 512u
#define NR_CFG_DEFAULT_MAX_RECORDS 2000000u
#define NR_CFG_MAX_MAX_RECORDS 100000000u

struct nr_host_addr {
    struct sockaddr_storage sa;
    socklen_t len;
    char text[64]; /* as written, e.g. "127.0.0.1:7100" */
};

struct nr_host_peer {
    uint16_t index;
    struct nr_host_addr endpoint;
};

#define NR_CFG_CHAIN_URL_MAX 256u
#define NR_CFG_CHAIN_DEFAULT_START_TIMEOUT_MS 60000u
#define NR_CFG_CHAIN_MAX_START_TIMEOUT_MS 86400000u
#define NR_CFG_CHAIN_MAX_CONFIRMATIONS 1000u
#define NR_CFG_CHAIN_MAX_ENDPOINTS 8u /* = NR_EVIDENCE_MAX_HEADERS */

struct nr_host_chain {
    int enabled; /* a [Chain] section is present */
    char rpc_url[NR_CFG_CHAIN_URL_MAX]; /* the first endpoint (= rpc_urls[0]) */
    char rpc_urls[NR_CFG_CHAIN_MAX_ENDPOINTS][NR_CFG_CHAIN_URL_MAX];
    unsigned n_rpc_urls; /* m */
    unsigned agree;      /* k, 1..m (default m) */
    uint64_t chain_id;
    uint8_t contract[20];
    unsigned confirmations;
    int required;
    unsigned start_timeout_ms;
};

#define NR_CFG_SGX_MAX_CRLS 4u

struct nr_host_sgx {
    int enabled; /* an [SGX] section is present */
    char crl_path[NR_CFG_SGX_MAX_CRLS][NR_CFG_PATH_MAX];
    int crl_line[NR_CFG_SGX_MAX_CRLS]; /* for file:line:key errors when the file is loaded */
    unsigned n_crls;
    int require_crl;
    char tcb_info_path[NR_CFG_PATH_MAX]; /* "" = none */
    int tcb_info_line;
    char tcb_chain_path[NR_CFG_PATH_MAX];
    int tcb_chain_line;
    unsigned tcb_allowed; /* bit (1 << enum nr_dcap_tcb) per accepted status */
    int allow_debug;
    int check_ae_signer;
    uint8_t ae_signer[32];
};

struct nr_host_config {
    uint16_t index;
    struct nr_host_addr listen;
    char socket_path[NR_CFG_SOCK_PATH_MAX];
    char data_dir[NR_CFG_PATH_MAX];
    char platform_dir[NR_CFG_PATH_MAX];
    char tee_backend[16];
    char membership_path[NR_CFG_PATH_MAX];
    uint8_t attestation_root[32];
    int durability;                 /* enum nr_durability */
    int log_level;                  /* enum nr_log_level */
    char log_file[NR_CFG_PATH_MAX]; /* "" = none */
    int has_metrics;
    struct nr_host_addr metrics;
    uint32_t max_records;
    uint32_t max_batch;
    uint32_t max_inflight;
    int snapshot; /* 1: records go to the sealed store (always in DISK durability) */
    struct nr_host_peer peers[NR_MAX_MEMBERS];
    unsigned n_peers;
    struct nr_host_chain chain;
    struct nr_host_sgx sgx;
    /* Where it came from, for messages about the files it names: "FILE:LINE: Membership: ..." */
    char source[NR_CFG_PATH_MAX];
    int membership_line;
};

/* Parse `len` bytes of INI text; `name` is used in error messages. On error returns
 * NR_ECONFIG and writes one line "name:line: Key: reason" to err (if err_cap > 0). */
int nr_host_config_parse(struct nr_host_config *cfg, const char *name, const char *buf, size_t len,
                         char *err, size_t err_cap) __attribute__((warn_unused_result));
/* Read and parse a file (NR_ECONFIG with message, also for unreadable / oversized files). */
int nr_host_config_load(struct nr_host_config *cfg, const char *path, char *err, size_t err_cap)
    __attribute__((warn_unused_result));

/* "127.0.0.1:7100" or "[::1]:7100" -> address. Returns NR_OK or NR_EINVAL. */
int nr_host_addr_parse(struct nr_host_addr *out, const char *s) __attribute__((warn_unused_result));

#endif
