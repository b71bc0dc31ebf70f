/* Small file helpers for the host side of the TEE and channel modules: whole-file reads
 * with a size cap, and atomic writes (temporary file in the same directory, mode 0600,
 * fsync, rename, fsync of the directory). Files are untrusted input: a short, long or
 * missing file is an error value. */
#ifndef NR_TEE_FILE_H
#define NR_TEE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "narrator/errors.h"

/* Write `len` bytes to `path` atomically with mode 0600. NR_EIO on failure. */
int nr_file_write_atomic(const char *path, const uint8_t *data, size_t len)
    __attribute__((warn_unused_result));
/* Read a whole file of at most `cap` bytes. NR_ENOTFOUND (missing), NR_ETOOBIG (larger than
 * cap), NR_EIO. */
int nr_file_read(const char *path, uint8_t *out, size_t cap, size_t *out_len)
    __attribute__((warn_unused_result));
/* Read a file that must be exactly `len` bytes long (NR_EMALFORMED otherwise). */
int nr_file_read_exact(const char *path, uint8_t *out, size_t len)
    __attribute__((warn_unused_result));
/* 1 if path exists (any type), 0 otherwise. */
int nr_file_exists(const char *path);
/* Join dir and name into out (NR_ETOOBIG if it does not fit). */
int nr_path_join(char *out, size_t cap, const char *dir, const char *name)
    __attribute__((warn_unused_result));

#endif
