/* Fuzz target for the narratord configuration parser (src/host/config.c): a file the host
 * operator (untrusted, like everything outside the enclave) hands to the daemon.
 *
 * Properties checked on every input:
 *  - nr_host_config_parse never crashes;
 *  - on error it returns NR_ECONFIG and exactly one line that starts with "fuzz.ini:" and
 *    names a line number and a key ("fuzz.ini:<line>: <key>: <reason>");
 *  - an accepted config is coherent: index and peer indices < NR_MAX_MEMBERS, peer indices
 *    distinct and different from the node's, required paths non-empty and NUL-terminated,
 *    addresses parsed (non-zero length). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_replay.h"
#include "host/config.h"

static void check_err(const char *err)
{
    const char *p = err;
    if (strncmp(p, "fuzz.ini:", 9) != 0)
        abort();
    p += 9;
    if (*p < '0' || *p > '9')
        abort();
    while (*p >= '0' && *p <= '9')
        p++;
    if (p[0] != ':' || p[1] != ' ')
        abort();
    if (!strstr(p + 2, ": "))
        abort();
    if (strchr(err, '\n'))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct nr_host_config c;
    char err[NR_CFG_ERR_MAX];

    int rc = nr_host_config_parse(&c, "fuzz.ini", (const char *)data, size, err, sizeof err);
    if (rc != NR_OK) {
        if (rc != NR_ECONFIG)
            abort();
        check_err(err);
        return 0;
    }
    if (c.index >= NR_MAX_MEMBERS || c.n_peers >= NR_MAX_MEMBERS)
        abort();
    if (!c.socket_path[0] || !c.data_dir[0] || !c.platform_dir[0] || !c.membership_path[0])
        abort();
    if (!memchr(c.socket_path, '\0', sizeof c.socket_path) ||
        !memchr(c.data_dir, '\0', sizeof c.data_dir) ||
        !memchr(c.log_file, '\0', sizeof c.log_file))
        abort();
    if (c.listen.len == 0 || (c.has_metrics && c.metrics.len == 0))
        abort();
    if (c.max_records == 0 || c.max_records > NR_CFG_MAX_MAX_RECORDS)
        abort();
    for (unsigned i = 0; i < c.n_peers; i++) {
        if (c.peers[i].index >= NR_MAX_MEMBERS || c.peers[i].index == c.index ||
            c.peers[i].endpoint.len == 0)
            abort();
        for (unsigned j = 0; j < i; j++)
            if (c.peers[j].index == c.peers[i].index)
                abort();
    }
    return 0;
}
