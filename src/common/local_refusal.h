/* The local socket's handshake refusal: when an SE refuses an AE's LOCAL_HELLO it sends this
 * one frame (u32-LE length 8, then "NRRF" || u32-LE error number) before closing, so that
 * nr_open() can say why (NR_EHANDSHAKE: another system id; NR_EATTEST: the AE's local report
 * does not verify there, e.g. another platform). The length differs from every handshake
 * message. It comes from the untrusted host: only an error code to report, never a reason to
 * trust anything; any other code reads as NR_EHANDSHAKE. */
#ifndef NR_COMMON_LOCAL_REFUSAL_H
#define NR_COMMON_LOCAL_REFUSAL_H

#include <stdint.h>
#include <string.h>

#include "narrator/errors.h"

#define NR_LOCAL_REFUSAL_BYTES 8u
#define NR_LOCAL_REFUSAL_MAGIC "NRRF"

/* The code a refusal may carry (anything else: NR_EHANDSHAKE). */
static inline int nr_local_refusal_code(int rc)
{
    return rc == NR_EATTEST || rc == NR_EMEASUREMENT ? rc : NR_EHANDSHAKE;
}

static inline void nr_local_refusal_encode(uint8_t out[NR_LOCAL_REFUSAL_BYTES], int rc)
{
    uint32_t v = (uint32_t)-nr_local_refusal_code(rc);
    memcpy(out, NR_LOCAL_REFUSAL_MAGIC, 4);
    for (unsigned k = 0; k < 4; k++) {
        out[4 + k] = (uint8_t)(v >> (8u * k));
    }
}

/* NR_OK if `msg` is not a refusal; else the refused code. */
static inline int nr_local_refusal_decode(const uint8_t *msg, size_t len)
{
    if (len != NR_LOCAL_REFUSAL_BYTES || memcmp(msg, NR_LOCAL_REFUSAL_MAGIC, 4) != 0) {
        return NR_OK;
    }
    uint32_t v = 0;
    for (unsigned k = 0; k < 4; k++) {
        v |= (uint32_t)msg[4 + k] << (8u * k);
    }
    return nr_local_refusal_code(v <= 1000u ? -(int)v : NR_EHANDSHAKE);
}

#endif
