/* libFuzzer target: IDX files (gt_idx_parse, plain and gzip) and the datasets made from them
 * (gt_dataset_from_idx, gt_dataset_batch).
 *
 * Each input is parsed
 *   1. as given (plain, or gzip when it starts with 1f 8b), once more with an unrelated error
 *      already pending (the result must not change), and as a file via gt_dataset_from_idx
 *      (images only, and as its own labels file when it is rank 1);
 *   2. gzip-compressed here, as one member and as two concatenated members (split where the
 *      last byte says, so inside the header too): the result must
 *      equal the plain parse (same success, type, dims and elements), so the gzip path (its
 *      header probe and output limit) is checked against the plain one on mutated content;
 *   3. as that gzip stream with its trailer cut: must fail.
 * Invariants: a failure leaves a message and a zeroed gt_idx; a success a consistent one. */
#define _GNU_SOURCE
#include "fuzz_util.h"

#include <gradtape.h>
#include <gradtape_io.h>

#include <zlib.h>

static void check_result(bool ok, const gt_idx *x, const char *what) {
    fuzz_check_error(ok, what);
    if (!ok) {
        FUZZ_CHECK(x->data == NULL && x->count == 0 && x->rank == 0, "%s: failure left data", what);
        return;
    }
    size_t es = gt_idx_type_size(x->type);
    FUZZ_CHECK(es > 0, "%s: type 0x%02x", what, (unsigned)x->type);
    FUZZ_CHECK(x->rank >= 1 && x->rank <= GT_IDX_MAX_RANK, "%s: rank %d", what, x->rank);
    int64_t count = 1;
    for (int i = 0; i < x->rank; i++) {
        FUZZ_CHECK(x->dims[i] >= 0 && x->dims[i] <= (int64_t)UINT32_MAX, "%s: dim %lld", what,
                   (long long)x->dims[i]);
        FUZZ_CHECK(!__builtin_mul_overflow(count, x->dims[i], &count), "%s: dims overflow", what);
    }
    FUZZ_CHECK(count == x->count, "%s: count %lld != product %lld", what, (long long)x->count,
               (long long)count);
    FUZZ_CHECK(x->count == 0 || x->data != NULL, "%s: no data", what);
    fuzz_touch(x->data, (size_t)x->count * es);

    gt_scope_begin();
    gt_tensor *t = gt_idx_to_tensor(x);
    if (t) {
        FUZZ_CHECK(gt_tensor_size(t) == x->count, "%s: tensor size", what);
        FUZZ_CHECK(gt_tensor_rank(t) == x->rank, "%s: tensor rank", what);
    } else {
        /* only a tensor too large to allocate may fail */
        FUZZ_CHECK(!gt_ok(), "%s: gt_idx_to_tensor failed silently", what);
        gt_error_clear();
    }
    gt_scope_end();
}

static bool same_idx(const gt_idx *a, const gt_idx *b) {
    if (a->type != b->type || a->rank != b->rank || a->count != b->count)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    size_t bytes = (size_t)a->count * gt_idx_type_size(a->type);
    return bytes == 0 || memcmp(a->data, b->data, bytes) == 0;
}

/* gzip of data[0..n) appended to *out (grown with realloc). */
static void gzip_append(const uint8_t *data, size_t n, uint8_t **out, size_t *len) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    FUZZ_CHECK(deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK,
               "deflateInit2");
    size_t cap = deflateBound(&zs, (uLong)n) + 32;
    *out = realloc(*out, *len + cap);
    FUZZ_CHECK(*out != NULL, "realloc");
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)n;
    zs.next_out = *out + *len;
    zs.avail_out = (uInt)cap;
    FUZZ_CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END, "deflate");
    *len += cap - zs.avail_out;
    deflateEnd(&zs);
}

static void dataset_checks(const char *path, bool as_labels) {
    gt_error_clear();
    gt_dataset *ds = gt_dataset_from_idx(path, as_labels ? path : NULL);
    fuzz_check_error(ds != NULL, "gt_dataset_from_idx");
    FUZZ_LOG("gt_dataset_from_idx(%s): %s", as_labels ? "with labels" : "images only",
             ds ? "ok" : "fails");
    if (!ds) {
        gt_error_clear();
        return;
    }
    int64_t n = gt_dataset_size(ds), shape[GT_MAX_RANK];
    int rank = gt_dataset_sample_shape(ds, shape);
    FUZZ_CHECK(n >= 0 && rank >= 0 && rank < GT_MAX_RANK, "dataset size %lld rank %d", (long long)n,
               rank);
    if (as_labels)
        FUZZ_CHECK(gt_dataset_num_classes(ds) >= 0, "num_classes");
    (void)gt_dataset_memory(ds);
    int64_t nb = gt_dataset_num_batches(ds, 3);
    FUZZ_CHECK(nb == (n + 2) / 3, "num_batches %lld for %lld samples", (long long)nb, (long long)n);
    /* A few header bytes can describe billions of zero-element samples (dims N x 0 x ...,
     * no data): valid, but shuffling them needs 8 bytes per sample. Not fuzzed beyond 2^20. */
    if (nb > 0 && n <= (1 << 20)) {
        FUZZ_CHECK(gt_dataset_shuffle(ds, 1, 0), "gt_dataset_shuffle");
        gt_scope_begin();
        gt_tensor *x, *y;
        bool ok = gt_dataset_batch(ds, 3, nb - 1, &x, &y);
        if (ok) {
            FUZZ_CHECK(x && gt_tensor_rank(x) == rank + 1, "batch x");
            FUZZ_CHECK(as_labels == (y != NULL), "batch y");
        } else {
            FUZZ_CHECK(!gt_ok(), "gt_dataset_batch failed silently");
        }
        gt_scope_end();
    }
    gt_dataset_free(ds);
    gt_error_clear();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    gt_set_num_threads(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gt_idx plain, x;

    /* 1. as given */
    gt_error_clear();
    bool ok = gt_idx_parse(data, size, "fuzz", &plain);
    check_result(ok, &plain, "gt_idx_parse");
    FUZZ_LOG("gt_idx_parse: %s (type 0x%02x rank %d count %lld)", ok ? "ok" : "fails",
             (unsigned)plain.type, plain.rank, (long long)plain.count);
    gt_error_clear();
    gt_set_error("an unrelated earlier error");
    bool ok2 = gt_idx_parse(data, size, "fuzz", &x);
    FUZZ_CHECK(ok2 == ok, "a pending error changed the result (%d -> %d)", ok, ok2);
    FUZZ_CHECK(!ok2 || same_idx(&plain, &x), "a pending error changed the contents");
    gt_idx_free(&x);
    gt_error_clear();

    const char *path = fuzz_as_file(data, size);
    dataset_checks(path, false);
    if (ok && plain.rank == 1)
        dataset_checks(path, true);

    /* 2. gzip-compressed here: one member, then two members */
    if (!(size >= 2 && data[0] == 0x1f && data[1] == 0x8b)) {
        uint8_t *gz = NULL;
        size_t gzn = 0;
        gzip_append(data, size, &gz, &gzn);
        gt_error_clear();
        bool okz = gt_idx_parse(gz, gzn, "fuzz.gz", &x);
        check_result(okz, &x, "gt_idx_parse(gzip)");
        FUZZ_CHECK(okz == ok, "plain %s but gzip %s: %s", ok ? "ok" : "fails", okz ? "ok" : "fails",
                   gt_error() ? gt_error() : "");
        FUZZ_CHECK(!ok || same_idx(&plain, &x), "gzip contents differ from plain");
        gt_idx_free(&x);

        /* 3. the same stream with its trailer (crc32, size) cut: never valid */
        size_t cut = 1 + (size ? data[size - 1] % 8 : 0);
        gt_error_clear();
        bool okt = gt_idx_parse(gz, gzn - cut, "fuzz-truncated.gz", &x);
        check_result(okt, &x, "gt_idx_parse(truncated gzip)");
        FUZZ_CHECK(!okt, "a truncated gzip stream was accepted");
        gt_idx_free(&x);

        free(gz);
        gz = NULL;
        gzn = 0;
        /* the split point comes from the last byte: anywhere, header included */
        size_t half = size ? data[size - 1] % (size + 1) : 0;
        gzip_append(data, half, &gz, &gzn);
        gzip_append(data + half, size - half, &gz, &gzn);
        gt_error_clear();
        bool okm = gt_idx_parse(gz, gzn, "fuzz-2members.gz", &x);
        check_result(okm, &x, "gt_idx_parse(2-member gzip)");
        FUZZ_CHECK(okm == ok, "plain %s but 2-member gzip %s: %s", ok ? "ok" : "fails",
                   okm ? "ok" : "fails", gt_error() ? gt_error() : "");
        FUZZ_CHECK(!ok || same_idx(&plain, &x), "2-member gzip contents differ from plain");
        gt_idx_free(&x);
        free(gz);
    }
    gt_idx_free(&plain);
    gt_error_clear();
    return 0;
}
