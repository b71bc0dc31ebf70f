/* Fuzz target for the chain.ini parser (nr_chain_ini_parse; a config file is untrusted input).
 *
 * Properties: no crash or undefined behaviour; the result is NR_OK or NR_ECONFIG (NR_ENOMEM
 * aside); the error text is NUL-terminated within its buffer; on NR_OK the required fields
 * are set (RpcUrl starts with http:// or https://, ChainId > 0, Confirmations >= 1).
 *
 * Built with -fsanitize=fuzzer under NR_FUZZ, and with NR_FUZZ_REPLAY as a plain executable
 * over the files or directories named on its command line (CTest: test/fuzz/corpus/chain_ini). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nr_chain_ini ini;
    char err[128];
    memset(err, 'x', sizeof err);
    int rc = nr_chain_ini_parse(&ini, "fuzz.ini", (const char *)data, size, err, sizeof err);
    if (rc != NR_OK && rc != NR_ECONFIG && rc != NR_ENOMEM)
        abort();
    if (strnlen(err, sizeof err) == sizeof err)
        abort();
    if (rc == NR_OK) {
        if (strncmp(ini.rpc_url, "http://", 7) != 0 && strncmp(ini.rpc_url, "https://", 8) != 0)
            abort();
        if (ini.chain_id == 0 || ini.confirmations == 0 || err[0] != '\0')
            abort();
    } else if (err[0] == '\0' && rc == NR_ECONFIG) {
        abort(); /* every refusal says why */
    }
    return 0;
}

/* Replay runner (NR_FUZZ_REPLAY): main() over the corpus, shared by every target. */
#include "fuzz_replay.h"
