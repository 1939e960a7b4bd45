/* Shared helpers of src/io: whole-file reading, gzip inflation, atomic writes, little- and
 * big-endian loads. src/io sits on the public API of gradtape.h; from the core's internals it
 * uses only the error channel and the counted allocator (so "allocations per step" counters
 * see ours too). */
#ifndef GT_IO_INTERNAL_H
#define GT_IO_INTERNAL_H

#include <gradtape.h>
#include <gradtape_io.h>

#include "core/internal.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- byte order -------------------------------------------------------------------------- */

static inline bool gt__io_little_endian(void) {
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}
static inline uint32_t gt__io_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}
static inline uint64_t gt__io_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}
static inline void gt__io_put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}
static inline void gt__io_put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
/* Reverses the bytes of each of n elements of `size` bytes, in place (size 1: no-op). */
void gt__io_swap(void *data, size_t n, size_t size);

/* ---- files ------------------------------------------------------------------------------- */

/* Reads a whole regular file into a fresh buffer (*out, *n; free with gt__free). On failure
 * sets "<who>: cannot open <path>: <strerror>" (or read error) and returns false. */
bool gt__io_read_file(const char *who, const char *path, uint8_t **out, size_t *n);

/* True when the buffer starts with the gzip magic 1f 8b. */
static inline bool gt__io_is_gzip(const uint8_t *p, size_t n) {
    return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* Inflates a complete gzip stream (concatenated members allowed) into a fresh buffer.
 * `limit` caps the output size (larger output is an error: the caller knows the most it can
 * use). Without zlib, an error says to install zlib1g-dev and rebuild. `who`/`name` prefix
 * messages. */
bool gt__io_gunzip(const char *who, const char *name, const uint8_t *in, size_t n, size_t limit,
                   uint8_t **out, size_t *outn);

/* Inflates at most k bytes from the start of a gzip stream (across concatenated members, as
 * gt__io_gunzip reads them) into out; returns how many it got
 * (fewer when the stream is shorter or damaged; errors are left to gt__io_gunzip). Sets no
 * error. Without zlib returns 0. */
size_t gt__io_gunzip_head(const uint8_t *in, size_t n, uint8_t *out, size_t k);

/* A file being written atomically: data goes to "<path>.tmp.<pid>", and commit fsyncs it,
 * renames it over path and fsyncs the folder. abort removes the temporary file. */
typedef struct gt__io_atomic {
    FILE *f;
    char *path;
    char *tmp;
    const char *who;
    bool failed;
} gt__io_atomic;
bool gt__io_atomic_open(gt__io_atomic *a, const char *who, const char *path);
/* Writes n bytes; the first failure is remembered (and reported) and later writes do nothing. */
bool gt__io_atomic_write(gt__io_atomic *a, const void *data, size_t n);
bool gt__io_atomic_commit(gt__io_atomic *a);
void gt__io_atomic_abort(gt__io_atomic *a);

/* Multiplies non-negative a and b, false on overflow past INT64_MAX. */
static inline bool gt__io_mul(int64_t a, int64_t b, int64_t *out) {
    if (a < 0 || b < 0)
        return false;
    if (a != 0 && b > INT64_MAX / a)
        return false;
    *out = a * b;
    return true;
}

/* Copies a string with the counted allocator (NULL + OOM error on failure). */
char *gt__io_strdup(const char *s);

#endif
