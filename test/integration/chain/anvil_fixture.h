/* Test fixture: a real anvil devnet started on a free loopback port, and small helpers shared by
 * the chain integration tests. anvil comes from node_modules (npm ci); its path is compiled in
 * (NR_ANVIL_PATH). The child gets SIGKILL if the test process dies, so no anvil outlives a
 * test. */
#ifndef NR_TEST_ANVIL_FIXTURE_H
#define NR_TEST_ANVIL_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NR_ANVIL_CHAIN_ID 31337u
/* anvil's first development account (public test key; devnet only). */
#define NR_ANVIL_KEY0 "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

struct nr_anvil {
    pid_t pid;
    unsigned port;
    char url[64];
};

/* Starts anvil (extra_args: NULL-terminated list or NULL) and waits until it answers
 * eth_chainId (at most 30 s). Returns 0 or -1 (message on stderr). */
int nr_anvil_start(struct nr_anvil *a, const char *const *extra_args);
void nr_anvil_stop(struct nr_anvil *a);

/* A loopback TCP port that nothing listens on right now. */
unsigned nr_test_free_port(void);

/* Run argv (no shell), capture stdout (NUL-terminated, trailing newline stripped) into out.
 * Returns the exit status, or -1. At most timeout_ms; the child is killed after that. */
int nr_test_run(const char *const *argv, char *out, size_t cap, unsigned timeout_ms);

/* Monotonic milliseconds. */
uint64_t nr_test_now_ms(void);

/* Read a whole file (NUL-terminated, malloc'd), or NULL. */
char *nr_test_read_file(const char *path, size_t *len);

#endif
