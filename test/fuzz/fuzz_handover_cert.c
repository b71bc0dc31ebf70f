/* Fuzz target: the handover certificate decoder and its check (src/chan/handover_cert.h) on
 * untrusted host-carried bytes. */
#include <string.h>

#include "chan/handover_cert.h"
#include "fuzz_replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nr_handover h;
    static const uint8_t keys[3][32] = {{1}, {2}, {3}};
    uint8_t buf[NR_HANDOVER_CERT_MAX_BYTES];
    char err[128];
    if (nr_handover_cert_decode(&h, data, size) != NR_OK)
        return 0;
    int rc = nr_handover_cert_verify(&h, h.system_id, h.epoch, h.genesis, keys, 3, err, sizeof err);
    (void)rc;
    size_t len = nr_handover_cert_encode(buf, sizeof buf, &h);
    if (len != size || memcmp(buf, data, size) != 0)
        __builtin_trap(); /* decode and encode are inverses */
    return 0;
}
