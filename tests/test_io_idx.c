/* IDX reader/writer: round trips of every element type (plain and gzip), the exact bytes of a
 * written file, one distinct error per kind of damage, and a fuzz pass (every byte flipped,
 * every truncation) that must never crash. Corrupt files are made here, in a temp folder. */
#include "gtt.h"
#include "gtt_files.h"

#include <gradtape_io.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef GT_HAVE_ZLIB
#include <zlib.h>
#endif

#ifdef GT_HAVE_ZLIB
#define HAVE_ZLIB 1
#else
#define HAVE_ZLIB 0
#endif

/* ---- round trips ------------------------------------------------------------------------- */

static void test_round_trips(void) {
    const gt_idx_type types[] = {GT_IDX_U8,  GT_IDX_I8,  GT_IDX_I16,
                                 GT_IDX_I32, GT_IDX_F32, GT_IDX_F64};
    const int64_t dims[3] = {3, 4, 5};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        size_t es = gt_idx_type_size(types[t]);
        unsigned char *data = malloc(60 * es);
        for (size_t i = 0; i < 60 * es; i++)
            data[i] = (unsigned char)(i * 37 + t * 11 + 5);
        for (int gz = 0; gz < 1 + HAVE_ZLIB; gz++) {
            char name[32];
            snprintf(name, sizeof name, "rt_%02x.idx%s", types[t], gz ? ".gz" : "");
            const char *path = gtt_tmp_path(name);
            GTT_OK(gt_idx_write(path, types[t], 3, dims, data));
            gt_idx idx;
            GTT_OK(gt_idx_read(path, &idx));
            GTT_CHECK(idx.type == types[t] && idx.rank == 3 && idx.dims[0] == 3 &&
                          idx.dims[1] == 4 && idx.dims[2] == 5 && idx.count == 60,
                      "type %02x gz %d: header read back wrong", types[t], gz);
            GTT_CHECK(idx.data && !memcmp(idx.data, data, 60 * es), "type %02x gz %d: data differs",
                      types[t], gz);
            gt_idx_free(&idx);
            GTT_CHECK(idx.data == NULL, "gt_idx_free zeroes the struct");
            /* No temporary file is left behind. */
            char tmpname[300];
            snprintf(tmpname, sizeof tmpname, "%s.tmp.%ld", path, (long)getpid());
            GTT_CHECK(access(tmpname, F_OK) != 0, "temporary file %s left behind", tmpname);
        }
        free(data);
    }
}

/* The exact bytes of a plain file: big-endian header and elements. */
static void test_exact_bytes(void) {
    const int16_t v[6] = {1, -2, 256, 0x1234, -32768, 32767};
    const char *path = gtt_tmp_path("exact.idx");
    GTT_OK(gt_idx_write(path, GT_IDX_I16, 2, (const int64_t[]){2, 3}, v));
    size_t n;
    unsigned char *b = gtt_read_bytes(path, &n);
    const unsigned char want[] = {0,    0,    0x0B, 2,    0,    0,    0,    2,
                                  0,    0,    0,    3,    0x00, 0x01, 0xFF, 0xFE,
                                  0x01, 0x00, 0x12, 0x34, 0x80, 0x00, 0x7F, 0xFF};
    GTT_CHECK(n == sizeof want && b && !memcmp(b, want, sizeof want), "file is %zu bytes", n);
    free(b);

    gt_idx idx;
    GTT_OK(gt_idx_read(path, &idx));
    gt_scope_begin();
    gt_tensor *t = gt_idx_to_tensor(&idx);
    GTT_OK(t != NULL);
    if (t) {
        GTT_CHECK(gt_tensor_dtype(t) == GT_I32 && gt_tensor_rank(t) == 2 &&
                      gt_tensor_dim(t, 1) == 3,
                  "i16 becomes an int32 [2,3] tensor");
        const double want_v[6] = {1, -2, 256, 0x1234, -32768, 32767};
        gtt_tensor_close("idx_to_tensor", t, want_v, 6, 0, 0);
    }
    gt_scope_end();
    gt_idx_free(&idx);

    /* u8 stays bytes; f32 becomes a float32 tensor bit for bit. */
    const float f[3] = {1.5f, -0.0f, 3.0e-38f};
    GTT_OK(gt_idx_write(gtt_tmp_path("f.idx"), GT_IDX_F32, 1, (const int64_t[]){3}, f));
    GTT_OK(gt_idx_read(gtt_tmp_path("f.idx"), &idx));
    GTT_CHECK(idx.type == GT_IDX_F32 && !memcmp(idx.data, f, sizeof f), "f32 round trip");
    gt_idx_free(&idx);
}

#if HAVE_ZLIB
/* gzip-compresses n bytes (a gzip file of arbitrary contents). */
static unsigned char *gz_bytes(const void *p, size_t n, size_t *out_n) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    size_t cap = deflateBound(&zs, (uLong)n) + 64;
    unsigned char *out = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)p;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    deflate(&zs, Z_FINISH);
    *out_n = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}
#endif

/* ---- errors -----------------------------------------------------------------------------------
 */

/* Parses bytes from memory and from a file; both must fail with `needle` in the message,
 * and the file's message must name the file. */
static void expect_error(const char *what, const void *p, size_t n, const char *needle) {
    gt_idx idx;
    gt_error_clear();
    bool ok = gt_idx_parse(p, n, what, &idx);
    GTT_CHECK(!ok, "%s: parse should fail", what);
    if (ok)
        gt_idx_free(&idx);
    GTT_CHECK(idx.data == NULL && idx.rank == 0, "%s: output zeroed on failure", what);
    GTT_ERROR_HAS(needle);

    const char *path = gtt_tmp_path("corrupt.idx");
    gtt_write_bytes(path, p, n);
    ok = gt_idx_read(path, &idx);
    GTT_CHECK(!ok, "%s: read should fail", what);
    if (ok)
        gt_idx_free(&idx);
    const char *e = gt_error();
    GTT_CHECK(e && strstr(e, path) && strstr(e, needle), "%s: message names the file: %s", what,
              e ? e : "(none)");
    gt_error_clear();
}

static void test_errors(void) {
    unsigned char good[4 + 8 + 6] = {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6};
    gt_idx idx;
    GTT_OK(gt_idx_parse(good, sizeof good, "good", &idx));
    GTT_CHECK(idx.count == 6 && ((unsigned char *)idx.data)[5] == 6, "good file parses");
    gt_idx_free(&idx);

    expect_error("empty", good, 0, "truncated header");
    expect_error("3 bytes", good, 3, "truncated header");
    expect_error("half header", good, 9, "truncated header");
    unsigned char bad[sizeof good];
    memcpy(bad, good, sizeof good);
    bad[0] = 0x12;
    expect_error("bad magic", bad, sizeof bad, "bad magic bytes 12 00 08 02");
    memcpy(bad, good, sizeof good);
    bad[2] = 0x07;
    expect_error("bad type", bad, sizeof bad, "unknown element type code 0x07");
    bad[2] = 0x08;
    bad[3] = 0;
    expect_error("rank 0", bad, sizeof bad, "rank 0 is not supported");
    bad[3] = 9;
    expect_error("rank 9", bad, sizeof bad, "rank 9 is not supported");
    expect_error("truncated data", good, sizeof good - 1, "truncated data");
    unsigned char longer[sizeof good + 3];
    memcpy(longer, good, sizeof good);
    memset(longer + sizeof good, 0xAB, 3);
    expect_error("trailing", longer, sizeof longer, "3 trailing bytes");
    /* rank 4, every dimension 2^32-1: the element count alone overflows int64. */
    unsigned char huge[4 + 16] = {0, 0, 0x0E, 4};
    memset(huge + 4, 0xFF, 16);
    expect_error("overflow", huge, sizeof huge, "dimensions overflow");
    /* Huge but representable: must say truncated without trying to allocate 2^40 bytes. */
    unsigned char big[4 + 8] = {0, 0, 8, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0x01, 0};
    expect_error("big dims", big, sizeof big, "truncated data");

#if !HAVE_ZLIB
    /* Without zlib: gzip is recognised and refused with the fix. */
    GTT_CHECK(!gt_idx_write(gtt_tmp_path("x.idx.gz"), GT_IDX_U8, 1, (const int64_t[]){1}, "a"),
              "no zlib: cannot write .gz");
    GTT_ERROR_HAS("zlib1g-dev");
    unsigned char gzmagic[12] = {0x1f, 0x8b, 8, 0};
    expect_error("gzip without zlib", gzmagic, sizeof gzmagic, "install zlib1g-dev");
#else
    /* gzip damage: garbage after the magic, a truncated stream, junk after the stream. */
    const char *gzp = gtt_tmp_path("good.idx.gz");
    GTT_OK(gt_idx_write(gzp, GT_IDX_U8, 2, (const int64_t[]){2, 3}, good + 12));
    size_t gn;
    unsigned char *gzb = gtt_read_bytes(gzp, &gn);
    GTT_CHECK(gzb && gn > 20 && gzb[0] == 0x1f && gzb[1] == 0x8b, "gzip file written");
    GTT_OK(gt_idx_parse(gzb, gn, "gz", &idx));
    GTT_CHECK(idx.count == 6 && !memcmp(idx.data, good + 12, 6), "gzip parses");
    gt_idx_free(&idx);
    unsigned char junk[16] = {0x1f, 0x8b, 0x08, 0,    0,    0,    0,    0,
                              0,    3,    0xff, 0xff, 0xff, 0xff, 0x12, 0x34};
    expect_error("bad gzip", junk, sizeof junk, "corrupt gzip data");
    unsigned char junk2[4] = {0x1f, 0x8b, 0x77, 0x77};
    expect_error("bad gzip method", junk2, sizeof junk2, "gzip");
    expect_error("truncated gzip", gzb, gn - 10, "truncated gzip stream");
    unsigned char *gzlong = malloc(gn + 4);
    memcpy(gzlong, gzb, gn);
    memcpy(gzlong + gn, "JUNK", 4);
    expect_error("gzip trailing", gzlong, gn + 4, "garbage after the end of its gzip stream");
    free(gzlong);
    /* A valid gzip of a bad IDX reports the IDX problem. */
    const char *badgz = gtt_tmp_path("bad.idx.gz");
    GTT_OK(gt_idx_write(badgz, GT_IDX_U8, 1, (const int64_t[]){4}, "\x01\x02\x03\x04"));
    size_t bn;
    unsigned char *bb = gtt_read_bytes(badgz, &bn);
    GTT_OK(gt_idx_parse(bb, bn, "gz4", &idx));
    gt_idx_free(&idx);
    free(bb);
    free(gzb);

    /* What is inside the gzip is checked like a plain file; the header bounds the inflation. */
    size_t zn;
    unsigned char inner[200];
    memset(inner, 0x12, sizeof inner);
    unsigned char *z = gz_bytes(inner, sizeof inner, &zn);
    expect_error("gzip of a bad magic", z, zn, "bad magic bytes 12 12");
    free(z);
    unsigned char extra[18 + 5];
    memcpy(extra, good, sizeof good);
    memset(extra + sizeof good, 7, 5);
    z = gz_bytes(extra, sizeof extra, &zn);
    expect_error("gzip with trailing bytes", z, zn, "decompresses to more than the 18 bytes");
    free(z);
    z = gz_bytes(good, 9, &zn);
    expect_error("gzip of a short header", z, zn, "truncated header");
    free(z);
    z = gz_bytes(good, 16, &zn);
    expect_error("gzip of short data", z, zn, "truncated data");
    free(z);
    z = gz_bytes(huge, sizeof huge, &zn);
    expect_error("gzip of overflowing dims", z, zn, "dimensions overflow");
    free(z);
    /* A bomb: 18 bytes announced, 64 MB of zeros behind them; refused after the 19th byte. */
    size_t bomb_n = (size_t)64 << 20;
    unsigned char *bomb = calloc(bomb_n, 1);
    memcpy(bomb, good, 12);
    z = gz_bytes(bomb, bomb_n, &zn);
    free(bomb);
    gt_mem_stats m0 = gt_mem_stats_get();
    expect_error("gzip bomb", z, zn, "decompresses to more than the 18 bytes");
    gt_mem_stats m1 = gt_mem_stats_get();
    GTT_CHECK(m1.lib_mallocs - m0.lib_mallocs < 20, "the bomb is not inflated in full");
    free(z);
#endif

    /* Files that do not exist. */
    GTT_CHECK(!gt_idx_read(gtt_tmp_path("nope.idx"), &idx), "missing file fails");
    GTT_ERROR_HAS("cannot open");
    GTT_CHECK(!gt_idx_read(gtt_tmpdir(), &idx), "a folder is not a file");
    GTT_ERROR_HAS("not a regular file");
    GTT_CHECK(!gt_idx_write(gtt_tmp_path("x.idx"), (gt_idx_type)7, 1, (const int64_t[]){1}, "a"),
              "unknown type refused");
    GTT_ERROR_HAS("unknown IDX type");
    GTT_CHECK(!gt_idx_write(gtt_tmp_path("nodir/x.idx"), GT_IDX_U8, 1, (const int64_t[]){1}, "a"),
              "missing folder refused");
    GTT_ERROR_HAS("cannot create");
}

/* ---- fuzz ----------------------------------------------------------------------------------- */

static int fuzz_ok, fuzz_err;

static void fuzz_one(const unsigned char *p, size_t n) {
    gt_idx idx;
    gt_error_clear();
    if (gt_idx_parse(p, n, "fuzz", &idx)) {
        fuzz_ok++;
        /* A success is self-consistent: every element is readable. */
        size_t es = gt_idx_type_size(idx.type);
        volatile unsigned char sink = 0;
        for (size_t i = 0; i < (size_t)idx.count * es; i++)
            sink ^= ((unsigned char *)idx.data)[i];
        (void)sink;
        GTT_CHECK(gt_ok(), "success leaves no error");
        gt_idx_free(&idx);
    } else {
        fuzz_err++;
        if (!gt_error())
            GTT_CHECK(0, "a failure without a message (n=%zu)", n);
    }
    gt_error_clear();
}

static void fuzz_file(const unsigned char *src, size_t n) {
    unsigned char *b = malloc(n + 1);
    for (size_t len = 0; len <= n; len++)
        fuzz_one(src, len); /* every truncation */
    const unsigned char flips[] = {0xFF, 0x01, 0x80};
    for (size_t i = 0; i < n; i++)
        for (size_t f = 0; f < sizeof flips; f++) {
            memcpy(b, src, n);
            b[i] ^= flips[f];
            fuzz_one(b, n);
        }
    for (size_t i = 0; i < n; i++) { /* one byte deleted */
        memcpy(b, src, i);
        memcpy(b + i, src + i + 1, n - i - 1);
        fuzz_one(b, n - 1);
    }
    free(b);
}

static void test_fuzz(void) {
    unsigned char img[3 * 4 * 4];
    for (size_t i = 0; i < sizeof img; i++)
        img[i] = (unsigned char)(i * 7);
    const int64_t d[3] = {3, 4, 4};
    GTT_OK(gt_idx_write(gtt_tmp_path("fz.idx"), GT_IDX_U8, 3, d, img));
    if (HAVE_ZLIB)
        GTT_OK(gt_idx_write(gtt_tmp_path("fz.idx.gz"), GT_IDX_U8, 3, d, img));
    double f64[5] = {1, 2, 3, 4, 5};
    GTT_OK(gt_idx_write(gtt_tmp_path("fz64.idx"), GT_IDX_F64, 1, (const int64_t[]){5}, f64));
    const char *files[] = {"fz.idx", "fz.idx.gz", "fz64.idx"};
    for (int k = 0; k < 3; k++) {
        if (k == 1 && !HAVE_ZLIB)
            continue;
        size_t n;
        unsigned char *b = gtt_read_bytes(gtt_tmp_path(files[k]), &n);
        fuzz_file(b, n);
        free(b);
    }
    printf("idx fuzz: %d parsed, %d rejected with an error\n", fuzz_ok, fuzz_err);
    GTT_CHECK(fuzz_err > 0 && fuzz_ok > 0, "fuzz saw both outcomes");
}

int main(void) {
    if (!gtt_tmpdir_begin("gt_test_io_idx_")) return 1;
    test_round_trips();
    test_exact_bytes();
    test_errors();
    test_fuzz();
    gtt_tmpdir_end();
    return gtt_finish();
}
