/* Sizes shared by the public API and the protocol core: defined once, here. */
#ifndef NARRATOR_SIZES_H
#define NARRATOR_SIZES_H

#define NR_DIGEST_BYTES 32u    /* digest of an AE's sealed state */
#define NR_SYSTEM_ID_BYTES 32u /* system id of a network */
#define NR_GENESIS_ID_BYTES 32u /* genesis id of a network (docs/protocol.md §5.7) */

#endif
