/* An application built out of tree against an installed libnarrator (pkg-config or
 * find_package): commits versions 1 and 2 of a record and reads it back. The AE environment
 * comes from a node's client.env (NARRATOR_SOCKET, NARRATOR_PLATFORM, NARRATOR_SYSTEM_ID). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <narrator/narrator.h>

static int hex32(uint8_t out[32], const char *s)
{
    if (!s || strlen(s) != 64) {
        return -1;
    }
    for (size_t i = 0; i < 32; i++) {
        unsigned v = 0;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct nr_client_options o;
    struct nr_client *c = NULL;
    uint8_t d[NR_DIGEST_BYTES], got[NR_DIGEST_BYTES];
    uint64_t v = 0;
    memset(&o, 0, sizeof o);
    o.socket_path = getenv("NARRATOR_SOCKET");
    o.platform_dir = getenv("NARRATOR_PLATFORM");
    o.code_identity = "install-test-ae/1";
    if (argc != 2 || !o.socket_path || hex32(o.system_id, getenv("NARRATOR_SYSTEM_ID"))) {
        fprintf(stderr, "usage: . node0/client.env; ae RECORD\n");
        return 2;
    }
    int rc = nr_open(&c, &o, argv[1]);
    for (uint64_t k = 1; rc == NR_OK && k <= 2; k++) {
        memset(d, (int)k, sizeof d);
        rc = nr_update(c, k, d, NULL);
    }
    if (rc == NR_OK) {
        rc = nr_read(c, &v, got);
    }
    nr_close(c);
    if (rc != NR_OK || v != 2 || memcmp(got, d, sizeof d) != 0) {
        fprintf(stderr, "ae: %s (%s), version %llu\n", nr_strerror(rc), nr_errname(rc),
                (unsigned long long)v);
        return 1;
    }
    printf("ae: %s at version 2\n", argv[1]);
    return 0;
}
