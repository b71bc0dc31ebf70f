/* The host side of the chain evidence (src/eth/evidence.h): it fetches the bytes, the verifier
 * decides. Also the genesis transaction and the sealed highest height.
 *
 * Reading the genesis of (system, epoch), nr_host_chain_fetch_genesis:
 *   1. eth_blockNumber from every configured endpoint (RpcUrl, m of them); the height read is
 *      H = (lowest head) - (Confirmations - 1), so every endpoint has the block;
 *   2. eth_getBlockByNumber(H) from every endpoint, re-encoded to the header RLP from its JSON
 *      fields and checked against the block's "hash" (nr_rpc_parse_block_header);
 *   3. eth_getProof(registry, the genesis slots, H) from the first endpoint that answers;
 *   4. nr_evidence_genesis with k = Agree and min_height: the verdict is the verifier's.
 * An endpoint that cannot be reached is retried by the JSON-RPC client (3 retries, backoff
 * 200 ms doubling); if it still fails, its header is missing and counts against agreement.
 * Disagreement names each endpoint and the block hash it gave; a bad proof names the endpoint
 * that served it.
 *
 * The highest verified height is sealed with the TEE in DataDir/chain.height (8 bytes,
 * big-endian, sealed with the associated data "narrator-chain-height-v1" || chain id ||
 * registry address) and is the next read's min_height. A missing file means 0; a file that
 * does not unseal or has another size is an error. The host can roll the file back together
 * with the data directory: this is a best effort (docs/chain.md "Chain evidence"). */
#ifndef NR_HOST_CHAIN_EVIDENCE_H
#define NR_HOST_CHAIN_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "eth/evidence.h"
#include "eth/rpc.h"
#include "host/config.h"
#include "narrator/errors.h"

struct nr_tee;

#define NR_HOST_CHAIN_HEIGHT_FILE "chain.height"
#define NR_HOST_CHAIN_HEIGHT_AD "narrator-chain-height-v1"

/* Fetch and verify (no sealed state involved): see above. */
int nr_host_chain_fetch_genesis(struct nr_evidence_genesis *out, const struct nr_host_chain *cfg,
                                uint64_t min_height, const uint8_t system_id[32], uint32_t epoch,
                                char *err, size_t err_cap) __attribute__((warn_unused_result));

/* The sealed highest height of data_dir: NR_OK with 0 when there is no file; NR_EUNSEAL,
 * NR_EMALFORMED (size), NR_EIO otherwise. */
int nr_host_chain_height_load(uint64_t *height, struct nr_tee *tee, const char *data_dir,
                              const struct nr_host_chain *cfg, char *err, size_t err_cap)
    __attribute__((warn_unused_result));
/* Seal height into data_dir (atomic replace). */
int nr_host_chain_height_store(struct nr_tee *tee, const char *data_dir,
                               const struct nr_host_chain *cfg, uint64_t height, char *err,
                               size_t err_cap) __attribute__((warn_unused_result));

/* load -> fetch with min_height = the sealed height -> seal the verified height (if higher). */
int nr_host_chain_read_genesis(struct nr_evidence_genesis *out, const struct nr_host_chain *cfg,
                               struct nr_tee *tee, const char *data_dir,
                               const uint8_t system_id[32], uint32_t epoch, char *err,
                               size_t err_cap) __attribute__((warn_unused_result));

/* recordGenesis from this SE's own Ethereum account (the key sealed in identity_file, which
 * never leaves this call and is wiped), through the first endpoint that connects, waiting for
 * Confirmations. NR_EEXIST when a genesis is already recorded for (system, epoch) (another
 * member was first: read it back with nr_host_chain_read_genesis); NR_EREVERT with the reason
 * for any other refusal. rc (may be NULL) gets the receipt. */
int nr_host_chain_post_genesis(struct nr_eth_receipt *rc, const struct nr_host_chain *cfg,
                               struct nr_tee *tee, const char *identity_file,
                               const uint8_t system_id[32], uint32_t epoch,
                               const uint8_t genesis_id[32],
                               const uint8_t founders[NR_GENESIS_FOUNDERS_BYTES], char *err,
                               size_t err_cap) __attribute__((warn_unused_result));

#endif
