/* Whole-file reads, gzip inflation and atomic (temporary file + fsync + rename) writes. */
#include "io/io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef GT_HAVE_ZLIB
#include <zlib.h>
#endif

void gt__io_swap(void *data, size_t n, size_t size) {
    if (size <= 1)
        return;
    uint8_t *p = data;
    for (size_t i = 0; i < n; i++, p += size)
        for (size_t a = 0, b = size - 1; a < b; a++, b--) {
            uint8_t t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

char *gt__io_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = gt__malloc(n, "a string");
    if (d)
        memcpy(d, s, n);
    return d;
}

bool gt__io_read_file(const char *who, const char *path, uint8_t **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (!path) {
        gt__error("%s: the path is NULL", who);
        return false;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        gt__error("%s: cannot open %s: %s", who, path, strerror(errno));
        return false;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        gt__error("%s: %s is not a regular file", who, path);
        fclose(f);
        return false;
    }
    if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX - 1) {
        gt__error("%s: %s is too large to read (%lld bytes)", who, path, (long long)st.st_size);
        fclose(f);
        return false;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = gt__malloc(size ? size : 1, "a file's contents");
    if (!buf) {
        fclose(f);
        return false;
    }
    size_t got = size ? fread(buf, 1, size, f) : 0;
    /* A file that grew or shrank while we read is reported rather than half-read. */
    int extra = fgetc(f);
    if (got != size || ferror(f) || extra != EOF) {
        gt__error("%s: error reading %s (%zu of %zu bytes read%s)", who, path, got, size,
                  extra != EOF ? ", the file grew meanwhile" : "");
        gt__free(buf);
        fclose(f);
        return false;
    }
    fclose(f);
    *out = buf;
    *n = size;
    return true;
}

bool gt__io_gunzip(const char *who, const char *name, const uint8_t *in, size_t n, size_t limit,
                   uint8_t **out, size_t *outn) {
    *out = NULL;
    *outn = 0;
#ifndef GT_HAVE_ZLIB
    (void)in;
    (void)n;
    (void)limit;
    gt__error("%s: %s is gzip-compressed, but gradtape was built without zlib: install "
              "zlib1g-dev (apt-get install zlib1g-dev) and rebuild, or gunzip the file first",
              who, name);
    return false;
#else
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        gt__error("%s: %s: zlib could not start inflating", who, name);
        return false;
    }
    /* One byte of room past the limit tells "exactly limit bytes" from "more than limit". */
    size_t want = limit;
    if (limit < SIZE_MAX)
        limit++;
    /* Start near the usual 2-5x ratio, never above the limit; grow by doubling. */
    size_t cap = n < limit / 4 ? 4 * n : limit;
    if (cap < 4096)
        cap = limit < 4096 ? limit : 4096;
    if (cap == 0)
        cap = 1;
    uint8_t *buf = gt__malloc(cap, "a decompressed file");
    if (!buf) {
        inflateEnd(&zs);
        return false;
    }
    size_t done = 0, used = 0; /* output bytes, input bytes consumed */
    bool ok = false;
    for (;;) {
        if (done == cap) {
            if (cap >= limit) {
                gt__error("%s: %s decompresses to more than the %zu bytes its contents can hold "
                          "(trailing data or a corrupt stream)",
                          who, name, want);
                break;
            }
            size_t ncap = cap > limit / 2 ? limit : cap * 2;
            uint8_t *nb = gt__realloc(buf, ncap, "a decompressed file");
            if (!nb)
                break;
            buf = nb;
            cap = ncap;
        }
        size_t in_chunk = n - used > (size_t)UINT32_MAX ? (size_t)UINT32_MAX : n - used;
        size_t out_chunk = cap - done > (size_t)UINT32_MAX ? (size_t)UINT32_MAX : cap - done;
        zs.next_in = (Bytef *)(uintptr_t)(in + used);
        zs.avail_in = (uInt)in_chunk;
        zs.next_out = buf + done;
        zs.avail_out = (uInt)out_chunk;
        int rc = inflate(&zs, Z_NO_FLUSH);
        used += in_chunk - zs.avail_in;
        done += out_chunk - zs.avail_out;
        if (rc == Z_STREAM_END) {
            if (used == n) {
                ok = done <= want;
                if (!ok)
                    gt__error("%s: %s decompresses to more than the %zu bytes its contents can "
                              "hold (trailing data or a corrupt stream)",
                              who, name, want);
                break;
            }
            if (gt__io_is_gzip(in + used, n - used)) { /* another member (gzip -c a b > c) */
                inflateReset(&zs);
                continue;
            }
            gt__error("%s: %s has %zu bytes of garbage after the end of its gzip stream", who, name,
                      n - used);
            break;
        }
        if (rc == Z_OK)
            continue;
        if (rc == Z_BUF_ERROR && zs.avail_out == 0)
            continue; /* just needs more room */
        if (rc == Z_BUF_ERROR) {
            gt__error("%s: %s: truncated gzip stream (the compressed data ends early, after %zu "
                      "decompressed bytes)",
                      who, name, done);
            break;
        }
        if (rc == Z_MEM_ERROR) {
            gt__error_oom("zlib's inflate state", 0);
            break;
        }
        gt__error("%s: %s: corrupt gzip data (zlib: %s)", who, name,
                  zs.msg ? zs.msg : "data error");
        break;
    }
    inflateEnd(&zs);
    if (!ok) {
        gt__free(buf);
        return false;
    }
    *out = buf;
    *outn = done;
    return true;
#endif
}

size_t gt__io_gunzip_head(const uint8_t *in, size_t n, uint8_t *out, size_t k) {
#ifndef GT_HAVE_ZLIB
    (void)in;
    (void)n;
    (void)out;
    (void)k;
    return 0;
#else
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return 0;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = n > (size_t)UINT32_MAX ? UINT32_MAX : (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)k;
    while (zs.avail_out > 0) {
        int rc = inflate(&zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END && gt__io_is_gzip(zs.next_in, zs.avail_in)) {
            inflateReset(&zs); /* another member, read on as gt__io_gunzip does */
            continue;
        }
        if (rc != Z_OK)
            break; /* end of stream, damage, or no progress possible */
    }
    size_t got = k - zs.avail_out;
    inflateEnd(&zs);
    return got;
#endif
}

/* ---- atomic writes -------------------------------------------------------------------------- */

bool gt__io_atomic_open(gt__io_atomic *a, const char *who, const char *path) {
    memset(a, 0, sizeof *a);
    a->who = who;
    if (!path || !*path) {
        gt__error("%s: the path is NULL or empty", who);
        return false;
    }
    size_t n = strlen(path) + 32;
    a->path = gt__io_strdup(path);
    a->tmp = gt__malloc(n, "a temporary file name");
    if (!a->path || !a->tmp) {
        gt__free(a->path);
        gt__free(a->tmp);
        return false;
    }
    snprintf(a->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    a->f = fopen(a->tmp, "wb");
    if (!a->f) {
        gt__error("%s: cannot create %s: %s", who, a->tmp, strerror(errno));
        gt__free(a->path);
        gt__free(a->tmp);
        a->path = a->tmp = NULL;
        return false;
    }
    return true;
}

bool gt__io_atomic_write(gt__io_atomic *a, const void *data, size_t n) {
    if (a->failed)
        return false;
    if (n && fwrite(data, 1, n, a->f) != n) {
        gt__error("%s: writing %s failed: %s", a->who, a->tmp, strerror(errno));
        a->failed = true;
        return false;
    }
    return true;
}

void gt__io_atomic_abort(gt__io_atomic *a) {
    if (a->f)
        fclose(a->f);
    if (a->tmp)
        remove(a->tmp);
    gt__free(a->path);
    gt__free(a->tmp);
    memset(a, 0, sizeof *a);
}

/* Best effort: makes the rename itself durable. */
static void sync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) {
        strcpy(dir, ".");
    } else {
        size_t len = (size_t)(slash - path);
        if (len == 0)
            len = 1;
        if (len >= sizeof dir)
            return;
        memcpy(dir, path, len);
        dir[len] = 0;
    }
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

bool gt__io_atomic_commit(gt__io_atomic *a) {
    if (a->failed) {
        gt__io_atomic_abort(a);
        return false;
    }
    if (fflush(a->f) != 0 || fsync(fileno(a->f)) != 0) {
        gt__error("%s: flushing %s to disk failed: %s", a->who, a->tmp, strerror(errno));
        gt__io_atomic_abort(a);
        return false;
    }
    int rc = fclose(a->f);
    a->f = NULL;
    if (rc != 0) {
        gt__error("%s: closing %s failed: %s", a->who, a->tmp, strerror(errno));
        gt__io_atomic_abort(a);
        return false;
    }
    if (rename(a->tmp, a->path) != 0) {
        gt__error("%s: cannot rename %s to %s: %s", a->who, a->tmp, a->path, strerror(errno));
        gt__io_atomic_abort(a);
        return false;
    }
    sync_parent_dir(a->path);
    gt__free(a->path);
    gt__free(a->tmp);
    memset(a, 0, sizeof *a);
    return true;
}
