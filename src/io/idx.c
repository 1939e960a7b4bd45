/* IDX files (the MNIST family's format): validation, reading (plain or gzip) and writing. */
#include "io/io_internal.h"

#include <stdlib.h>

#ifdef GT_HAVE_ZLIB
#include <zlib.h>
#endif

size_t gt_idx_type_size(gt_idx_type type) {
    switch (type) {
    case GT_IDX_U8:
    case GT_IDX_I8:
        return 1;
    case GT_IDX_I16:
        return 2;
    case GT_IDX_I32:
    case GT_IDX_F32:
        return 4;
    case GT_IDX_F64:
        return 8;
    }
    return 0;
}

static const char *type_name(gt_idx_type type) {
    switch (type) {
    case GT_IDX_U8:
        return "u8";
    case GT_IDX_I8:
        return "i8";
    case GT_IDX_I16:
        return "i16";
    case GT_IDX_I32:
        return "i32";
    case GT_IDX_F32:
        return "f32";
    case GT_IDX_F64:
        return "f64";
    }
    return "?";
}

static void dims_str(char *buf, size_t n, int rank, const int64_t *dims) {
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < rank && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%lld", i ? "x" : "", (long long)dims[i]);
}

#define IDX_TYPES "08 u8, 09 i8, 0B i16, 0C i32, 0D f32, 0E f64"

/* Validates the header of n bytes at p (already decompressed); fills out's type, rank, dims
 * and count, and the header length. */
static bool parse_header(const uint8_t *p, size_t n, const char *name, gt_idx *out, size_t *hdr,
                         int64_t *data_bytes, bool check_size) {
    if (n < 4) {
        gt__error("idx: %s: truncated header: the file has %zu bytes, fewer than the 4 magic "
                  "bytes every IDX file starts with",
                  name, n);
        return false;
    }
    if (p[0] != 0 || p[1] != 0) {
        gt__error("idx: %s: bad magic bytes %02x %02x %02x %02x: an IDX file starts with 00 00, a "
                  "type code (" IDX_TYPES ") and a rank 1-%d; this is not an IDX file",
                  name, p[0], p[1], p[2], p[3], GT_IDX_MAX_RANK);
        return false;
    }
    gt_idx_type type = (gt_idx_type)p[2];
    if (gt_idx_type_size(type) == 0) {
        gt__error("idx: %s: bad magic: unknown element type code 0x%02x (known: " IDX_TYPES ")",
                  name, p[2]);
        return false;
    }
    int rank = p[3];
    if (rank < 1 || rank > GT_IDX_MAX_RANK) {
        gt__error("idx: %s: bad magic: rank %d is not supported (1-%d)", name, rank,
                  GT_IDX_MAX_RANK);
        return false;
    }
    size_t need = 4 + 4 * (size_t)rank;
    if (n < need) {
        gt__error("idx: %s: truncated header: a rank-%d header needs %zu bytes, the file has %zu",
                  name, rank, need, n);
        return false;
    }
    out->type = type;
    out->rank = rank;
    int64_t count = 1, bytes;
    bool fits = true;
    for (int i = 0; i < rank; i++) {
        out->dims[i] = gt__io_be32(p + 4 + 4 * i);
        if (fits && !gt__io_mul(count, out->dims[i], &count))
            fits = false;
    }
    if (!fits || !gt__io_mul(count, (int64_t)gt_idx_type_size(type), &bytes) ||
        (uint64_t)bytes > SIZE_MAX - need) {
        char d[128];
        dims_str(d, sizeof d, rank, out->dims);
        gt__error("idx: %s: dimensions overflow: %s %s elements need more than 2^63 bytes (a "
                  "corrupt header)",
                  name, d, type_name(type));
        return false;
    }
    out->count = count;
    *hdr = need;
    *data_bytes = bytes;
    if (!check_size)
        return true;
    size_t have = n - need;
    if ((uint64_t)bytes != have) {
        char d[128];
        dims_str(d, sizeof d, rank, out->dims);
        if ((uint64_t)bytes > have)
            gt__error("idx: %s: truncated data: the header says %s %s = %lld data bytes, but only "
                      "%zu follow the %zu-byte header",
                      name, d, type_name(type), (long long)bytes, have, need);
        else
            gt__error("idx: %s: %zu trailing bytes after the %lld data bytes the header describes "
                      "(%s %s): a corrupt or concatenated file",
                      name, have - (size_t)bytes, (long long)bytes, d, type_name(type));
        return false;
    }
    return true;
}

/* Takes ownership of buf (n bytes, plain or gzip). */
static bool parse_owned(uint8_t *buf, size_t n, const char *name, gt_idx *out) {
    memset(out, 0, sizeof *out);
    size_t hdr;
    int64_t bytes;
    if (gt__io_is_gzip(buf, n)) {
        /* Inflate the header first: its dimensions bound the output, so a corrupt or malicious
         * stream cannot make us inflate (and allocate) more than the file can hold. When the
         * header cannot be read, a small limit lets the full pass report what is wrong. */
        uint8_t head[4 + 4 * GT_IDX_MAX_RANK];
        size_t got = gt__io_gunzip_head(buf, n, head, sizeof head), limit = 64;
        bool rank_ok = got >= 4 && head[3] >= 1 && head[3] <= GT_IDX_MAX_RANK;
        if (got >= 4 && (!rank_ok || got >= 4 + 4 * (size_t)head[3])) {
            gt_idx probe;
            if (!parse_header(head, got, name, &probe, &hdr, &bytes, false)) {
                gt__free(buf);
                memset(out, 0, sizeof *out);
                return false;
            }
            limit = hdr + (size_t)bytes;
        }
        uint8_t *raw;
        size_t rn;
        bool ok = gt__io_gunzip("idx", name, buf, n, limit, &raw, &rn);
        gt__free(buf);
        if (!ok)
            return false;
        buf = raw;
        n = rn;
    }
    if (!parse_header(buf, n, name, out, &hdr, &bytes, true)) {
        gt__free(buf);
        memset(out, 0, sizeof *out);
        return false;
    }
    /* Keep the one buffer: slide the elements to its start and give back the header's bytes. */
    size_t nbytes = n - hdr;
    memmove(buf, buf + hdr, nbytes);
    size_t esize = gt_idx_type_size(out->type);
    if (esize > 1 && gt__io_little_endian())
        gt__io_swap(buf, (size_t)out->count, esize);
    if (nbytes) {
        void *shrunk = realloc(buf, nbytes);
        if (shrunk)
            buf = shrunk;
    }
    out->data = buf;
    return true;
}

bool gt_idx_parse(const void *bytes, size_t n, const char *name, gt_idx *out) {
    if (!out) {
        gt__error("gt_idx_parse: out is NULL");
        return false;
    }
    memset(out, 0, sizeof *out);
    if (!bytes && n) {
        gt__error("gt_idx_parse: bytes is NULL");
        return false;
    }
    uint8_t *copy = gt__malloc(n ? n : 1, "an IDX file's bytes");
    if (!copy)
        return false;
    if (n)
        memcpy(copy, bytes, n);
    return parse_owned(copy, n, name ? name : "(memory)", out);
}

bool gt_idx_read(const char *path, gt_idx *out) {
    if (!out) {
        gt__error("gt_idx_read: out is NULL");
        return false;
    }
    memset(out, 0, sizeof *out);
    uint8_t *buf;
    size_t n;
    if (!gt__io_read_file("idx", path, &buf, &n))
        return false;
    return parse_owned(buf, n, path, out);
}

void gt_idx_free(gt_idx *idx) {
    if (!idx)
        return;
    free(idx->data); /* may have been realloc'ed by the C library */
    memset(idx, 0, sizeof *idx);
}

gt_tensor *gt_idx_to_tensor(const gt_idx *idx) {
    if (!idx || (!idx->data && idx->count)) {
        gt__error("gt_idx_to_tensor: no IDX data (NULL or freed)");
        return NULL;
    }
    int64_t n = idx->count;
    const void *src = idx->data;
    switch (idx->type) {
    case GT_IDX_F32:
        return gt_tensor_new(GT_F32, idx->rank, idx->dims, src);
    case GT_IDX_F64:
        return gt_tensor_new(GT_F64, idx->rank, idx->dims, src);
    case GT_IDX_I32:
        return gt_tensor_new(GT_I32, idx->rank, idx->dims, src);
    default:
        break;
    }
    int32_t *tmp = gt__malloc((size_t)(n ? n : 1) * sizeof(int32_t), "an IDX conversion");
    if (!tmp)
        return NULL;
    for (int64_t i = 0; i < n; i++) {
        switch (idx->type) {
        case GT_IDX_U8:
            tmp[i] = ((const uint8_t *)src)[i];
            break;
        case GT_IDX_I8:
            tmp[i] = ((const int8_t *)src)[i];
            break;
        case GT_IDX_I16:
            tmp[i] = ((const int16_t *)src)[i];
            break;
        default:
            tmp[i] = 0;
            break;
        }
    }
    gt_tensor *t = gt_tensor_new(GT_I32, idx->rank, idx->dims, tmp);
    gt__free(tmp);
    return t;
}

/* ---- writing -------------------------------------------------------------------------------- */

typedef struct sink {
    gt__io_atomic file;
#ifdef GT_HAVE_ZLIB
    z_stream zs;
    bool gz;
#endif
    uint8_t out[1 << 16];
} sink;

static bool sink_put(sink *s, const void *data, size_t n, bool finish) {
#ifdef GT_HAVE_ZLIB
    if (s->gz) {
        s->zs.next_in = (Bytef *)(uintptr_t)data;
        s->zs.avail_in = (uInt)n;
        int rc;
        do {
            s->zs.next_out = s->out;
            s->zs.avail_out = sizeof s->out;
            rc = deflate(&s->zs, finish ? Z_FINISH : Z_NO_FLUSH);
            if (rc == Z_STREAM_ERROR) {
                gt__error("gt_idx_write: zlib failed to compress");
                return false;
            }
            if (!gt__io_atomic_write(&s->file, s->out, sizeof s->out - s->zs.avail_out))
                return false;
        } while (s->zs.avail_out == 0 || (finish && rc != Z_STREAM_END));
        return true;
    }
#endif
    (void)finish;
    return gt__io_atomic_write(&s->file, data, n);
}

bool gt_idx_write(const char *path, gt_idx_type type, int rank, const int64_t *dims,
                  const void *data) {
    size_t esize = gt_idx_type_size(type);
    if (!esize) {
        gt__error("gt_idx_write: unknown IDX type code 0x%02x (known: " IDX_TYPES ")", (int)type);
        return false;
    }
    if (rank < 1 || rank > GT_IDX_MAX_RANK || !dims) {
        gt__error("gt_idx_write: rank %d is not supported (1-%d)", rank, GT_IDX_MAX_RANK);
        return false;
    }
    int64_t count = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || dims[i] > (int64_t)UINT32_MAX || !gt__io_mul(count, dims[i], &count)) {
            gt__error("gt_idx_write: dimension %d is %lld, outside 0..2^32-1 (or the total "
                      "overflows)",
                      i, (long long)dims[i]);
            return false;
        }
    }
    if (count && !data) {
        gt__error("gt_idx_write: data is NULL");
        return false;
    }
    size_t plen = path ? strlen(path) : 0;
    bool gz = plen > 3 && !strcmp(path + plen - 3, ".gz");
#ifndef GT_HAVE_ZLIB
    if (gz) {
        gt__error("gt_idx_write: %s asks for gzip, but gradtape was built without zlib: install "
                  "zlib1g-dev and rebuild",
                  path);
        return false;
    }
#endif
    sink *s = gt__calloc(1, sizeof *s, "an IDX writer");
    if (!s)
        return false;
    if (!gt__io_atomic_open(&s->file, "gt_idx_write", path)) {
        gt__free(s);
        return false;
    }
#ifdef GT_HAVE_ZLIB
    s->gz = gz;
    if (gz && deflateInit2(&s->zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        gt__error("gt_idx_write: zlib could not start compressing");
        gt__io_atomic_abort(&s->file);
        gt__free(s);
        return false;
    }
#endif
    uint8_t hdr[4 + 4 * GT_IDX_MAX_RANK] = {0, 0, (uint8_t)type, (uint8_t)rank};
    for (int i = 0; i < rank; i++)
        gt__io_put_be32(hdr + 4 + 4 * i, (uint32_t)dims[i]);
    bool ok = sink_put(s, hdr, 4 + 4 * (size_t)rank, false);
    /* Elements go out big-endian, converted through a small buffer. */
    uint8_t chunk[1 << 14];
    size_t per = sizeof chunk / esize, total = (size_t)count;
    const uint8_t *src = data;
    for (size_t at = 0; ok && at < total; at += per) {
        size_t k = total - at < per ? total - at : per;
        memcpy(chunk, src + at * esize, k * esize);
        if (esize > 1 && gt__io_little_endian())
            gt__io_swap(chunk, k, esize);
        ok = sink_put(s, chunk, k * esize, false);
    }
    if (ok)
        ok = sink_put(s, NULL, 0, true);
#ifdef GT_HAVE_ZLIB
    if (gz)
        deflateEnd(&s->zs);
#endif
    if (ok)
        ok = gt__io_atomic_commit(&s->file);
    else
        gt__io_atomic_abort(&s->file);
    gt__free(s);
    return ok;
}
