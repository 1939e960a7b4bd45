/* safetensors checkpoints: bit-identical round trips of every dtype, the exact byte layout
 * (checked here without the loader), reading a file made by an independent writer
 * (tests/ref/read_safetensors.py), loading into variables all-or-nothing, atomic writes,
 * one error per kind of damage, and a fuzz pass that must never crash. */
#include "gtt.h"
#include "gtt_files.h"

#include <gradtape_io.h>

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef GT_TEST_DATA_DIR
#define GT_TEST_DATA_DIR "data"
#endif

static uint64_t le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* A tiny file: 8-byte length, header text padded to 8, data. */
static unsigned char *make_file(const char *header, const void *data, size_t dn, size_t *n) {
    size_t hl = strlen(header), pad = (8 - hl % 8) % 8;
    *n = 8 + hl + pad + dn;
    unsigned char *b = malloc(*n);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((hl + pad) >> (8 * i));
    memcpy(b + 8, header, hl);
    memset(b + 8 + hl, ' ', pad);
    if (dn)
        memcpy(b + 8 + hl + pad, data, dn);
    return b;
}

/* ---- round trip and layout ---------------------------------------------------------------- */

static void test_round_trip_and_layout(void) {
    gt_scope_begin();
    /* Bit patterns that a lossy path would change: -0, a NaN payload, a subnormal. */
    uint32_t fbits[6] = {0x3F800000u, 0x80000000u, 0x7FC01234u,
                         0x00000001u, 0xC2F6E979u, 0x7F7FFFFFu};
    float fv[6];
    memcpy(fv, fbits, sizeof fv);
    const double dv[4] = {3.141592653589793, -0.0, 1e-310, -1e300};
    const int32_t iv[4] = {1, -2, INT32_MAX, INT32_MIN};
    const int64_t lv[1] = {INT64_MIN + 7};
    const bool bv[3] = {true, false, true};
    gt_tensor *ts[6] = {
        gt_tensor_new(GT_F32, 2, (const int64_t[]){2, 3}, fv),
        gt_tensor_new(GT_F64, 1, (const int64_t[]){4}, dv),
        gt_tensor_new(GT_I32, 2, (const int64_t[]){2, 2}, iv),
        gt_tensor_new(GT_I64, 0, NULL, lv),
        gt_tensor_new(GT_BOOL, 1, (const int64_t[]){3}, bv),
        gt_tensor_new(GT_F32, 2, (const int64_t[]){0, 5}, NULL),
    };
    const char *names[6] = {"sequential/dense/kernel", "w64",         "quote\"back\\slash",
                            "optimizer/iterations",    "caf\xc3\xa9", "empty"};
    const gt_kv meta[2] = {{"format", "pt"}, {"note", "line\nbreak"}};
    const char *path = gtt_tmp_path("rt.safetensors");
    GTT_OK(gt_safetensors_save(path, 6, names, (const gt_tensor *const *)ts, 2, meta));

    /* The exact bytes, checked without the loader. */
    const char *want_header =
        "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"line\\u000abreak\"},"
        "\"sequential/dense/kernel\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
        "\"w64\":{\"dtype\":\"F64\",\"shape\":[4],\"data_offsets\":[24,56]},"
        "\"quote\\\"back\\\\slash\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[56,72]},"
        "\"optimizer/iterations\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[72,80]},"
        "\"caf\xc3\xa9\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[80,83]},"
        "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[83,83]}}";
    size_t n;
    unsigned char *b = gtt_read_bytes(path, &n);
    GTT_CHECK(b && n >= 8, "file written");
    uint64_t hl = le64(b);
    size_t wl = strlen(want_header);
    GTT_CHECK(hl % 8 == 0 && hl >= wl && hl < wl + 8,
              "header length %llu is the JSON (%zu) padded to 8", (unsigned long long)hl, wl);
    GTT_CHECK(!memcmp(b + 8, want_header, wl), "header text:\n%.*s\nwant:\n%s", (int)wl, b + 8,
              want_header);
    for (uint64_t i = wl; i < hl; i++)
        GTT_CHECK(b[8 + i] == ' ', "padding byte %llu is a space", (unsigned long long)i);
    GTT_CHECK(n == 8 + hl + 83, "file size %zu = 8 + %llu + 83", n, (unsigned long long)hl);
    const unsigned char *data = b + 8 + hl;
    GTT_CHECK(!memcmp(data + 0, fv, 24) && !memcmp(data + 24, dv, 32) &&
                  !memcmp(data + 56, iv, 16) && !memcmp(data + 72, lv, 8),
              "raw little-endian data at the header's offsets");
    GTT_CHECK(data[80] == 1 && data[81] == 0 && data[82] == 1, "bools are bytes 0/1");
    free(b);

    /* Back through the loader: names, dtypes, shapes, bits. */
    gt_safetensors *st = gt_safetensors_open(path);
    GTT_OK(st != NULL);
    if (st) {
        GTT_CHECK(gt_safetensors_count(st) == 6, "6 tensors");
        for (int i = 0; i < 6; i++) {
            GTT_CHECK(gt_safetensors_name(st, i) && !strcmp(gt_safetensors_name(st, i), names[i]),
                      "entry %d is %s (data order)", i, names[i]);
            gt_tensor *t = gt_safetensors_get(st, names[i]);
            GTT_OK(t != NULL);
            GTT_CHECK(t && gt_tensor_equal(t, ts[i]), "%s round trips bit for bit", names[i]);
        }
        GTT_CHECK(gt_safetensors_metadata(st, "format") &&
                      !strcmp(gt_safetensors_metadata(st, "format"), "pt"),
                  "metadata format");
        GTT_CHECK(gt_safetensors_metadata(st, "note") &&
                      !strcmp(gt_safetensors_metadata(st, "note"), "line\nbreak"),
                  "metadata escapes decoded");
        GTT_CHECK(gt_safetensors_metadata_count(st) == 2, "two metadata entries");
        GTT_CHECK(gt_safetensors_find(st, "nope") == -1 && gt_ok(), "find of a missing name");
        GTT_CHECK(gt_safetensors_get(st, "nope") == NULL, "get of a missing name");
        GTT_ERROR_HAS("no tensor called 'nope'");
        gt_dtype dt;
        int rank;
        const int64_t *shape;
        GTT_OK(gt_safetensors_info(st, 0, &dt, &rank, &shape));
        GTT_CHECK(dt == GT_F32 && rank == 2 && shape[0] == 2 && shape[1] == 3, "info");
        GTT_CHECK(!strcmp(gt_safetensors_dtype_name(st, 4), "BOOL"), "dtype name");
        gt_safetensors_close(st);
    }

    /* Saving again replaces the file atomically and leaves no temporary behind. */
    GTT_OK(gt_safetensors_save(path, 1, names, (const gt_tensor *const *)ts, 0, NULL));
    st = gt_safetensors_open(path);
    GTT_CHECK(st && gt_safetensors_count(st) == 1 && gt_safetensors_metadata_count(st) == 0,
              "overwritten with one tensor");
    gt_safetensors_close(st);
    DIR *d = opendir(gtt_tmpdir());
    struct dirent *de;
    int leftovers = 0;
    while (d && (de = readdir(d)))
        if (strstr(de->d_name, ".tmp."))
            leftovers++;
    if (d)
        closedir(d);
    GTT_CHECK(leftovers == 0, "%d temporary files left behind", leftovers);

    /* A failed save leaves the old file as it was. */
    size_t before_n, after_n;
    unsigned char *before = gtt_read_bytes(path, &before_n);
    const char *dup[2] = {"a", "a"};
    GTT_CHECK(!gt_safetensors_save(path, 2, dup, (const gt_tensor *const *)ts, 0, NULL),
              "duplicate names");
    GTT_ERROR_HAS("both called 'a'");
    const char *reserved[1] = {"__metadata__"};
    GTT_CHECK(!gt_safetensors_save(path, 1, reserved, (const gt_tensor *const *)ts, 0, NULL),
              "reserved name");
    GTT_ERROR_HAS("reserved");
    const char *badutf[1] = {"\xff\xfe"};
    GTT_CHECK(!gt_safetensors_save(path, 1, badutf, (const gt_tensor *const *)ts, 0, NULL),
              "bad UTF-8 name");
    GTT_ERROR_HAS("UTF-8");
    GTT_CHECK(!gt_safetensors_save(path, 1, NULL, (const gt_tensor *const *)ts, 0, NULL),
              "names NULL needs variables");
    GTT_ERROR_HAS("must be a variable");
    unsigned char *after = gtt_read_bytes(path, &after_n);
    GTT_CHECK(before && after && before_n == after_n && !memcmp(before, after, before_n),
              "the old checkpoint is untouched");
    free(before);
    free(after);
    GTT_CHECK(!gt_safetensors_save(gtt_tmp_path("no/such/dir.safetensors"), 1, names,
                                   (const gt_tensor *const *)ts, 0, NULL),
              "unwritable path");
    GTT_ERROR_HAS("cannot create");
    gt_scope_end();
}

/* A file written by tests/ref/read_safetensors.py: other JSON formatting, other data order. */
static void test_reference_fixture(void) {
    gt_safetensors *st = gt_safetensors_open(GT_TEST_DATA_DIR "/io/ref.safetensors");
    GTT_OK(st != NULL);
    if (!st)
        return;
    gt_scope_begin();
    GTT_CHECK(gt_safetensors_count(st) == 7, "7 tensors");
    GTT_CHECK(!strcmp(gt_safetensors_name(st, 0), "optimizer/iterations"), "data order: I64 first");
    GTT_CHECK(gt_safetensors_metadata(st, "written_by") &&
                  !strcmp(gt_safetensors_metadata(st, "written_by"), "read_safetensors.py"),
              "metadata");
    const double kernel[6] = {0.5, -1.25, 3.0, (double)1e-3f, -0.0, 7.0};
    gtt_tensor_close("dense/kernel", gt_safetensors_get(st, "dense/kernel"), kernel, 6, 0, 0);
    const double bias[3] = {0.0, 0.25, -2.5};
    gtt_tensor_close("dense/bias", gt_safetensors_get(st, "dense/bias"), bias, 3, 0, 0);
    const double w64[2] = {3.141592653589793, -1e300};
    gtt_tensor_close("w64", gt_safetensors_get(st, "w64"), w64, 2, 0, 0);
    const double it[1] = {42};
    gtt_tensor_close("iterations", gt_safetensors_get(st, "optimizer/iterations"), it, 1, 0, 0);
    const double counts[4] = {1, -2, 2147483647.0, -2147483648.0};
    gtt_tensor_close("counts", gt_safetensors_get(st, "counts"), counts, 4, 0, 0);
    const double mask[4] = {1, 0, 1, 1};
    gt_tensor *m = gt_safetensors_get(st, "mask");
    GTT_CHECK(m && gt_tensor_dtype(m) == GT_BOOL, "mask is bool");
    gtt_tensor_close("mask", m, mask, 4, 0, 0);
    gt_tensor *e = gt_safetensors_get(st, "empty");
    GTT_CHECK(e && gt_tensor_rank(e) == 2 && gt_tensor_dim(e, 0) == 0 && gt_tensor_dim(e, 1) == 5,
              "empty [0,5]");
    GTT_CHECK(gt_tensor_rank(gt_safetensors_get(st, "optimizer/iterations")) == 0, "scalar");
    gt_scope_end();
    gt_safetensors_close(st);
}

/* ---- loading into variables --------------------------------------------------------------- */

static bool var_equals(gt_tensor *v, const float *want, int64_t n) {
    const float *p = gt_tensor_data(v);
    return p && gt_tensor_size(v) == n && !memcmp(p, want, (size_t)n * sizeof(float));
}

static void test_variables(void) {
    gt_scope_begin();
    const float k0[6] = {1, 2, 3, 4, 5, 6}, b0[3] = {0.5f, -0.5f, 0.25f},
                m0[6] = {9, 8, 7, 6, 5, 4};
    gt_tensor *kernel =
        gt_variable(gt_tensor_new(GT_F32, 2, (const int64_t[]){2, 3}, k0), "kernel");
    gt_tensor *bias = gt_variable(gt_tensor_new(GT_F32, 1, (const int64_t[]){3}, b0), "bias");
    gt_tensor *mom =
        gt_variable_ex(gt_tensor_new(GT_F32, 2, (const int64_t[]){2, 3}, m0), "m", false);
    gt_tensor *iters = gt_variable_ex(gt_scalar_of(GT_I64, 17), "iterations", false);
    gt_variable_set_path(kernel, "sequential/dense/kernel");
    gt_variable_set_path(bias, "sequential/dense/bias");
    gt_variable_set_path(mom, "optimizer/adam/m/sequential/dense/kernel");
    gt_variable_set_path(iters, "optimizer/iterations");
    gt_tensor *all[4] = {kernel, bias, mom, iters};
    const char *path = gtt_tmp_path("model.safetensors");
    GTT_OK(gt_safetensors_save(path, 4, NULL, (const gt_tensor *const *)all, 1,
                               &(gt_kv){"keras_version", "3"}));

    /* Change every variable, then load: the saved values come back. */
    const float k1[6] = {-1, -1, -1, -1, -1, -1}, b1[3] = {7, 7, 7}, m1[6] = {0};
    GTT_OK(gt_variable_assign(kernel, gt_tensor_new(GT_F32, 2, (const int64_t[]){2, 3}, k1)));
    GTT_OK(gt_variable_assign(bias, gt_tensor_new(GT_F32, 1, (const int64_t[]){3}, b1)));
    GTT_OK(gt_variable_assign(mom, gt_tensor_new(GT_F32, 2, (const int64_t[]){2, 3}, m1)));
    GTT_OK(gt_variable_assign(iters, gt_scalar_of(GT_I64, 0)));
    gt_tensor *snapshot = gt_variable_value(kernel); /* must keep its value (copy-on-write) */
    GTT_OK(gt_safetensors_load_variables(path, 4, all, NULL, false));
    GTT_CHECK(var_equals(kernel, k0, 6) && var_equals(bias, b0, 3) && var_equals(mom, m0, 6),
              "float variables restored bit for bit");
    GTT_CHECK(gt_item(iters) == 17, "iterations restored");
    GTT_CHECK(gt_tensor_get(snapshot, 0) == -1, "an earlier snapshot keeps its value");

    /* Explicit names: the model's weights only, from a file holding more (allow_extra). */
    GTT_OK(gt_variable_assign(bias, gt_tensor_new(GT_F32, 1, (const int64_t[]){3}, b1)));
    GTT_CHECK(!gt_safetensors_load_variables(path, 2, all, NULL, false), "extras refused");
    GTT_ERROR_HAS("extra tensors in the checkpoint (2): 'optimizer/");
    GTT_CHECK(var_equals(bias, b1, 3), "refused load changes nothing");
    GTT_OK(gt_safetensors_load_variables(path, 2, all, NULL, true));
    GTT_CHECK(var_equals(bias, b0, 3), "allow_extra loads the rest");
    const char *names[2] = {"sequential/dense/bias", "sequential/dense/kernel"};
    gt_tensor *swapped[2] = {bias, kernel};
    GTT_OK(gt_variable_assign(bias, gt_tensor_new(GT_F32, 1, (const int64_t[]){3}, b1)));
    GTT_OK(gt_safetensors_load_variables(path, 2, swapped, names, true));
    GTT_CHECK(var_equals(bias, b0, 3), "explicit names");

    /* All-or-nothing: a missing name, a wrong shape, a wrong dtype, each leaves every variable
     * as it was, including those that did match. */
    GTT_OK(gt_variable_assign(kernel, gt_tensor_new(GT_F32, 2, (const int64_t[]){2, 3}, k1)));
    GTT_OK(gt_variable_assign(bias, gt_tensor_new(GT_F32, 1, (const int64_t[]){3}, b1)));
    gt_tensor *extra = gt_variable(gt_zeros(GT_F32, 1, (const int64_t[]){3}), "dense_1/bias");
    gt_variable_set_path(extra, "sequential/dense_1/bias");
    gt_tensor *five[5] = {kernel, bias, mom, iters, extra};
    GTT_CHECK(!gt_safetensors_load_variables(path, 5, five, NULL, false), "missing tensor");
    GTT_ERROR_HAS("missing from the checkpoint (1): 'sequential/dense_1/bias'");
    GTT_CHECK(var_equals(kernel, k1, 6) && var_equals(bias, b1, 3), "nothing changed (missing)");

    gt_tensor *wide = gt_variable(gt_zeros(GT_F32, 2, (const int64_t[]){3, 2}), "kernel");
    gt_variable_set_path(wide, "sequential/dense/kernel");
    gt_tensor *shape_bad[4] = {bias, wide, mom, iters};
    GTT_CHECK(!gt_safetensors_load_variables(path, 4, shape_bad, NULL, false), "shape mismatch");
    GTT_ERROR_HAS("'sequential/dense/kernel' is F32 [3,2] in the model but F32 [2,3] in the file");
    GTT_CHECK(var_equals(bias, b1, 3), "nothing changed (shape)");

    gt_tensor *it32 = gt_variable_ex(gt_scalar_of(GT_I32, 0), "iterations", false);
    gt_variable_set_path(it32, "optimizer/iterations");
    gt_tensor *dtype_bad[4] = {kernel, bias, mom, it32};
    GTT_CHECK(!gt_safetensors_load_variables(path, 4, dtype_bad, NULL, false), "dtype mismatch");
    GTT_ERROR_HAS("is I32 [] in the model but I64 [] in the file");
    GTT_CHECK(var_equals(kernel, k1, 6) && var_equals(bias, b1, 3), "nothing changed (dtype)");

    gt_tensor *twice[2] = {bias, bias};
    GTT_CHECK(!gt_safetensors_load_variables(path, 2, twice, NULL, true), "same variable twice");
    GTT_ERROR_HAS("appears twice");
    const char *same[2] = {"sequential/dense/bias", "sequential/dense/bias"};
    gt_tensor *two[2] = {bias, extra};
    GTT_CHECK(!gt_safetensors_load_variables(path, 2, two, same, true), "same name twice");
    GTT_ERROR_HAS("named twice");
    gt_tensor *notvar[1] = {gt_zeros(GT_F32, 1, (const int64_t[]){3})};
    GTT_CHECK(!gt_safetensors_load_variables(path, 1, notvar, names, true), "not a variable");
    GTT_ERROR_HAS("not a variable");
    GTT_CHECK(!gt_safetensors_load_variables(gtt_tmp_path("missing.safetensors"), 4, all, NULL, false),
              "missing file");
    GTT_ERROR_HAS("cannot open");
    GTT_CHECK(var_equals(kernel, k1, 6) && var_equals(bias, b1, 3), "still unchanged");

    /* A corrupt checkpoint changes nothing either. */
    size_t n;
    unsigned char *b = gtt_read_bytes(path, &n);
    gtt_write_bytes(gtt_tmp_path("cut.safetensors"), b, n - 5);
    free(b);
    GTT_CHECK(!gt_safetensors_load_variables(gtt_tmp_path("cut.safetensors"), 4, all, NULL, false),
              "truncated checkpoint");
    GTT_ERROR_HAS("truncated");
    GTT_CHECK(var_equals(kernel, k1, 6) && var_equals(bias, b1, 3), "unchanged after corrupt file");

    gt_variable_free(kernel);
    gt_variable_free(bias);
    gt_variable_free(mom);
    gt_variable_free(iters);
    gt_variable_free(extra);
    gt_variable_free(wide);
    gt_variable_free(it32);
    gt_scope_end();
}

/* ---- corrupt files ----------------------------------------------------------------------- */

static void expect_corrupt(const char *what, const unsigned char *b, size_t n, const char *needle) {
    const char *path = gtt_tmp_path("corrupt.safetensors");
    gtt_write_bytes(path, b, n);
    gt_error_clear();
    gt_safetensors *st = gt_safetensors_open(path);
    GTT_CHECK(st == NULL, "%s: should be refused", what);
    gt_safetensors_close(st);
    const char *e = gt_error();
    GTT_CHECK(e && strstr(e, path), "%s: message names the file: %s", what, e ? e : "(none)");
    GTT_ERROR_HAS(needle);
}

static void expect_header_error(const char *what, const char *header, size_t dn,
                                const char *needle) {
    unsigned char data[64] = {0};
    size_t n;
    unsigned char *b = make_file(header, data, dn, &n);
    expect_corrupt(what, b, n, needle);
    free(b);
}

static void test_corrupt(void) {
    const char *ok_header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                            "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
    unsigned char data[12] = {0};
    size_t n;
    unsigned char *good = make_file(ok_header, data, 12, &n);
    gt_safetensors *st = gt_safetensors_parse(good, n, "good");
    GTT_OK(st != NULL);
    gt_safetensors_close(st);

    expect_corrupt("empty file", good, 0, "fewer than the 8-byte header length");
    expect_corrupt("7 bytes", good, 7, "fewer than the 8-byte header length");
    unsigned char *b = malloc(n + 16);
    memcpy(b, good, n);
    b[0] = 0xFF, b[1] = 0xFF; /* header length beyond the file */
    expect_corrupt("header length beyond file", b, n, "runs past the end of the file");
    memcpy(b, good, n);
    for (int i = 0; i < 8; i++)
        b[i] = 0xFF;
    expect_corrupt("header length 2^64-1", b, n, "runs past the end");
    memcpy(b, good, n);
    b[8] = '[';
    expect_corrupt("not an object", b, n, "does not start with '{'");
    expect_corrupt("truncated data", good, n - 3, "beyond the 9 bytes of data");
    memcpy(b, good, n);
    memset(b + n, 0, 5);
    expect_corrupt("trailing bytes", b, n + 5, "5 trailing bytes");
    free(b);
    free(good);

    expect_header_error("bad JSON", "{\"a\":{\"dtype\":\"F32\",", 0, "bad JSON header");
    expect_header_error("bad JSON: trailing comma", "{\"a\":1,}", 0, "bad JSON header");
    expect_header_error("bad JSON: bad escape", "{\"a\\x\":1}", 0, "bad escape");
    expect_header_error("bad JSON: lone surrogate", "{\"\\ud800\":1}", 0, "surrogate");
    expect_header_error("bad JSON: invalid UTF-8", "{\"\xc0\xaf\":1}", 0, "invalid UTF-8");
    expect_header_error("bad JSON: control char", "{\"a\x01\":1}", 0, "control character");
    expect_header_error("bad JSON: leading zero", "{\"a\":01}", 0, "leading zero");
    expect_header_error("bad JSON: junk after", "{} x", 0, "extra text");
    expect_header_error("bad JSON: literal", "{\"a\":tru}", 0, "bad JSON header");
    char deep[400] = "{\"a\":";
    for (int i = 0; i < 100; i++)
        strcat(deep, "[");
    expect_header_error("too deep", deep, 0, "nested more than");
    expect_header_error("entry not an object", "{\"a\":[1,2]}", 0, "is not an object");
    expect_header_error("unknown dtype",
                        "{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                        "unknown dtype 'F33'");
    expect_header_error("missing field", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8,
                        "lacks 'data_offsets'");
    expect_header_error("unknown field",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}",
                        8, "unknown field 'x'");
    expect_header_error(
        "repeated field",
        "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
        "repeats the field");
    expect_header_error("negative dim",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8,
                        "non-negative integers");
    expect_header_error("fractional dim",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8,
                        "non-negative integers");
    expect_header_error("shape/size mismatch",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
                        "hold 8 bytes, but F32 [3] needs 12");
    expect_header_error(
        "size overflow",
        "{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8,
        "overflows");
    expect_header_error(
        "huge number",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,99999999999999999999999]}}", 8,
        "non-negative integers");
    expect_header_error("offsets out of range",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                        8, "lies beyond the 8 bytes");
    expect_header_error("offsets backwards",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8,
                        "end before they begin");
    expect_header_error("overlap",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                        8, "overlaps");
    expect_header_error("gap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                        8, "belong to no tensor");
    expect_header_error("duplicate name",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                        8, "two tensors are both called 'a'");
    expect_header_error("NUL in a name",
                        "{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                        4, "NUL");
    expect_header_error(
        "rank 9",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
        "rank 9");
    expect_header_error("metadata not strings", "{\"__metadata__\":{\"a\":1}}", 0, "not a string");

    /* Valid files gradtape can open but not fully read: other dtypes, bad bool bytes. */
    unsigned char h16[4] = {0, 0x3C, 2, 3};
    size_t fn;
    unsigned char *f = make_file("{\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]},"
                                 "\"m\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[2,4]}}",
                                 h16, 4, &fn);
    st = gt_safetensors_parse(f, fn, "f16");
    GTT_OK(st != NULL);
    if (st) {
        gt_scope_begin();
        GTT_CHECK(gt_safetensors_get(st, "h") == NULL, "F16 cannot be read");
        GTT_ERROR_HAS("cannot hold");
        GTT_CHECK(gt_safetensors_get(st, "m") == NULL, "bool byte 2 refused");
        GTT_ERROR_HAS("must be 0 or 1");
        gt_scope_end();
        gt_safetensors_close(st);
    }
    free(f);
    /* Unicode escapes decode to UTF-8 (with a surrogate pair). */
    f = make_file(
        "{\"\\u00e9\\ud83d\\ude00\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4]}}", h16,
        4, &fn);
    st = gt_safetensors_parse(f, fn, "unicode");
    GTT_OK(st != NULL);
    GTT_CHECK(st && !strcmp(gt_safetensors_name(st, 0), "\xc3\xa9\xf0\x9f\x98\x80"),
              "\\u escapes decoded");
    gt_safetensors_close(st);
    free(f);
}

/* ---- fuzz ------------------------------------------------------------------------------------ */

static int fuzz_ok, fuzz_err;

static void fuzz_one(const unsigned char *p, size_t n) {
    gt_error_clear();
    gt_safetensors *st = gt_safetensors_parse(p, n, "fuzz");
    if (st) {
        fuzz_ok++;
        /* Whatever opened is consistent: every readable tensor can be made. */
        gt_scope_begin();
        for (int i = 0; i < gt_safetensors_count(st); i++) {
            gt_tensor *t = gt_safetensors_get(st, gt_safetensors_name(st, i));
            (void)t;
            gt_error_clear();
        }
        gt_scope_end();
        gt_safetensors_close(st);
    } else {
        fuzz_err++;
        if (!gt_error())
            GTT_CHECK(0, "a failure without a message (n=%zu)", n);
    }
    gt_error_clear();
}

static void test_fuzz(void) {
    gt_scope_begin();
    const float fv[4] = {1, 2, 3, 4};
    gt_tensor *ts[3] = {
        gt_tensor_new(GT_F32, 2, (const int64_t[]){2, 2}, fv), gt_scalar_of(GT_I64, 5),
        gt_tensor_new(GT_BOOL, 1, (const int64_t[]){2}, (const bool[]){true, false})};
    const char *names[3] = {"dense/kernel", "step", "mask"};
    const char *path = gtt_tmp_path("fuzz.safetensors");
    GTT_OK(
        gt_safetensors_save(path, 3, names, (const gt_tensor *const *)ts, 1, &(gt_kv){"k", "v"}));
    gt_scope_end();
    size_t n;
    unsigned char *src = gtt_read_bytes(path, &n), *b = malloc(n + 1);
    for (size_t len = 0; len <= n; len++)
        fuzz_one(src, len);
    const unsigned char flips[] = {0xFF, 0x01, 0x20, 0x80};
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof flips; k++) {
            memcpy(b, src, n);
            b[i] ^= flips[k];
            fuzz_one(b, n);
        }
    /* Every byte of the header replaced by each JSON-significant character. */
    const char specials[] = "{}[]\":,\\0-e.u \x7f\x80";
    uint64_t hl = le64(src);
    for (size_t i = 8; i < 8 + hl; i++)
        for (size_t k = 0; k < sizeof specials - 1; k++) {
            memcpy(b, src, n);
            b[i] = (unsigned char)specials[k];
            fuzz_one(b, n);
        }
    /* Random garbage of random lengths behind a plausible header length. */
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (int r = 0; r < 2000; r++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        size_t len = 8 + s % (n + 8);
        for (size_t i = 0; i < len && i < n; i++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            b[i] = i < 8 ? src[i] : (s % 3 ? src[i] : (unsigned char)s);
        }
        fuzz_one(b, len < n ? len : n);
    }
    /* Random headers from JSON's alphabet behind a correct length: the parser's own fuzz. */
    const char alphabet[] = "{}[]\":,\\ 0123456789-+.eEtrufalsn\"\"uU\xc3\xa9\xed\xa0\x80";
    char text[96];
    for (int r = 0; r < 20000; r++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        size_t len = 1 + s % (sizeof text - 1);
        text[0] = '{';
        for (size_t i = 1; i < len; i++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            text[i] = alphabet[s % (sizeof alphabet - 1)];
        }
        text[len] = 0;
        size_t fn;
        unsigned char *f = make_file(text, NULL, 0, &fn);
        fuzz_one(f, fn);
        free(f);
    }
    free(src);
    free(b);
    printf("safetensors fuzz: %d opened, %d rejected with an error\n", fuzz_ok, fuzz_err);
    GTT_CHECK(fuzz_ok > 0 && fuzz_err > 0, "fuzz saw both outcomes");
}

int main(void) {
    if (!gtt_tmpdir_begin("gt_test_io_st_")) return 1;
    test_round_trip_and_layout();
    test_reference_fixture();
    test_variables();
    test_corrupt();
    test_fuzz();
    gtt_tmpdir_end();
    return gtt_finish();
}
