/* Fuzz target: DCAP quote verification (src/tee/dcap.c) over untrusted bytes.
 *
 * Input: u16 little-endian quote length L || quote (L bytes) || TCB info JSON (the rest; none
 * if empty). The policy pins the Intel SGX Root CA at a time inside the vectors' validity and
 * accepts the real quote's enclave, so mutations of the real quote in the seed corpus reach
 * every check; the TCB info path runs only behind a fully valid quote and uses the quote's own
 * certification data as the signing chain (the signature check then fails, after parsing).
 * Seeds (test/fuzz/corpus/dcap/): the real quote with and without a TCB info document, and
 * truncations. Any return value is fine; a crash, a leak or UB is a bug. */
#include <stdint.h>
#include <string.h>

#include "fuzz_replay.h"
#include "tee/dcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t mrenclave[32] = {
        0x1d, 0xd0, 0xdf, 0x84, 0x81, 0x0e, 0x53, 0xe2, 0x6b, 0x2b, 0x16, 0x7d, 0xfe, 0x0f, 0x97, 0xcc,
        0x43, 0x64, 0x08, 0x5f, 0xe0, 0xbd, 0x41, 0xd5, 0xe1, 0x8a, 0x75, 0x9c, 0x21, 0xd5, 0xc1, 0x89};
    struct nr_dcap_policy p;
    struct nr_dcap_info info;
    struct nr_dcap_quote q;
    char err[256];
    if (size < 2)
        return 0;
    size_t qlen = (size_t)(data[0] | (data[1] << 8));
    if (qlen > size - 2)
        qlen = size - 2;
    const uint8_t *quote = data + 2;
    memset(&p, 0, sizeof p);
    if (nr_dcap_hex32(p.root_fp, NR_DCAP_INTEL_ROOT_FP) != NR_OK)
        return 0;
    p.time = 1682899200; /* 2023-05-01 */
    memcpy(p.mrenclave[0], mrenclave, 32);
    p.n_mrenclave = 1;
    p.allow_debug = 1;
    size_t tlen = size - 2 - qlen;
    if (tlen) {
        p.tcb_info = (struct nr_dcap_blob){quote + qlen, tlen};
        if (nr_dcap_parse(&q, quote, qlen) == NR_OK)
            p.tcb_sign_chain = (struct nr_dcap_blob){q.cert_data, q.cert_len};
    }
    int rc = nr_dcap_verify(&info, &p, quote, qlen, err, sizeof err);
    if (rc > 0 || (rc == NR_OK && tlen))
        __builtin_trap(); /* codes are <= 0; the seeds' TCB signatures are not Intel's */
    return 0;
}
