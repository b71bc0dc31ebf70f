/* pin: a PIN-attempt limiter, the classic victim of rollback attacks, protected by Narrator.
 *
 * State (sealed to this platform, never in the clear on disk): a salted hash of the PIN and
 * the number of wrong attempts since the last correct one. Three wrong guesses lock it.
 * Every guess follows the Narrator discipline:
 *   1. compute the new state (attempts + 1, or 0 on success),
 *   2. seal it as version v+1 (nr_seal_state),
 *   3. commit (v+1, digest) to the state-enclave network (nr_update),
 *   4. only then reveal whether the guess was right.
 * On every start it calls nr_restore(), so a host that puts back an older sealed file
 * (fewer attempts) is caught: "ROLLBACK DETECTED", and the program refuses to run.
 *
 * Uses only the public API (narrator/narrator.h). Configuration from the environment (as
 * written by `narrator up` to <net>/node<i>/client.env):
 *   NARRATOR_SOCKET     the local state enclave's Unix socket
 *   NARRATOR_PLATFORM   this platform's sim TEE directory
 *   NARRATOR_SYSTEM_ID  the system id (64 hex)
 *   NARRATOR_TEE        TEE backend (default sim)
 *   NARRATOR_TIMEOUT_MS per-request timeout (default: the library's, 10 s)
 *   PIN_STATE           sealed state files prefix (default ./pin-state -> pin-state.0/.1)
 *
 * Exit codes: 0 ok / correct guess, 1 usage, 2 error, 3 ROLLBACK, FORK or GENESIS MISMATCH
 * detected (state of another network), 4 wrong guess, 5 locked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "narrator/narrator.h"

#define PIN_CODE_IDENTITY "narrator-pin-example/1"
#define PIN_RECORD "pin"
#define PIN_MAX_ATTEMPTS 3u
#define PIN_SALT_BYTES 16u
#define PIN_HASH_BYTES 32u
#define PIN_STATE_MAGIC "PIN1"
#define PIN_STATE_BYTES (4u + PIN_SALT_BYTES + PIN_HASH_BYTES + 4u)

enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_ERR = 2, EXIT_DETECTED = 3, EXIT_WRONG = 4, EXIT_LOCKED = 5 };

struct pin_state {
    uint8_t salt[PIN_SALT_BYTES];
    uint8_t hash[PIN_HASH_BYTES];
    uint32_t attempts; /* wrong guesses since the last correct one */
};

static void encode(uint8_t out[PIN_STATE_BYTES], const struct pin_state *s)
{
    memcpy(out, PIN_STATE_MAGIC, 4);
    memcpy(out + 4, s->salt, PIN_SALT_BYTES);
    memcpy(out + 4 + PIN_SALT_BYTES, s->hash, PIN_HASH_BYTES);
    uint8_t *a = out + 4 + PIN_SALT_BYTES + PIN_HASH_BYTES;
    for (unsigned i = 0; i < 4; i++) {
        a[i] = (uint8_t)(s->attempts >> (8 * i));
    }
}

static int decode(struct pin_state *s, const uint8_t *in, size_t len)
{
    if (len != PIN_STATE_BYTES || memcmp(in, PIN_STATE_MAGIC, 4) != 0) {
        return -1;
    }
    memcpy(s->salt, in + 4, PIN_SALT_BYTES);
    memcpy(s->hash, in + 4 + PIN_SALT_BYTES, PIN_HASH_BYTES);
    const uint8_t *a = in + 4 + PIN_SALT_BYTES + PIN_HASH_BYTES;
    s->attempts = 0;
    for (unsigned i = 0; i < 4; i++) {
        s->attempts |= (uint32_t)a[i] << (8 * i);
    }
    return 0;
}

static void hash_pin(uint8_t out[PIN_HASH_BYTES], const uint8_t salt[PIN_SALT_BYTES], const char *pin)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, PIN_HASH_BYTES);
    crypto_generichash_update(&st, salt, PIN_SALT_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)pin, strlen(pin));
    crypto_generichash_final(&st, out, PIN_HASH_BYTES);
}

static int valid_pin(const char *pin)
{
    size_t n = strlen(pin);
    if (n < 4 || n > 12) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (pin[i] < '0' || pin[i] > '9') {
            return 0;
        }
    }
    return 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: pin init [PIN] | pin guess PIN | pin status\n"
                    "  environment: NARRATOR_SOCKET, NARRATOR_PLATFORM, NARRATOR_SYSTEM_ID,\n"
                    "               PIN_STATE (default ./pin-state)\n");
    return EXIT_USAGE;
}

static int env_options(struct nr_client_options *opt)
{
    const char *sock = getenv("NARRATOR_SOCKET"), *plat = getenv("NARRATOR_PLATFORM"),
               *sys = getenv("NARRATOR_SYSTEM_ID"), *tee = getenv("NARRATOR_TEE");
    size_t bin_len = 0;
    memset(opt, 0, sizeof *opt);
    if (!sock || !plat || !sys) {
        fprintf(stderr, "pin: set NARRATOR_SOCKET, NARRATOR_PLATFORM and NARRATOR_SYSTEM_ID "
                        "(e.g. '. .narrator/net/node0/client.env')\n");
        return -1;
    }
    if (strlen(sys) != 2 * NR_SYSTEM_ID_BYTES ||
        sodium_hex2bin(opt->system_id, NR_SYSTEM_ID_BYTES, sys, strlen(sys), NULL, &bin_len, NULL) != 0 ||
        bin_len != NR_SYSTEM_ID_BYTES) {
        fprintf(stderr, "pin: NARRATOR_SYSTEM_ID must be 64 hex characters\n");
        return -1;
    }
    opt->socket_path = sock;
    opt->platform_dir = plat;
    opt->tee_backend = tee && *tee ? tee : "sim";
    opt->code_identity = PIN_CODE_IDENTITY;
    const char *t = getenv("NARRATOR_TIMEOUT_MS");
    if (t && *t) {
        char *end = NULL;
        unsigned long ms = strtoul(t, &end, 10);
        if (!end || *end || ms == 0 || ms > 600000ul) {
            fprintf(stderr, "pin: NARRATOR_TIMEOUT_MS must be 1..600000\n");
            return -1;
        }
        opt->timeout_ms = (uint32_t)ms;
    }
    return 0;
}

static int report(const char *what, int rc)
{
    if (rc == NR_EROLLBACK || rc == NR_EFORK || rc == NR_EAHEAD || rc == NR_EGENESIS) {
        fprintf(stderr, "pin: %s\npin: refusing to run on stale or forked state.\n", nr_strerror(rc));
        return EXIT_DETECTED;
    }
    fprintf(stderr, "pin: %s: %s (%s)\n", what, nr_strerror(rc), nr_errname(rc));
    return EXIT_ERR;
}

/* Seal the new state as version v, commit it; only a committed state may be acted upon. */
static int commit(struct nr_client *c, const char *path, const struct pin_state *s, uint64_t v)
{
    uint8_t buf[PIN_STATE_BYTES], d[NR_DIGEST_BYTES];
    encode(buf, s);
    int rc = nr_seal_state(c, path, buf, sizeof buf, v);
    if (rc == NR_OK) {
        nr_state_digest(d, buf, sizeof buf, v);
        rc = nr_update(c, v, d, NULL);
    }
    sodium_memzero(buf, sizeof buf);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        return usage();
    }
    const char *cmd = argv[1];
    int is_init = strcmp(cmd, "init") == 0, is_guess = strcmp(cmd, "guess") == 0,
        is_status = strcmp(cmd, "status") == 0;
    if ((!is_init && !is_guess && !is_status) || (is_guess && argc != 3) ||
        (is_init && argc > 3) || (is_status && argc != 2) ||
        (argc == 3 && !valid_pin(argv[2]))) {
        return usage();
    }
    if (sodium_init() < 0) {
        return EXIT_ERR;
    }
    struct nr_client_options opt;
    if (env_options(&opt) != 0) {
        return EXIT_USAGE;
    }
    const char *path = getenv("PIN_STATE");
    if (!path || !*path) {
        path = "pin-state";
    }

    struct nr_client *c = NULL;
    int rc = nr_open(&c, &opt, PIN_RECORD);
    if (rc) {
        return report("cannot reach the local state enclave", rc);
    }
    uint8_t buf[PIN_STATE_BYTES + 16];
    size_t len = 0;
    uint64_t v = 0;
    int result = 0, exit_code = EXIT_OK;
    struct pin_state s;
    memset(&s, 0, sizeof s);
    rc = nr_restore(c, path, buf, sizeof buf, &len, &v, &result);
    if (rc) {
        exit_code = report("restore", rc);
        goto out;
    }
    if (result == NR_RESTORE_DROPPED_UNCOMMITTED) {
        printf("note: the last update never committed; continuing from version %llu\n",
               (unsigned long long)v);
    }
    int initialised = result != NR_RESTORE_NO_RECORD;
    if (initialised && decode(&s, buf, len) != 0) {
        fprintf(stderr, "pin: sealed state has an unexpected format\n");
        exit_code = EXIT_ERR;
        goto out;
    }

    if (is_init) {
        if (initialised) {
            fprintf(stderr, "pin: already initialised (version %llu)\n", (unsigned long long)v);
            exit_code = EXIT_USAGE;
            goto out;
        }
        char pin[16];
        if (argc == 3) {
            snprintf(pin, sizeof pin, "%s", argv[2]);
        } else {
            snprintf(pin, sizeof pin, "%04u", (unsigned)randombytes_uniform(10000));
        }
        randombytes_buf(s.salt, sizeof s.salt);
        hash_pin(s.hash, s.salt, pin);
        sodium_memzero(pin, sizeof pin);
        s.attempts = 0;
        rc = commit(c, path, &s, v + 1);
        if (rc) {
            exit_code = report("commit", rc);
            goto out;
        }
        printf("initialised: %u attempts allowed (version %llu)\n", PIN_MAX_ATTEMPTS,
               (unsigned long long)(v + 1));
    } else if (is_status) {
        if (!initialised) {
            printf("not initialised\n");
        } else {
            printf("version %llu, wrong attempts %u/%u%s\n", (unsigned long long)v, s.attempts,
                   PIN_MAX_ATTEMPTS, s.attempts >= PIN_MAX_ATTEMPTS ? ", LOCKED" : "");
        }
    } else { /* guess */
        if (!initialised) {
            fprintf(stderr, "pin: not initialised (run 'pin init')\n");
            exit_code = EXIT_USAGE;
            goto out;
        }
        if (s.attempts >= PIN_MAX_ATTEMPTS) {
            printf("LOCKED: %u wrong attempts\n", s.attempts);
            exit_code = EXIT_LOCKED;
            goto out;
        }
        uint8_t h[PIN_HASH_BYTES];
        hash_pin(h, s.salt, argv[2]);
        int correct = sodium_memcmp(h, s.hash, sizeof h) == 0;
        s.attempts = correct ? 0 : s.attempts + 1;
        /* Commit the outcome before revealing it: a rollback now cannot buy more guesses. */
        rc = commit(c, path, &s, v + 1);
        if (rc) {
            exit_code = report("commit", rc);
            goto out;
        }
        if (correct) {
            printf("correct\n");
        } else if (s.attempts >= PIN_MAX_ATTEMPTS) {
            printf("wrong: LOCKED after %u attempts\n", s.attempts);
            exit_code = EXIT_WRONG;
        } else {
            printf("wrong: %u attempt%s left\n", PIN_MAX_ATTEMPTS - s.attempts,
                   PIN_MAX_ATTEMPTS - s.attempts == 1 ? "" : "s");
            exit_code = EXIT_WRONG;
        }
    }
out:
    sodium_memzero(&s, sizeof s);
    sodium_memzero(buf, sizeof buf);
    nr_close(c);
    return exit_code;
}
