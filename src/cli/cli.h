/* The `narrator` command-line tool: one file per subcommand, one table in narrator.c.
 *
 * A network made by `narrator up` lives in one directory (default .narrator/net):
 *   root/                  sim attestation root (root.sk, root.pub)
 *   system_id              the system id, 64 hex characters (update/read take it from
 *                          membership.txt; client.env carries it for AEs)
 *   membership.txt         the genesis membership file
 *   nodes                  the member count n, in decimal
 *   node<i>/platform/      sim TEE platform directory of member i ("its CPU")
 *   node<i>/data/identity  member i's sealed identity (narrator keygen)
 *   node<i>/data/          narratord DataDir
 *   node<i>/se.ini         narratord configuration
 *   node<i>/se.sock        Unix socket for local AEs
 *   node<i>/narratord.pid, node<i>/narratord.log
 *   node<i>/client.env     shell exports for an AE on that platform (NARRATOR_SOCKET, ...)
 * Every subcommand returns a process exit code: 0 success, 1 usage, 2 failure. */
#ifndef NR_CLI_H
#define NR_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/code_identity.h" /* NR_SE_CODE_IDENTITY */
#include "core/core.h"            /* NR_MAX_MEMBERS */
#include "narrator/narrator.h"

#define NR_CLI_PATH_MAX 512u
#define NR_CLI_DEFAULT_DIR ".narrator/net"
#define NR_CLI_DEFAULT_BASE_PORT 7100u
#define NR_CLI_AE_CODE_IDENTITY "narrator-cli/1"
#define NR_CLI_INTEL_ROOT_FP "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"
#define NR_CLI_EXIT_OK 0
#define NR_CLI_EXIT_USAGE 1
#define NR_CLI_EXIT_FAIL 2

struct nr_cli_cmd {
    const char *name;
    const char *usage;                 /* arguments, one line */
    const char *help;                  /* one line */
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
};

/* Subcommands (one file each). */
int nr_cmd_keygen(int argc, char **argv);
int nr_cmd_genesis(int argc, char **argv);
int nr_cmd_up(int argc, char **argv);
int nr_cmd_down(int argc, char **argv);
int nr_cmd_status(int argc, char **argv);
int nr_cmd_update(int argc, char **argv);
int nr_cmd_read(int argc, char **argv);
int nr_cmd_epochs(int argc, char **argv); /* epochs.c: the on-chain epoch history */

/* Reusable steps (keygen.c, genesis.c): used by their subcommands and by `up`. */
int nr_cli_keygen(const char *backend, const char *platform, const char *out, uint8_t pub[32]);
int nr_cli_genesis(const char *backend, const uint8_t system_id[NR_SYSTEM_ID_BYTES],
                   const char *root, const char *out, char **id_files, unsigned n);
/* The same with the policy given: root_pub (32 bytes) instead of the sim root directory
 * (root NULL), and the allowed SE measurements (1..8; n_meas 0: the backend's measurement of
 * the SE code identity, as nr_cli_genesis). Under gramine the measurement is MRENCLAVE and
 * must be given. */
int nr_cli_genesis_ex(const char *backend, const uint8_t system_id[NR_SYSTEM_ID_BYTES],
                      const char *root, const uint8_t *root_pub, const uint8_t (*meas)[32],
                      unsigned n_meas, const char *out, char **id_files, unsigned n);
/* MRENCLAVE and MRSIGNER (SHA-256 of the signer's modulus) from a Gramine .sig file (an SGX
 * SIGSTRUCT, 1808 bytes, as written by gramine-sgx-sign). NR_EMALFORMED if it is not one. */
int nr_cli_sigstruct(const char *path, uint8_t mrenclave[32], uint8_t mrsigner[32]);

/* Print "usage: narrator <cmd> <usage>" for `name` to stderr; returns NR_CLI_EXIT_USAGE. */
int nr_cli_usage(const char *name);
/* "narrator: <what>: <nr_strerror(err)> (<NAME>)" to stderr; returns NR_CLI_EXIT_FAIL. */
int nr_cli_fail(const char *what, int err);

/* ---- helpers (util.c) ---- */
int nr_cli_hex_decode(uint8_t *out, size_t len, const char *hex); /* exactly 2*len hex chars */
void nr_cli_hex_encode(char *out, const uint8_t *in, size_t len); /* out: 2*len+1 */
int nr_cli_parse_u64(const char *s, uint64_t *out);
int nr_cli_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out);
/* mkdir -p with mode 0700. */
int nr_cli_mkdirs(const char *path);
/* Absolute form of an existing directory. */
int nr_cli_realdir(const char *path, char *out, size_t cap);
int nr_cli_write_text(const char *path, const char *text);
int nr_cli_read_text(const char *path, char *out, size_t cap); /* trailing newline stripped */

/* Layout of a network directory (see above). */
struct nr_cli_node {
    char dir[NR_CLI_PATH_MAX];
    char platform[NR_CLI_PATH_MAX];
    char identity[NR_CLI_PATH_MAX];
    char data[NR_CLI_PATH_MAX];
    char config[NR_CLI_PATH_MAX];
    char socket[NR_CLI_PATH_MAX];
    char pidfile[NR_CLI_PATH_MAX];
    char logfile[NR_CLI_PATH_MAX];
    char envfile[NR_CLI_PATH_MAX];
};
int nr_cli_node_paths(struct nr_cli_node *out, const char *netdir, unsigned i);
/* Member count of a network directory (from its `nodes` file). */
int nr_cli_net_nodes(const char *netdir, unsigned *n);
/* Client options for an AE beside member i (socket, platform, backend, system id). The
 * strings live in `store`. */
struct nr_cli_client {
    struct nr_client_options opt;
    char socket[NR_CLI_PATH_MAX];
    char platform[NR_CLI_PATH_MAX];
    char backend[16];
};
int nr_cli_client_options(struct nr_cli_client *store, const char *netdir, unsigned node,
                          const char *code_identity);

/* ---- processes (proc.c) ---- */
int nr_cli_read_pid(const char *pidfile, pid_t *pid);
/* 1 if pid is alive and runs narratord (guards against pid reuse). */
int nr_cli_pid_is_narratord(pid_t pid);
/* SIGTERM, wait up to `grace_ms`, then SIGKILL. Returns NR_OK once the process is gone. */
int nr_cli_stop_pid(pid_t pid, unsigned grace_ms);
/* Path of the narratord binary: $NARRATORD, next to this program, ../host/, else PATH. */
void nr_cli_narratord_path(char *out, size_t cap);
uint64_t nr_cli_now_ms(void);
void nr_cli_sleep_ms(unsigned ms);

/* ---- node status (status.c) ---- */
struct nr_cli_node_status {
    int running;      /* process alive */
    int reachable;    /* status endpoint answered */
    int foreign;      /* ... for another network's system id (state "FOREIGN") */
    char state[16];   /* "JOINING" / "ACTIVE" / "HALTED" / "FOREIGN" / "DOWN" / "?" */
    char detail[512]; /* the status document, one line */
};
int nr_cli_node_status(const char *netdir, unsigned i, struct nr_cli_node_status *st);

#endif
