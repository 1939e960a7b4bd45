/* The seed model (examples/simple_model.c) with fixed weights, inputs and labels against
 * TensorFlow 2 + Keras 3 (tests/ref/gen_keras.py): loss and every gradient within 1e-5
 * relative; names and paths; variables in Keras order; the trainable switch; Sequential;
 * Dense on rank-3 inputs; model.summary() text; the from_logits warning; layer errors. */
#include "gtt.h"
#include "nn_ref.h"

#include <gradtape_nn.h>

#include <stdlib.h>
#include <string.h>

typedef struct SimpleModel {
    gt_model base;
    gt_layer *dense1, *dense2;
} SimpleModel;

static gt_tensor *SimpleModel_call(gt_model *self, const gt_tensor *x, bool training) {
    SimpleModel *m = (SimpleModel *)self;
    return gt_layer_call(m->dense2, gt_layer_call(m->dense1, x, training), training);
}

static SimpleModel *SimpleModel_new(void) {
    SimpleModel *m = (SimpleModel *)gt_model_new(&(gt_model_desc){
        .class_name = "SimpleModel", .call = SimpleModel_call, .size = sizeof(SimpleModel)});
    m->dense1 =
        gt_model_track(&m->base, gt_dense(&(gt_dense_desc){.units = 5, .activation = GT_ACT_RELU}));
    m->dense2 = gt_model_track(
        &m->base, gt_dense(&(gt_dense_desc){.units = 2, .activation = GT_ACT_SOFTMAX}));
    return m;
}

static void set_var(gt_tensor *v, const char *key, int rank, const int64_t *shape) {
    gt_scope_begin();
    GTT_OK(gt_variable_assign(v, nnref_tensor(key, gt_tensor_dtype(v), rank, shape)));
    gt_scope_end();
}

/* Loss and gradients at the committed weights. Tolerance: float32 forward and backward over
 * K = 10 terms in a different summation order than TF's: a few ulps (1e-7 relative each) of
 * error, well inside 1e-5 relative; atol 1e-7 covers gradients that are exact zeros (dead
 * relu units) or below 1e-3 in size. */
static void seed_reference(bool from_logits) {
    gt_reset_uids();
    SimpleModel *m = SimpleModel_new();
    gt_scope_begin();
    gt_tensor *x = nnref_tensor("seed.inputs", GT_F32, GT_SHAPE(32, 10));
    gt_tensor *labels = gt_cast(nnref_tensor("seed.labels", GT_F64, GT_SHAPE(32, 2)), GT_I32);
    gt_model_call(&m->base, x, false); /* build */
    gt_tensor *vars[8];
    int n = gt_layer_trainable_variables(gt_model_layer(&m->base), vars, 8);
    GTT_CHECK(n == 4, "4 trainable variables, got %d", n);
    const char *paths[4] = {"simple_model/dense/kernel", "simple_model/dense/bias",
                            "simple_model/dense_1/kernel", "simple_model/dense_1/bias"};
    for (int i = 0; i < 4 && i < n; i++) {
        GTT_CHECK(strcmp(gt_variable_path(vars[i]), paths[i]) == 0, "path %s, want %s",
                  gt_variable_path(vars[i]), paths[i]);
        GTT_CHECK(strcmp(gt_variable_name(vars[i]), i % 2 ? "bias" : "kernel") == 0, "name %s",
                  gt_variable_name(vars[i]));
    }
    set_var(vars[0], "seed.W1", GT_SHAPE(10, 5));
    set_var(vars[1], "seed.b1", GT_SHAPE(5));
    set_var(vars[2], "seed.W2", GT_SHAPE(5, 2));
    set_var(vars[3], "seed.b2", GT_SHAPE(2));

    gt_loss *lf = gt_categorical_crossentropy(&(gt_loss_desc){.from_logits = from_logits});
    nnref_warnings = 0;
    gt_tape *tape = gt_tape_begin(NULL);
    gt_tensor *pred = gt_model_call(&m->base, x, false);
    gt_tensor *loss = gt_loss_call(lf, labels, pred, NULL);
    gt_tape_end(tape);
    GTT_CHECK(nnref_warnings == (from_logits ? 1 : 0), "%d warnings", nnref_warnings);
    if (from_logits)
        GTT_CHECK(strcmp(nnref_last_warning,
                         "\"`categorical_crossentropy` received `from_logits=True`, but the "
                         "`output` argument was produced by a Softmax activation and thus does "
                         "not represent logits. Was this intended?") == 0,
                  "warning text: %s", nnref_last_warning);
    gt_tensor *grads[4] = {0};
    GTT_OK(gt_tape_gradient(tape, 1, (const gt_tensor *const[]){loss}, NULL, 4,
                            (const gt_tensor *const *)vars, GT_UNCONNECTED_NONE, grads));
    const char *tag = from_logits ? "seed.logits_true" : "seed.logits_false";
    char key[128];
    snprintf(key, sizeof key, "%s.pred", tag);
    nnref_check(key, pred, 1e-7, 1e-5);
    snprintf(key, sizeof key, "%s.loss", tag);
    nnref_check(key, loss, 1e-7, 1e-5);
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "%s.grad%d", tag, i);
        nnref_check(key, grads[i], 1e-7, 1e-5);
    }
    /* the third program: SGD(0.01).apply_gradients, then the loss after it */
    if (from_logits) {
        gt_optimizer *opt = gt_sgd(&(gt_optimizer_desc){.learning_rate = 0.01});
        GTT_OK(gt_optimizer_apply_gradients(opt, 4, grads, vars));
        for (int i = 0; i < 4; i++) {
            snprintf(key, sizeof key, "seed.sgd.var%d", i);
            nnref_check(key, vars[i], 1e-7, 1e-5);
        }
        gt_loss *plain = gt_categorical_crossentropy(NULL);
        nnref_check("seed.sgd.loss_after",
                    gt_loss_call(plain, labels, gt_model_call(&m->base, x, false), NULL), 1e-7,
                    1e-5);
        GTT_CHECK(gt_optimizer_iterations(opt) == 1, "iterations");
        gt_loss_free(plain);
        gt_optimizer_free(opt);
    }
    gt_tape_free(tape);
    gt_loss_free(lf);
    gt_scope_end();
    gt_model_free(&m->base);
}

/* The summary texts of tests/data/keras_summary.txt. */
static char *summary_block(const char *name) {
    FILE *f = fopen(GT_TEST_DATA_DIR "/keras_summary.txt", "r");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    char marker[64];
    snprintf(marker, sizeof marker, "@@@ %s\n", name);
    char *s = strstr(buf, marker);
    if (!s)
        return NULL;
    s += strlen(marker);
    char *e = strstr(s, "@@@ ");
    char *out = malloc((size_t)(e - s) + 1);
    memcpy(out, s, (size_t)(e - s));
    out[e - s] = 0;
    return out;
}

static void check_summary(const gt_model *m, int line_length, const char *block) {
    char *want = summary_block(block);
    GTT_CHECK(want != NULL, "summary block %s", block);
    if (!want)
        return;
    char *got = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&got, &len);
    gt_model_summary(m, f, line_length);
    fclose(f);
    GTT_CHECK(strcmp(got, want) == 0, "summary %s differs:\n--- got\n%s--- want\n%s", block, got,
              want);
    free(got);
    free(want);
}

static void summaries(void) {
    GTT_CHECK(gt_ok(), "pending error: %s", gt_error());
    gt_error_clear();
    gt_reset_uids();
    SimpleModel *m = SimpleModel_new();
    gt_scope_begin();
    gt_model_call(&m->base, gt_zeros(GT_F32, GT_SHAPE(32, 10)), false);
    gt_scope_end();
    check_summary(&m->base, 76, "seed76");
    check_summary(&m->base, 88, "seed88");
    gt_model_free(&m->base);

    gt_reset_uids();
    gt_model *seq = gt_sequential(NULL);
    GTT_OK(gt_sequential_add(seq, gt_dense(&(gt_dense_desc){.units = 300})));
    GTT_OK(gt_sequential_add(seq, gt_activation_layer(GT_ACT_RELU, NULL)));
    GTT_OK(gt_sequential_add(seq, gt_dense(&(gt_dense_desc){.units = 6666})));
    gt_scope_begin();
    gt_tensor *y = gt_model_call(seq, gt_zeros(GT_F32, GT_SHAPE(4, 3, 10)), false);
    GTT_CHECK(y && gt_tensor_rank(y) == 3 && gt_tensor_dim(y, 2) == 6666, "rank-3 Dense shape");
    gt_scope_end();
    gt_layer_set_trainable(gt_model_layer(seq)->children[0], false);
    check_summary(seq, 88, "seq88");
    GTT_CHECK(gt_layer_trainable_variables(gt_model_layer(seq), NULL, 0) == 2, "trainable");
    GTT_CHECK(gt_layer_non_trainable_variables(gt_model_layer(seq), NULL, 0) == 2, "non-trainable");
    gt_model *seq2 = gt_sequential(NULL);
    gt_sequential_add(seq2, gt_dense(&(gt_dense_desc){.units = 4}));
    gt_sequential_add(seq2, gt_dense(&(gt_dense_desc){.units = 2}));
    check_summary(seq2, 100, "unbuilt100");
    gt_model_free(seq);
    gt_model_free(seq2);
}

static void names_and_switches(void) {
    GTT_CHECK(gt_ok(), "pending error: %s", gt_error());
    gt_error_clear();
    gt_reset_uids();
    char buf[96];
    GTT_CHECK(strcmp(gt_snake_case("SimpleModel", buf, sizeof buf), "simple_model") == 0, "%s",
              buf);
    GTT_CHECK(strcmp(gt_snake_case("Conv2DTranspose", buf, sizeof buf), "conv2d_transpose") == 0,
              "%s", buf);
    GTT_CHECK(strcmp(gt_snake_case("HTTPServer", buf, sizeof buf), "http_server") == 0, "%s", buf);
    gt_layer *a = gt_dense(&(gt_dense_desc){.units = 1});
    gt_layer *b = gt_dense(&(gt_dense_desc){.units = 1});
    gt_layer *c = gt_dense(&(gt_dense_desc){.units = 1, .name = "head"});
    gt_layer *d = gt_activation_layer(GT_ACT_TANH, NULL);
    GTT_CHECK(strcmp(gt_layer_name(a), "dense") == 0 && strcmp(gt_layer_name(b), "dense_1") == 0 &&
                  strcmp(gt_layer_name(c), "head") == 0 &&
                  strcmp(gt_layer_name(d), "activation") == 0,
              "names %s %s %s %s", gt_layer_name(a), gt_layer_name(b), gt_layer_name(c),
              gt_layer_name(d));
    /* a layer called alone: path "dense/kernel"; trainable switch empties trainable vars */
    gt_scope_begin();
    GTT_OK(gt_layer_call(a, gt_ones(GT_F32, GT_SHAPE(2, 3)), false) != NULL);
    gt_tensor *v[4] = {0};
    int nv = gt_layer_trainable_variables(a, v, 4);
    GTT_CHECK(nv == 2 && strcmp(gt_variable_path(v[0]), "dense/kernel") == 0, "standalone path %s",
              nv ? gt_variable_path(v[0]) : "-");
    gt_layer_set_trainable(a, false);
    GTT_CHECK(gt_layer_trainable_variables(a, NULL, 0) == 0, "trainable=False");
    GTT_CHECK(gt_layer_non_trainable_variables(a, NULL, 0) == 2, "non-trainable after switch");
    GTT_CHECK(!gt_variable_trainable(v[0]), "variable flag follows the layer");
    gt_layer_set_trainable(a, true);
    GTT_CHECK(gt_layer_trainable_variables(a, NULL, 0) == 2 && gt_variable_trainable(v[0]),
              "trainable again");
    /* input width mismatch after build: Keras' InputSpec error */
    GTT_CHECK(gt_layer_call(a, gt_ones(GT_F32, GT_SHAPE(2, 4)), false) == NULL, "mismatch");
    GTT_ERROR_HAS("expected axis -1 of input shape to have value 3, but received input with "
                  "shape (2, 4)");
    /* no bias; custom initializers */
    gt_layer *e =
        gt_dense(&(gt_dense_desc){.units = 3,
                                  .no_bias = true,
                                  .kernel_initializer = {.kind = GT_INIT_CONSTANT, .value = 0.5}});
    gt_tensor *y = gt_layer_call(e, gt_ones(GT_F32, GT_SHAPE(1, 2)), false);
    double want[3] = {1, 1, 1};
    gtt_tensor_close("constant kernel, no bias", y, want, 3, 0, 0);
    GTT_CHECK(gt_dense_bias(e) == NULL && gt_layer_count_params(e) == 6, "no bias");
    /* integer inputs are cast to float32 (Keras autocasting) */
    gt_tensor *yi = gt_layer_call(e, gt_ones(GT_I32, GT_SHAPE(1, 2)), false);
    GTT_CHECK(yi && gt_tensor_dtype(yi) == GT_F32, "int input");
    gt_scope_end();
    GTT_CHECK(gt_dense(&(gt_dense_desc){.units = 0}) == NULL, "units 0");
    GTT_ERROR_HAS("expected a positive integer");
    /* Sequential rejects duplicate names */
    gt_model *s = gt_sequential("seq");
    GTT_OK(gt_sequential_add(s, gt_dense(&(gt_dense_desc){.units = 1, .name = "x"})));
    GTT_CHECK(!gt_sequential_add(s, gt_dense(&(gt_dense_desc){.units = 1, .name = "x"})), "dup");
    GTT_ERROR_HAS("should have unique names");
    gt_model_free(s);
    gt_layer_free(a);
    gt_layer_free(b);
    gt_layer_free(c);
    gt_layer_free(d);
    gt_layer_free(e);
}

/* A user layer on the base (the docs/keras.md example): lazy build, weights, paths. */
typedef struct scale {
    gt_layer base;
    gt_tensor *w;
} scale;

static bool scale_build(gt_layer *l, int rank, const int64_t *shape) {
    scale *s = (scale *)l;
    s->w = gt_layer_add_weight(l, "w", GT_SHAPE(shape[rank - 1]),
                               &(gt_initializer){.kind = GT_INIT_ONES}, true);
    return s->w != NULL;
}
static gt_tensor *scale_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    return gt_mul(x, ((scale *)l)->w);
}
static const gt_layer_vtable scale_vt = {"Scale", scale_build, scale_call, NULL};

static void user_layer(void) {
    gt_reset_uids();
    gt_model *seq = gt_sequential(NULL);
    gt_layer *sc = gt_layer_new(&scale_vt, sizeof(scale), NULL);
    GTT_OK(gt_sequential_add(seq, sc));
    GTT_OK(gt_sequential_add(seq, gt_dense(&(gt_dense_desc){.units = 2})));
    GTT_CHECK(!gt_layer_built(sc), "lazy");
    gt_scope_begin();
    gt_tensor *x = gt_tensor_new(GT_F64, GT_SHAPE(1, 3), (double[]){1, 2, 3});
    gt_tape *tape = gt_tape_begin(NULL);
    gt_tensor *y = gt_reduce_sum(gt_model_call(seq, x, true), GT_ALL, false);
    gt_tape_end(tape);
    gt_tensor *v[4] = {0}, *g[4] = {0};
    int n = gt_layer_trainable_variables(gt_model_layer(seq), v, 4);
    GTT_CHECK(n == 3 && strcmp(gt_variable_path(v[0]), "sequential/scale/w") == 0 &&
                  strcmp(gt_variable_path(v[1]), "sequential/dense/kernel") == 0,
              "user layer paths (%d)", n);
    GTT_CHECK(gt_tensor_dtype(v[0]) == GT_F64, "weights take the first input's float dtype");
    GTT_OK(gt_tape_gradient(tape, 1, (const gt_tensor *const[]){y}, NULL, n,
                            (const gt_tensor *const *)v, GT_UNCONNECTED_NONE, g));
    /* d sum(x*w @ K + b) / dw_i = x_i * sum_j K_ij */
    gt_tensor *want = gt_mul(x, gt_reshape(gt_reduce_sum(v[1], GT_AXES(1), false), GT_SHAPE(1, 3)));
    double wv[3];
    gt_tensor_to_f64(want, wv, 3);
    gtt_tensor_close("user layer gradient", g[0], wv, 3, 1e-12, 1e-12);
    GTT_CHECK(gt_layer_count_params(gt_model_layer(seq)) == 3 + 6 + 2, "params");
    gt_tape_free(tape);
    gt_scope_end();
    gt_model_free(seq);
}

int main(void) {
    nnref_capture_warnings();
    if (!nnref_load(GT_TEST_DATA_DIR "/keras_ref.txt"))
        return gtt_finish();
    seed_reference(true);
    seed_reference(false);
    summaries();
    names_and_switches();
    user_layer();
    nnref_free();
    return gtt_finish();
}
