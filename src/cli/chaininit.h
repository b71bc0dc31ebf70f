/* Blockchain-anchored initialisation in the CLI (docs/chain.md, "Initialisation"):
 * `narrator devnet` (devnet.c) and the chain steps of `narrator up` (chaininit.c). */
#ifndef NR_CLI_CHAININIT_H
#define NR_CLI_CHAININIT_H

#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"

#define NR_CLI_DEVNET_DIR ".narrator/devnet"

/* ---- devnet.c: wraps scripts/devnet.sh (anvil from the repository's node_modules) ---- */
int nr_cmd_devnet(int argc, char **argv);
/* The repository root (NARRATOR_ROOT, else the source tree this was built from) and the
 * build directory (BUILD_DIR, else the one this was built in). */
const char *nr_cli_repo_root(void);
const char *nr_cli_build_dir(void);
/* 1 if anvil is in node_modules; else 0 and a one-line reason in why. */
int nr_cli_anvil_available(char *why, size_t why_cap);
/* Start a devnet in dir (absolute) on 127.0.0.1:port (0: a free port); writes dir/chain.ini
 * and dir/deployer.key. `quiet` sends the script's output to dir/devnet.out. */
int nr_cli_devnet_up(const char *dir, unsigned port, int quiet) __attribute__((warn_unused_result));
int nr_cli_devnet_down(const char *dir, int quiet);
/* 1 if dir has a running anvil (its pid file names a live process). */
int nr_cli_devnet_running(const char *dir);

/* ---- chaininit.c: the four steps against a chain (built with the chain client) ---- */
struct nr_cli_chain;
/* Open the chain described by chain_ini with the creator's key (hex file). */
int nr_cli_chain_open(struct nr_cli_chain **out, const char *chain_ini, const char *key_file)
    __attribute__((warn_unused_result));
void nr_cli_chain_close(struct nr_cli_chain *c);
/* system id from "0x"+64 hex / 64 hex, or keccak256(text) otherwise. */
int nr_cli_chain_system_id(uint8_t out[NR_SYSTEM_ID_BYTES], const char *text);
/* Step 3, first-initialisation check: NR_EEXIST (with a message) if the id is on chain. */
int nr_cli_chain_check_new(struct nr_cli_chain *c, const uint8_t system_id[NR_SYSTEM_ID_BYTES])
    __attribute__((warn_unused_result));
/* Step 2 (Ethereum part): give the identity a TEE-generated Ethereum key and fund it from
 * the creator (eth_milli thousandths of an ETH). */
int nr_cli_chain_se_key(struct nr_cli_chain *c, const char *platform, const char *identity,
                        unsigned eth_milli) __attribute__((warn_unused_result));
/* Step 4, recording: createSystem (creator), registerMember from each SE's own sealed key
 * (evidence hash = keccak256 of the membership file's evidence), finalize (creator).
 * identities[i] / platforms[i] are member i's; the membership file must be written. */
int nr_cli_chain_record(struct nr_cli_chain *c, const char *membership_path, char **identities,
                        char **platforms, unsigned n) __attribute__((warn_unused_result));
/* The [Chain] section for narratord configs (RpcUrl, ChainId, Contract, Confirmations). */
int nr_cli_chain_section(struct nr_cli_chain *c, char *out, size_t cap, unsigned start_timeout_s)
    __attribute__((warn_unused_result));

#endif
