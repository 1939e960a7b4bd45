/* Model + optimizer checkpoints (gt_checkpoint_save / gt_checkpoint_load):
 *  - a round trip is bit-identical for every optimizer kind (weights, every slot, Nadam's
 *    u_product, iterations, learning rate), and training then continues exactly as without
 *    the round trip;
 *  - a second instance of the architecture (other auto-names) loads by position;
 *  - weights-only loads ignore optimizer entries;
 *  - truncated, corrupted, mis-shaped, missing-tensor, extra-tensor, wrong-optimizer and
 *    negative-iterations files fail with a clear error and leave model and optimizer exactly
 *    as they were.
 * `test_checkpoint --write DIR` writes DIR/ck.safetensors and DIR/ck.txt (every name, dtype,
 * shape and value) for tests/ref/check_checkpoint.py, which ctest runs next (checkpoint_python). */
#define _GNU_SOURCE /* memmem */
#include "gtt.h"
#include "gtt_files.h"

#include <gradtape_io.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static gt_dataset *data; /* 256 synthetic samples of 20 features, 4 classes */

static gt_dataset *make_data(void) {
    enum { N = 256, D = 20 };
    static float x[N * D];
    static int32_t y[N];
    gt_rng r = gt_rng_new(77);
    gt_scope_begin();
    gt_tensor *t = gt_random_normal(GT_SHAPE(N, D), 0, 1, GT_F32, &r);
    gt_tensor_to_f32(t, x, N * D);
    gt_scope_end();
    for (int i = 0; i < N; i++) {
        float s = x[i * D] + x[i * D + 1] - x[i * D + 2];
        y[i] = s > 1 ? 0 : s > 0 ? 1 : s > -1 ? 2 : 3;
    }
    return gt_dataset_new(&(gt_dataset_desc){
        .count = N, .x_rank = 1, .x_shape = (const int64_t[]){D}, .x_f32 = x, .labels = y});
}

static gt_model *model(uint64_t seed) {
    gt_set_seed(seed);
    gt_model *m = gt_sequential(NULL);
    gt_sequential_add(m, gt_dense(&(gt_dense_desc){.units = 16, .activation = GT_ACT_RELU}));
    gt_sequential_add(m, gt_dense(&(gt_dense_desc){.units = 4, .activation = GT_ACT_SOFTMAX}));
    gt_model_build(m, GT_SHAPE(1, 20));
    return m;
}

typedef struct opt_case {
    const char *name;
    gt_optimizer *(*make)(const gt_optimizer_desc *);
    gt_optimizer_desc d;
} opt_case;

static const opt_case cases[] = {
    {.name = "adam", .make = gt_adam},
    {.name = "adam amsgrad", .make = gt_adam, .d = {.amsgrad = true}},
    {.name = "adamw", .make = gt_adamw},
    {.name = "sgd momentum nesterov", .make = gt_sgd, .d = {.momentum = 0.9, .nesterov = true}},
    {.name = "sgd", .make = gt_sgd},
    {.name = "rmsprop centered momentum", .make = gt_rmsprop, .d = {.momentum = 0.5, .centered = true}},
    {.name = "adagrad", .make = gt_adagrad},
    {.name = "adamax", .make = gt_adamax},
    {.name = "nadam", .make = gt_nadam}, /* and its own variable, optimizer/nadam/u_product */
    {.name = "lion", .make = gt_lion},
    {.name = "lion weight decay", .make = gt_lion, .d = {.weight_decay = 0.01}},
};

static void fit(gt_model *m, gt_optimizer *o, int64_t epochs, int64_t initial) {
    gt_loss *loss = gt_sparse_categorical_crossentropy(NULL);
    GTT_OK(gt_model_fit(m, data,
                        &(gt_fit_desc){.epochs = epochs, .initial_epoch = initial,
                                       .batch_size = 50, .seed = 4,
                                       .verbose = GT_VERBOSE_SILENT},
                        loss, o, NULL));
    gt_loss_free(loss);
}

static bool same_weights(gt_model *a, gt_model *b) {
    gt_tensor *va[16], *vb[16];
    int n = gt_layer_variables(gt_model_layer(a), va, 16);
    if (n != gt_layer_variables(gt_model_layer(b), vb, 16))
        return false;
    for (int i = 0; i < n; i++)
        if (!gt_tensor_equal(va[i], vb[i]))
            return false;
    return true;
}

static bool same_state(const gt_optimizer *a, const gt_optimizer *b) {
    gt_optimizer_slot sa[64], sb[64];
    int n = gt_optimizer_slots(a, sa, 64);
    if (n != gt_optimizer_slots(b, sb, 64) || n > 64)
        return false;
    for (int i = 0; i < n; i++)
        if (strcmp(sa[i].name, sb[i].name) || sa[i].size != sb[i].size ||
            memcmp(sa[i].data, sb[i].data, (size_t)sa[i].size * gt_dtype_size(sa[i].dtype)))
            return false;
    return gt_optimizer_iterations(a) == gt_optimizer_iterations(b) &&
           gt_optimizer_learning_rate(a) == gt_optimizer_learning_rate(b);
}

static void test_round_trips(void) {
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const opt_case *oc = &cases[c];
        gt_model *a = model(1), *ref = model(1), *b = model(99);
        gt_optimizer *oa = oc->make(&oc->d), *oref = oc->make(&oc->d), *ob = oc->make(&oc->d);
        fit(a, oa, 2, 0);
        fit(ref, oref, 2, 0);
        gt_optimizer_set_learning_rate(oa, 0.003); /* a changed learning rate is saved too */
        gt_optimizer_set_learning_rate(oref, 0.003);
        GTT_OK(gt_checkpoint_save(gtt_tmp_path("rt.safetensors"), a, oa, 0, NULL));
        GTT_CHECK(!same_weights(a, b), "%s: models differ before loading", oc->name);
        GTT_OK(gt_checkpoint_load(gtt_tmp_path("rt.safetensors"), b, ob));
        GTT_CHECK(same_weights(a, b), "%s: weights bit-identical after the round trip", oc->name);
        GTT_CHECK(same_state(oa, ob), "%s: optimizer state bit-identical", oc->name);
        if (oc->make == gt_nadam) { /* u_product is saved under Keras' attribute name */
            gt_safetensors *st = gt_safetensors_open(gtt_tmp_path("rt.safetensors"));
            GTT_CHECK(st && gt_safetensors_find(st, "optimizer/nadam/u_product") >= 0,
                      "nadam: optimizer/nadam/u_product in the file");
            gt_safetensors_close(st);
        }
        /* training continues identically: the reference never went through a file */
        fit(ref, oref, 4, 2);
        fit(b, ob, 4, 2);
        GTT_CHECK(same_weights(ref, b), "%s: training after loading continues bit for bit",
                  oc->name);
        GTT_CHECK(same_state(oref, ob), "%s: and so does the optimizer", oc->name);
        gt_model_free(a);
        gt_model_free(ref);
        gt_model_free(b);
        gt_optimizer_free(oa);
        gt_optimizer_free(oref);
        gt_optimizer_free(ob);
    }
}

/* ---- damaged files ------------------------------------------------------------------------ */

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n + 1);
    if (b && fread(b, 1, *n, f) != *n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static void write_all(const char *path, const unsigned char *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(b, 1, n, f);
        fclose(f);
    }
}

/* Loads path into (m, o) expecting failure with `needle` in the message; checks that nothing
 * changed against the copies (mref, oref). */
static void expect_fail(const char *what, const char *path, gt_model *m, gt_optimizer *o,
                        gt_model *mref, gt_optimizer *oref, const char *needle) {
    bool ok = gt_checkpoint_load(path, m, o);
    GTT_CHECK(!ok, "%s: loading must fail", what);
    const char *e = gt_error();
    GTT_CHECK(e && strlen(e) > 10, "%s: an error message", what);
    if (needle && e)
        GTT_CHECK(strstr(e, needle) != NULL, "%s: message '%s' should mention '%s'", what, e,
                  needle);
    gt_error_clear();
    GTT_CHECK(same_weights(m, mref), "%s: model unchanged", what);
    GTT_CHECK(same_state(o ? o : oref, oref), "%s: optimizer unchanged", what);
}

static void test_damage(void) {
    gt_model *m = model(3), *mref = model(3);
    gt_optimizer *o = gt_adam(NULL), *oref = gt_adam(NULL);
    fit(m, o, 1, 0);
    fit(mref, oref, 1, 0);
    char good[256], bad[256]; /* tmp_path's buffers rotate: keep copies */
    snprintf(good, sizeof good, "%s", gtt_tmp_path("good.safetensors"));
    snprintf(bad, sizeof bad, "%s", gtt_tmp_path("bad.safetensors"));
    GTT_OK(gt_checkpoint_save(good, m, o, 0, NULL));
    size_t n;
    unsigned char *bytes = read_all(good, &n);
    GTT_CHECK(bytes != NULL, "read back");
    if (!bytes)
        return;

    /* truncations of several kinds */
    size_t cuts[] = {0, 4, 8, 20, n / 2, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        write_all(bad, bytes, cuts[i]);
        char what[64];
        snprintf(what, sizeof what, "truncated to %zu bytes", cuts[i]);
        expect_fail(what, bad, m, o, mref, oref, "bad.safetensors");
    }
    /* corrupt header: the JSON's first brace, a quote, the length field */
    unsigned char *c = malloc(n);
    memcpy(c, bytes, n);
    c[8] = 'x';
    write_all(bad, c, n);
    expect_fail("header not JSON", bad, m, o, mref, oref, NULL);
    memcpy(c, bytes, n);
    c[7] = 0x40;
    write_all(bad, c, n);
    expect_fail("huge header length", bad, m, o, mref, oref, NULL);
    memcpy(c, bytes, n);
    char *q = memchr(c + 8, '[', n - 8); /* first shape: [20,16] -> [20,1 6] is bad JSON... */
    if (q)
        q[1] = '9'; /* [90,16]: shape/size mismatch */
    write_all(bad, c, n);
    expect_fail("shape does not match data size", bad, m, o, mref, oref, NULL);
    /* a negative step count: well-formed, refused before any weight is written */
    memcpy(c, bytes, n);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | c[i];
    const char *key = memmem(c + 8, (size_t)hlen, "\"optimizer/iterations\"", 22);
    const char *offs = key ? memmem(key, (size_t)hlen - (size_t)(key - (char *)c - 8),
                                    "\"data_offsets\":[", 16)
                           : NULL;
    unsigned long long begin = 0;
    GTT_CHECK(offs && sscanf(offs + 16, "%llu", &begin) == 1, "iterations' offsets in the header");
    if (offs) {
        const uint64_t minus = (uint64_t)(int64_t)-5; /* written little-endian, as the file is */
        for (int i = 0; i < 8; i++)
            c[8 + hlen + begin + (uint64_t)i] = (unsigned char)(minus >> (8 * i));
        write_all(bad, c, n);
        expect_fail("negative iterations", bad, m, o, mref, oref, "must be >= 0");
    }
    /* trailing garbage */
    unsigned char *longer = malloc(n + 3);
    memcpy(longer, bytes, n);
    memcpy(longer + n, "xyz", 3);
    write_all(bad, longer, n + 3);
    expect_fail("trailing bytes", bad, m, o, mref, oref, NULL);
    free(longer);
    free(c);
    expect_fail("missing file", gtt_tmp_path("nope.safetensors"), m, o, mref, oref, "nope");

    /* mis-shaped: another architecture (units 8 instead of 16) */
    gt_set_seed(5);
    gt_model *other = gt_sequential(NULL);
    gt_sequential_add(other, gt_dense(&(gt_dense_desc){.units = 8, .activation = GT_ACT_RELU}));
    gt_sequential_add(other, gt_dense(&(gt_dense_desc){.units = 4}));
    gt_model_build(other, GT_SHAPE(1, 20));
    GTT_OK(gt_checkpoint_save(gtt_tmp_path("other.safetensors"), other, NULL, 0, NULL));
    expect_fail("mis-shaped tensors", gtt_tmp_path("other.safetensors"), m, NULL, mref, oref, "[8]");

    /* missing tensors: a file with only some variables */
    gt_tensor *vars[8];
    int nv = gt_layer_variables(gt_model_layer(m), vars, 8);
    GTT_OK(gt_safetensors_save(gtt_tmp_path("part.safetensors"), nv - 1, NULL,
                               (const gt_tensor *const *)vars, 0, NULL));
    expect_fail("a missing tensor", gtt_tmp_path("part.safetensors"), m, o, mref, oref, "missing");

    /* extra tensors that are not optimizer state */
    gt_tensor *extra = gt_variable(gt_scalar(1), "extra/thing");
    gt_tensor *all[9];
    for (int i = 0; i < nv; i++)
        all[i] = vars[i];
    all[nv] = extra;
    GTT_OK(gt_safetensors_save(gtt_tmp_path("extra.safetensors"), nv + 1, NULL,
                               (const gt_tensor *const *)all, 0, NULL));
    expect_fail("an extra tensor", gtt_tmp_path("extra.safetensors"), m, NULL, mref, oref, "extra");
    gt_variable_free(extra);

    /* optimizer state of another optimizer; a weights-only file loaded with an optimizer */
    gt_optimizer *sgd = gt_sgd(&(gt_optimizer_desc){.momentum = 0.9});
    gt_optimizer *sgd_ref = gt_sgd(&(gt_optimizer_desc){.momentum = 0.9});
    fit(m, sgd, 1, 0);      /* m changes: resync the reference */
    fit(mref, sgd_ref, 1, 0);
    GTT_CHECK(same_weights(m, mref), "still in sync");
    expect_fail("adam state into sgd", good, m, sgd, mref, sgd_ref, "optimizer/sgd/momentum");
    GTT_OK(gt_checkpoint_save(gtt_tmp_path("weights.safetensors"), m, NULL, 0, NULL));
    expect_fail("no optimizer state in the file", gtt_tmp_path("weights.safetensors"), m, sgd, mref,
                sgd_ref, "missing");

    /* weights only from a full checkpoint: optimizer entries are ignored */
    gt_model *w = model(42);
    GTT_OK(gt_checkpoint_load(good, w, NULL));
    gt_model *m0 = model(3);
    gt_optimizer *o0 = gt_adam(NULL);
    fit(m0, o0, 1, 0);
    GTT_CHECK(same_weights(w, m0), "weights-only load of a full checkpoint");

    /* an unbuilt model */
    gt_model *unbuilt = gt_sequential(NULL);
    gt_sequential_add(unbuilt, gt_dense(&(gt_dense_desc){.units = 4}));
    GTT_CHECK(!gt_checkpoint_load(good, unbuilt, NULL), "unbuilt model");
    GTT_ERROR_HAS("build it first");

    free(bytes);
    gt_model_free(unbuilt);
    gt_model_free(w);
    gt_model_free(m0);
    gt_optimizer_free(o0);
    gt_optimizer_free(sgd);
    gt_optimizer_free(sgd_ref);
    gt_model_free(other);
    gt_model_free(m);
    gt_model_free(mref);
    gt_optimizer_free(o);
    gt_optimizer_free(oref);
}

/* ---- the companion file for tests/ref/check_checkpoint.py ---------------------------------- */

static void put_tensor(FILE *f, const char *name, const char *dtype, const gt_tensor *t) {
    fprintf(f, "%s %s ", name, dtype);
    int r = gt_tensor_rank(t);
    fputc('[', f);
    for (int i = 0; i < r; i++)
        fprintf(f, "%s%lld", i ? "," : "", (long long)gt_tensor_dim(t, i));
    fputc(']', f);
    for (int64_t i = 0; i < gt_tensor_size(t); i++)
        fprintf(f, " %.9g", gt_tensor_get(t, i));
    fputc('\n', f);
}

static int write_fixture(const char *dir) {
    char ck[512], txt[512];
    snprintf(ck, sizeof ck, "%s/ck.safetensors", dir);
    snprintf(txt, sizeof txt, "%s/ck.txt", dir);
    gt_model *m = model(8);
    gt_optimizer *o = gt_adam(NULL);
    fit(m, o, 1, 0);
    if (!gt_checkpoint_save(ck, m, o, 1, &(gt_kv){"gradtape.model", "test"})) {
        fprintf(stderr, "%s\n", gt_error());
        return 1;
    }
    FILE *f = fopen(txt, "w");
    if (!f)
        return 1;
    gt_tensor *vars[8];
    int nv = gt_layer_variables(gt_model_layer(m), vars, 8);
    gt_scope_begin();
    for (int i = 0; i < nv; i++)
        put_tensor(f, gt_variable_path(vars[i]), "F32", vars[i]);
    gt_optimizer_slot s[32];
    int ns = gt_optimizer_slots(o, s, 32);
    for (int i = 0; i < ns; i++) {
        char name[512];
        snprintf(name, sizeof name, "optimizer/adam/%s/%s", s[i].name, gt_variable_path(s[i].var));
        gt_tensor *t = gt_tensor_new(s[i].dtype, gt_tensor_rank(s[i].var),
                                     gt_tensor_shape(s[i].var), s[i].data);
        put_tensor(f, name, "F32", t);
    }
    int64_t it = gt_optimizer_iterations(o);
    put_tensor(f, "optimizer/iterations", "I64", gt_tensor_new(GT_I64, 0, NULL, &it));
    put_tensor(f, "optimizer/learning_rate", "F32",
               gt_scalar_of(GT_F32, gt_optimizer_learning_rate(o)));
    gt_scope_end();
    fclose(f);
    gt_model_free(m);
    gt_optimizer_free(o);
    printf("wrote %s and %s\n", ck, txt);
    return 0;
}

int main(int argc, char **argv) {
    gt_set_num_threads(1);
    data = make_data();
    if (argc == 3 && !strcmp(argv[1], "--write")) {
        int rc = write_fixture(argv[2]);
        gt_dataset_free(data);
        return rc;
    }
    if (!gtt_tmpdir_begin("gt_ck_")) return 1;
    test_round_trips();
    test_damage();
    gt_dataset_free(data);
    gtt_tmpdir_end();
    return gtt_finish();
}
