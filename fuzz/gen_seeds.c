/* Writes the generated seed corpora of the fuzz targets: gen_seeds DIR fills DIR/idx, DIR/csv,
 * DIR/safetensors and DIR/json with small valid (and a few nearly valid) inputs, written with
 * the library's own writers where it has them (gt_idx_write, gt_safetensors_save,
 * gt_checkpoint_save for the model of fuzz_model.h). fuzz/run.sh runs it before fuzzing. */
#define _GNU_SOURCE
#include "fuzz_model.h"

#include <gradtape.h>
#include <gradtape_io.h>
#include <gradtape_nn.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *root;
static int failures;

static void die_if(bool bad, const char *what) {
    if (bad) {
        fprintf(stderr, "gen_seeds: %s: %s\n", what, gt_error() ? gt_error() : strerror(errno));
        failures++;
        gt_error_clear();
    }
}

static const char *path_of(const char *target, const char *name) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", root, target);
    mkdir(buf, 0755);
    snprintf(buf, sizeof buf, "%s/%s/%s", root, target, name);
    return buf;
}

static void write_bytes(const char *target, const char *name, const void *p, size_t n) {
    FILE *f = fopen(path_of(target, name), "wb");
    die_if(!f, name);
    if (f) {
        die_if(n && fwrite(p, 1, n, f) != n, name);
        fclose(f);
    }
}

static void *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc(len > 0 ? (size_t)len : 1);
    *n = p ? fread(p, 1, (size_t)len, f) : 0;
    fclose(f);
    return p;
}

/* ---- IDX ---------------------------------------------------------------------------------- */

static void idx_seeds(void) {
    static const gt_idx_type types[] = {GT_IDX_U8,  GT_IDX_I8,  GT_IDX_I16,
                                        GT_IDX_I32, GT_IDX_F32, GT_IDX_F64};
    static const char *const tn[] = {"u8", "i8", "i16", "i32", "f32", "f64"};
    static const int64_t shapes[4][4] = {{5}, {2, 3}, {2, 1, 3}, {1, 2, 2, 2}};
    unsigned char data[64 * 8];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 37 + 11);
    /* floats: small finite values (random bytes would be NaNs and huge numbers only) */
    float fl[64];
    double db[64];
    for (int i = 0; i < 64; i++)
        fl[i] = (float)(i - 20) * 0.25f, db[i] = (double)(i - 7) * -1.5;
    for (int t = 0; t < 6; t++)
        for (int r = 1; r <= 4; r++) {
            if ((t + r) % 2) /* half of the type x rank grid is enough */
                continue;
            for (int gz = 0; gz < 2; gz++) {
                char name[64];
                snprintf(name, sizeof name, "%s-rank%d%s", tn[t], r, gz ? ".gz" : "");
                const void *src = types[t] == GT_IDX_F32   ? (const void *)fl
                                  : types[t] == GT_IDX_F64 ? (const void *)db
                                                           : (const void *)data;
                die_if(!gt_idx_write(path_of("idx", name), types[t], r, shapes[r - 1], src), name);
            }
        }
    /* labels (rank 1, small non-negative values) and a zero-sample image file */
    uint8_t labels[6] = {0, 1, 2, 1, 0, 9};
    die_if(!gt_idx_write(path_of("idx", "labels-u8"), GT_IDX_U8, 1, (const int64_t[]){6}, labels),
           "labels");
    die_if(
        !gt_idx_write(path_of("idx", "labels-u8.gz"), GT_IDX_U8, 1, (const int64_t[]){6}, labels),
        "labels.gz");
    die_if(!gt_idx_write(path_of("idx", "empty-images"), GT_IDX_U8, 3, (const int64_t[]){0, 28, 28},
                         NULL),
           "empty-images");
    /* MNIST-like: 2 images of 4x4 bytes */
    die_if(!gt_idx_write(path_of("idx", "images-u8.gz"), GT_IDX_U8, 3, (const int64_t[]){2, 4, 4},
                         data),
           "images");
}

/* ---- CSV ---------------------------------------------------------------------------------- */

static void csv_seed(const char *name, const char *prefix, size_t plen, const char *text) {
    size_t tl = strlen(text);
    char *buf = malloc(plen + tl);
    memcpy(buf, prefix, plen);
    memcpy(buf + plen, text, tl);
    write_bytes("csv", name, buf, plen + tl);
    free(buf);
}

static void csv_seeds(void) {
    /* prefix: delimiter selector, flags (header | label<<2 | label_name<<3 | classes<<4),
     * label_column; see fuzz_csv.c */
    csv_seed("header-auto", "\x01\x03\x00", 3, "a,b,c\n1,2,3\n4.5,-6e3,nan\n");
    csv_seed("label-last", "\x01\x07\xff", 3, "x,y,label\n1,2,0\n3,4,1\n-1.5,inf,2\n");
    csv_seed("tab-absent-label0", "\x03\x16\x00", 3, "1\t2\n3\t4\r\n");
    csv_seed("quoted", "\x01\x01\x00", 3, "\"a\",\"b \"\"q\"\"\"\n\"1\", 2\n 3 ,\"4\"\n");
    csv_seed("label-name",
             "\x02\x18\x00\x03"
             "cls",
             7, "f1;cls;f2\n0.5;1;2\n0.25;0;3\n");
    csv_seed("bom-crlf-blank", "\x00\x00\x00", 3,
             "\xEF\xBB\xBF"
             "a,b\r\n\r\n  \n1,2\r\n3,4");
    csv_seed("trailing-delim", "\x01\x02\x00", 3, "1,2,\n0x1p3,-0,\n");
    csv_seed("space-delim", "\x04\x03\x01", 3, "h1 h2\n1 2\n");
    csv_seed("pipe-range", "\x05\x02\x00", 3, "1e39|2\n1e-50|3\n");
    csv_seed("raw-delim-x", "\xf8\x00\x00", 3, "1x2x3\n4x5x6\n");
    csv_seed("one-column-label", "\x01\x17\x00", 3, "y\n1\n2\n3\n");
}

/* ---- safetensors and JSON ------------------------------------------------------------------- */

/* A safetensors file by hand (for dtypes gradtape cannot write): header padded to 8. */
static void st_by_hand(const char *name, const char *json, const void *data, size_t dn) {
    size_t jl = strlen(json), hl = (jl + 7) / 8 * 8;
    size_t n = 8 + hl + dn;
    unsigned char *b = malloc(n);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(hl >> (8 * i));
    memcpy(b + 8, json, jl);
    memset(b + 8 + jl, ' ', hl - jl);
    if (dn)
        memcpy(b + 8 + hl, data, dn);
    write_bytes("safetensors", name, b, n);
    free(b);
}

/* The JSON header of a safetensors seed, as a JSON seed. */
static void header_as_json(const char *st_name) {
    size_t n;
    unsigned char *b = read_all(path_of("safetensors", st_name), &n);
    if (!b || n < 8) {
        free(b);
        return;
    }
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | b[i];
    if (hl <= n - 8) {
        char name[128];
        snprintf(name, sizeof name, "header-%s", st_name);
        write_bytes("json", name, b + 8, (size_t)hl);
    }
    free(b);
}

static void safetensors_seeds(gt_model *m) {
    gt_tensor *vars[FUZZ_NVARS];
    const char *names[FUZZ_NVARS];
    fuzz_named_vars(vars, names);
    const gt_kv meta[2] = {{"format", "pt"}, {"note", "fuzz seed \xc3\xa9"}};
    die_if(!gt_safetensors_save(path_of("safetensors", "named-all"), FUZZ_NVARS, names,
                                (const gt_tensor *const *)vars, 2, meta),
           "named-all");
    die_if(!gt_safetensors_save(path_of("safetensors", "named-ab"), 2, names,
                                (const gt_tensor *const *)vars, 0, NULL),
           "named-ab");
    die_if(!gt_safetensors_save(path_of("safetensors", "empty-meta"), 0, NULL, NULL, 1, meta),
           "empty-meta");
    die_if(!gt_checkpoint_save(path_of("safetensors", "model"), m, NULL, 0, NULL), "model");
    gt_optimizer *o = gt_adam(NULL);
    gt_tensor *tv[16];
    int nt = gt_layer_trainable_variables(gt_model_layer(m), tv, 16);
    die_if(!o || !gt_optimizer_build(o, nt, tv), "adam");
    die_if(!gt_checkpoint_save(path_of("safetensors", "model-adam"), m, o, 1, meta + 1),
           "model-adam");
    gt_optimizer_free(o);
    for (int i = 0; i < FUZZ_NVARS; i++)
        gt_variable_free(vars[i]);

    static const unsigned char raw[16] = {1, 0, 2, 0, 3, 0, 4, 0, 0x80, 0x3f, 0, 0, 1, 0, 1, 0};
    st_by_hand("other-dtypes",
               "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
               "\"u\":{\"dtype\":\"U8\",\"shape\":[2,2],\"data_offsets\":[4,8]},"
               "\"z\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[8,10]},"
               "\"e\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[10,13]},"
               "\"q\":{\"dtype\":\"F8_E4M3\",\"shape\":[3],\"data_offsets\":[13,16]},"
               "\"__metadata__\":{\"k\":\"v\\u00e9\\ud83d\\ude00\"}}",
               raw, sizeof raw);
    st_by_hand("zero-size",
               "{\"c\":{\"dtype\":\"I32\",\"shape\":[0,4],\"data_offsets\":[0,0]},"
               "\"b\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}}",
               "\0\0\0\0\0\0\xe0\x3f", 8);

    /* nearly valid: each breaks one rule of the reader (fuzz_safetensors checks the message
     * and that nothing changes; the mutations then wander from there) */
    static const struct {
        const char *name, *json;
        size_t dn;
    } bad[] = {
        {"bad-rank9",
         "{\"r\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],"
         "\"data_offsets\":[0,1]}}",
         1},
        {"bad-shape-overflow",
         "{\"o\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],"
         "\"data_offsets\":[0,8]}}",
         8},
        {"bad-meta-twice", "{\"__metadata__\":{},\"__metadata__\":{\"a\":\"b\"}}", 0},
        {"bad-meta-array", "{\"__metadata__\":[\"a\"]}", 0},
        {"bad-meta-value", "{\"__metadata__\":{\"a\":1}}", 0},
        {"bad-dup-name",
         "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
         "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
         2},
        {"bad-gap", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2},
        {"bad-overlap",
         "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
         "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
         2},
        {"bad-bool", "{\"e\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]}}", 3},
        {"bad-extra-field",
         "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],"
         "\"x\":0}}",
         1},
        {"bad-nul-name", "{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1]}}",
         1},
    };
    static const unsigned char two[8] = {2, 2, 2, 2, 2, 2, 2, 2};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        st_by_hand(bad[i].name, bad[i].json, two, bad[i].dn);

    static const char *const st_names[] = {"named-all", "named-ab",   "empty-meta",
                                           "model",     "model-adam", "other-dtypes",
                                           "zero-size", "bad-rank9",  "bad-meta-twice"};
    for (size_t i = 0; i < sizeof st_names / sizeof *st_names; i++)
        header_as_json(st_names[i]);

    static const char *const json[] = {
        ("{\"a\":[1,-2.5e3,0,-0.0e+1,18446744073709551615,18446744073709551616,true,false,null],"
         "\"b\":{},\"c\":[],\"d\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\u00e9\\ud83d\\ude00\"}"),
        "[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]",
        " \"\xe2\x82\xac\xf0\x9f\x98\x80\" ",
        "{\"k\":{\"k\":{\"k\":[{\"x\":1E5}]}}}",
    };
    for (size_t i = 0; i < sizeof json / sizeof *json; i++) {
        char name[32];
        snprintf(name, sizeof name, "hand-%zu", i);
        write_bytes("json", name, json[i], strlen(json[i]));
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds DIR\n");
        return 2;
    }
    root = argv[1];
    mkdir(root, 0755);
    gt_set_num_threads(1);
    gt_model *m = fuzz_model(); /* first: the auto-names must match fuzz_safetensors.c's */
    die_if(!m, "model");
    idx_seeds();
    csv_seeds();
    if (m)
        safetensors_seeds(m);
    gt_model_free(m);
    return failures ? 1 : 0;
}
