/* Initializers (shape, bounds, and moments on large samples), activations (Keras names, the
 * gelu check values, logits attached by softmax/sigmoid) and metrics against Keras 3 (values,
 * sample weights, reset, names) with their errors. */
#include "gtt.h"
#include "nn_ref.h"

#include <gradtape_nn.h>

#include <stdlib.h>
#include <string.h>

/* Moments of a sample. */
static void moments(const gt_tensor *t, double *mean, double *var, double *amax) {
    int64_t n = gt_tensor_size(t);
    double *v = malloc(sizeof(double) * (size_t)n);
    gt_tensor_to_f64(t, v, n);
    double s = 0, m = 0;
    *amax = 0;
    for (int64_t i = 0; i < n; i++) {
        s += v[i];
        if (fabs(v[i]) > *amax)
            *amax = fabs(v[i]);
    }
    *mean = s / (double)n;
    for (int64_t i = 0; i < n; i++)
        m += (v[i] - *mean) * (v[i] - *mean);
    *var = m / (double)n;
    free(v);
}

/* Checks one initializer on a (rows, cols) sample: |x| <= bound, mean 0 and variance `var`.
 * Tolerances are 6 standard errors: mean: 6 sd/sqrt(n); variance: 6 var sqrt(k/n) with
 * k = kurtosis - 1 (0.8 for a uniform, <= 2 for a normal, truncated or not). n = 400k makes
 * them ~1% of the variance, tight enough to catch a wrong fan or a missing 0.8796 factor
 * (which changes the variance by 29%). */
static void stat_check(const char *name, gt_initializer init, int64_t rows, int64_t cols,
                       double bound, double want_var, double kurt_m1) {
    gt_scope_begin();
    gt_tensor *t = gt_initializer_make(&init, GT_F32, GT_SHAPE(rows, cols));
    GTT_CHECK(t && gt_tensor_dim(t, 0) == rows && gt_tensor_dim(t, 1) == cols, "%s shape: %s", name,
              gt_error() ? gt_error() : "");
    if (t) {
        double mean, var, amax, n = (double)(rows * cols);
        moments(t, &mean, &var, &amax);
        GTT_CHECK(amax <= bound * (1 + 1e-6), "%s: max |x| %.7g > bound %.7g", name, amax, bound);
        GTT_CHECK(fabs(mean) <= 6 * sqrt(want_var / n), "%s: mean %.3g", name, mean);
        GTT_CHECK(fabs(var - want_var) <= 6 * want_var * sqrt(kurt_m1 / n),
                  "%s: variance %.6g, want %.6g", name, var, want_var);
    }
    gt_scope_end();
}

static void initializers(void) {
    const int64_t R = 800, C = 500; /* fan_in 800, fan_out 500 */
    const double fi = R, fo = C, tn = 0.87962566103423978;
    double lim;
    lim = sqrt(6 / (fi + fo));
    stat_check("glorot_uniform", (gt_initializer){.kind = GT_INIT_GLOROT_UNIFORM}, R, C, lim,
               lim * lim / 3, 0.8);
    lim = sqrt(6 / fi);
    stat_check("he_uniform", (gt_initializer){.kind = GT_INIT_HE_UNIFORM}, R, C, lim, lim * lim / 3,
               0.8);
    lim = sqrt(3 / fi);
    stat_check("lecun_uniform", (gt_initializer){.kind = GT_INIT_LECUN_UNIFORM}, R, C, lim,
               lim * lim / 3, 0.8);
    /* truncated normals: the parameter is sqrt(s)/0.8796, so the variance is s itself and
     * the bound 2 * sqrt(s)/0.8796 */
    double s;
    s = 2 / (fi + fo);
    stat_check("glorot_normal", (gt_initializer){.kind = GT_INIT_GLOROT_NORMAL}, R, C,
               2 * sqrt(s) / tn, s, 2);
    s = 2 / fi;
    stat_check("he_normal", (gt_initializer){.kind = GT_INIT_HE_NORMAL}, R, C, 2 * sqrt(s) / tn, s,
               2);
    s = 1 / fi;
    stat_check("lecun_normal", (gt_initializer){.kind = GT_INIT_LECUN_NORMAL}, R, C,
               2 * sqrt(s) / tn, s, 2);
    stat_check("random_normal", (gt_initializer){.kind = GT_INIT_RANDOM_NORMAL}, R, C, 1.0,
               0.05 * 0.05, 2);
    stat_check("random_uniform", (gt_initializer){.kind = GT_INIT_RANDOM_UNIFORM}, R, C, 0.05,
               0.1 * 0.1 / 12, 0.8);
    /* TruncatedNormal(0, 0.05): variance 0.05^2 * 0.8796^2 */
    stat_check("truncated_normal", (gt_initializer){.kind = GT_INIT_TRUNCATED_NORMAL}, R, C, 0.1,
               0.05 * 0.05 * tn * tn, 2);
    stat_check("variance_scaling fan_out untruncated",
               (gt_initializer){.kind = GT_INIT_VARIANCE_SCALING,
                                .scale = 3,
                                .mode = GT_FAN_OUT,
                                .distribution = GT_DIST_UNTRUNCATED_NORMAL},
               R, C, 10 * sqrt(3 / fo), 3 / fo, 2);
    /* reference §3.3 check values: glorot_uniform (784,128) limit 0.0811107, he_normal
     * fan_in 784 stddev 0.0574195: the sample's extremes come within 0.5% of the bound */
    gt_scope_begin();
    double mean, var, amax;
    gt_tensor *g = gt_initializer_make(&(gt_initializer){.kind = GT_INIT_GLOROT_UNIFORM}, GT_F32,
                                       GT_SHAPE(784, 128));
    moments(g, &mean, &var, &amax);
    GTT_CHECK(amax <= 0.0811107 * (1 + 1e-6) && amax > 0.0811107 * 0.995, "glorot limit %.7g",
              amax);
    gt_tensor *h = gt_initializer_make(&(gt_initializer){.kind = GT_INIT_HE_NORMAL}, GT_F32,
                                       GT_SHAPE(784, 128));
    moments(h, &mean, &var, &amax);
    GTT_CHECK(amax <= 2 * 0.0574195 * (1 + 1e-6) && amax > 2 * 0.0574195 * 0.99,
              "he_normal bound %.7g", amax);
    /* fans of a conv kernel (3, 3, 16, 32): fan_in 144, fan_out 288 */
    double fin, fout;
    gt_compute_fans(4, (const int64_t[]){3, 3, 16, 32}, &fin, &fout);
    GTT_CHECK(fin == 144 && fout == 288, "conv fans %g %g", fin, fout);
    gt_compute_fans(1, (const int64_t[]){7}, &fin, &fout);
    GTT_CHECK(fin == 7 && fout == 7, "rank-1 fans");
    gt_compute_fans(0, NULL, &fin, &fout);
    GTT_CHECK(fin == 1 && fout == 1, "scalar fans");
    /* constants, seeds, float64 */
    double ones[4] = {1, 1, 1, 1}, c[4] = {2.5, 2.5, 2.5, 2.5};
    gtt_tensor_close(
        "ones",
        gt_initializer_make(&(gt_initializer){.kind = GT_INIT_ONES}, GT_F64, GT_SHAPE(2, 2)), ones,
        4, 0, 0);
    gtt_tensor_close("constant",
                     gt_initializer_make(&(gt_initializer){.kind = GT_INIT_CONSTANT, .value = 2.5},
                                         GT_F32, GT_SHAPE(4)),
                     c, 4, 0, 0);
    gt_initializer seeded = {.kind = GT_INIT_HE_UNIFORM, .seed = 42};
    gt_tensor *a1 = gt_initializer_make(&seeded, GT_F32, GT_SHAPE(10, 10));
    gt_tensor *a2 = gt_initializer_make(&seeded, GT_F32, GT_SHAPE(10, 10));
    seeded.seed = 43;
    gt_tensor *a3 = gt_initializer_make(&seeded, GT_F32, GT_SHAPE(10, 10));
    GTT_CHECK(gt_tensor_equal(a1, a2) && !gt_tensor_equal(a1, a3), "seeded initializers");
    /* orthogonal: Q^T Q = I (tall) and Q Q^T = I (wide), times the gain */
    for (int wide = 0; wide < 2; wide++) {
        int64_t r = wide ? 20 : 60, cc = wide ? 60 : 20;
        gt_tensor *q = gt_initializer_make(
            &(gt_initializer){.kind = GT_INIT_ORTHOGONAL, .gain = 2.0, .seed = 5}, GT_F64,
            GT_SHAPE(r, cc));
        gt_tensor *qq = wide ? gt_matmul(q, q, false, true) : gt_matmul(q, q, true, false);
        gt_tensor *want = gt_mul_s(gt_eye(20, GT_F64), 4.0);
        double *wv = malloc(sizeof(double) * 400);
        gt_tensor_to_f64(want, wv, 400);
        gtt_tensor_close(wide ? "orthogonal wide" : "orthogonal tall", qq, wv, 400, 1e-12, 0);
        free(wv);
    }
    GTT_CHECK(
        !gt_initializer_make(&(gt_initializer){.kind = GT_INIT_ORTHOGONAL}, GT_F32, GT_SHAPE(5)),
        "orthogonal rank 1");
    GTT_ERROR_HAS("rank >= 2");
    GTT_CHECK(!gt_initializer_make(&(gt_initializer){.kind = GT_INIT_RANDOM_NORMAL, .stddev = -1},
                                   GT_F32, GT_SHAPE(2)),
              "negative stddev");
    GTT_ERROR_HAS("stddev must be >= 0");
    GTT_CHECK(!gt_initializer_make(
                  &(gt_initializer){.kind = GT_INIT_RANDOM_UNIFORM, .minval = 1, .maxval = 0},
                  GT_F32, GT_SHAPE(2)),
              "minval > maxval");
    GTT_ERROR_HAS("must be <= maxval");
    GTT_CHECK(!gt_initializer_make(&(gt_initializer){.kind = GT_INIT_ONES}, GT_I32, GT_SHAPE(2)),
              "int dtype");
    GTT_ERROR_HAS("float32 or float64");
    GTT_CHECK(!gt_initializer_make(NULL, GT_F32, GT_SHAPE(2)), "NULL");
    GTT_ERROR_HAS("NULL initializer");
    gt_scope_end();
}

static void activations(void) {
    gt_scope_begin();
    gt_tensor *x = gt_tensor_new(GT_F32, GT_SHAPE(5), (float[]){-3, -1, 0, 1, 3});
    /* float64: TensorFlow 2.21's tf.nn.gelu on the same input (its constants pass through
     * float32 even for float64 tensors, and so do ours), printed with repr. */
    double exact[5] = {-0.004049694777521031, -0.15865525807260966, 0, 0.8413447419273903,
                       2.995950305222479};
    double approx[5] = {-0.00363752, -0.15880796, 0, 0.841192, 2.9963627};
    gt_tensor *x64 = gt_cast(x, GT_F64);
    gtt_tensor_close("gelu", gt_activation_apply(GT_ACT_GELU, x64), exact, 5, 1e-12, 1e-9);
    gtt_tensor_close("gelu approx", gt_activation_apply(GT_ACT_GELU_APPROX, x), approx, 5, 1e-7,
                     1e-6);
    for (int a = 0; a < GT_ACT_COUNT; a++) {
        gt_tensor *y = gt_activation_apply((gt_activation)a, x);
        GTT_CHECK(y && gt_tensor_size(y) == 5, "activation %s", gt_activation_name(a));
        bool has = gt_tensor_logits(y) != NULL;
        GTT_CHECK(has == (a == GT_ACT_SOFTMAX || a == GT_ACT_SIGMOID), "logits on %s",
                  gt_activation_name(a));
    }
    GTT_CHECK(strcmp(gt_activation_name(GT_ACT_LEAKY_RELU), "leaky_relu") == 0, "names");
    GTT_CHECK(!gt_activation_apply((gt_activation)99, x), "bad activation");
    GTT_ERROR_HAS("unknown activation");
    /* leaky_relu slope 0.2 (keras.activations), relu6 clip */
    double lr[5] = {-0.6, -0.2, 0, 1, 3}, r6[5] = {0, 0, 0, 1, 3};
    gtt_tensor_close("leaky_relu", gt_activation_apply(GT_ACT_LEAKY_RELU, x), lr, 5, 1e-7, 0);
    gtt_tensor_close("relu6", gt_activation_apply(GT_ACT_RELU6, x), r6, 5, 0, 0);
    gt_scope_end();
}

/* Metrics: float32 sums of <= 24 terms, as Keras: 1e-6 relative. */
static void metrics(void) {
    gt_scope_begin();
    gt_tensor *p = nnref_tensor("met.pred", GT_F32, GT_SHAPE(6, 4));
    gt_tensor *sp = gt_cast(nnref_tensor("met.sparse", GT_F64, GT_SHAPE(6)), GT_I32);
    gt_tensor *oh = nnref_tensor("met.onehot", GT_F32, GT_SHAPE(6, 4));
    gt_tensor *sw = nnref_tensor("met.sw", GT_F32, GT_SHAPE(6));
    int64_t n;
    gt_metric *m = gt_metric_mean(NULL);
    GTT_OK(gt_metric_update_values(m, p, NULL));
    GTT_CLOSE(gt_metric_result(m), *nnref_get("met.mean", &n), 1e-7, 1e-6);
    gt_metric_reset(m);
    GTT_CHECK(gt_metric_result(m) == 0, "reset");
    GTT_OK(gt_metric_update_values(
        m, gt_reshape(gt_slice(p, (int64_t[]){0, 0}, (int64_t[]){6, 1}), GT_SHAPE(6)), sw));
    GTT_OK(gt_metric_update_values(
        m, gt_reshape(gt_slice(p, (int64_t[]){0, 1}, (int64_t[]){3, 1}), GT_SHAPE(3)), NULL));
    GTT_CLOSE(gt_metric_result(m), *nnref_get("met.mean_sw", &n), 1e-7, 1e-6);
    GTT_CHECK(strcmp(gt_metric_name(m), "mean") == 0, "name");
    gt_metric_free(m);
    m = gt_metric_categorical_accuracy(NULL);
    GTT_OK(gt_metric_update(m, oh, p, NULL));
    GTT_CLOSE(gt_metric_result(m), *nnref_get("met.cat", &n), 1e-7, 1e-6);
    gt_metric_reset(m);
    GTT_OK(gt_metric_update(m, oh, p, sw));
    GTT_CLOSE(gt_metric_result(m), *nnref_get("met.cat_sw", &n), 1e-7, 1e-6);
    gt_metric_free(m);
    m = gt_metric_sparse_categorical_accuracy(NULL);
    GTT_OK(gt_metric_update(m, sp, p, NULL));
    GTT_CLOSE(gt_metric_result(m), *nnref_get("met.sparse_acc", &n), 1e-7, 1e-6);
    gt_metric_reset(m);
    GTT_OK(gt_metric_update(m, gt_reshape(sp, GT_SHAPE(6, 1)), p, sw));
    GTT_CLOSE(gt_metric_result(m), *nnref_get("met.sparse_acc_sw", &n), 1e-7, 1e-6);
    GTT_CHECK(!gt_metric_update_values(m, p, NULL) || true, "values on accuracy");
    gt_metric_free(m);
    m = gt_metric_accuracy(NULL);
    GTT_OK(gt_metric_update(m, nnref_tensor("met.acc_true", GT_F32, GT_SHAPE(3, 2)),
                            nnref_tensor("met.acc_pred", GT_F32, GT_SHAPE(3, 2)), NULL));
    GTT_CLOSE(gt_metric_result(m), *nnref_get("met.acc", &n), 1e-7, 1e-6);
    gt_metric_free(m);
    m = gt_metric_mean(NULL);
    GTT_CHECK(!gt_metric_update(m, oh, p, NULL), "Mean with y_true/y_pred");
    GTT_ERROR_HAS("use gt_metric_update_values");
    gt_metric_free(m);
    gt_scope_end();
}

/* Rows [from, from + count) of a rank-1 or rank-2 tensor. */
static gt_tensor *rows(const gt_tensor *t, int64_t from, int64_t count) {
    if (gt_tensor_rank(t) == 1)
        return gt_slice(t, (int64_t[]){from}, (int64_t[]){count});
    return gt_slice(t, (int64_t[]){from, 0}, (int64_t[]){count, gt_tensor_dim(t, 1)});
}

/* The protocol of gen_keras.py §7 for one metric, each result against Keras within 1e-6
 * relative (float32 state and float32 sums of <= 18 terms, as Keras'): result() before any
 * update; after update(rows 0-2) and update(rows 3-5, their weights); after reset; after one
 * weighted update of all rows. The name is Keras'. */
static void metric_protocol(const char *key, gt_metric *m, const char *name, const gt_tensor *yt,
                            const gt_tensor *yp, const gt_tensor *sw) {
    int64_t n;
    const double *want = nnref_get(key, &n);
    GTT_CHECK(m && want && n == 4, "%s: %s", key, gt_error() ? gt_error() : "");
    if (!m || !want || n != 4)
        return;
    GTT_CHECK(strcmp(gt_metric_name(m), name) == 0, "%s: name %s", key, gt_metric_name(m));
    double got[4];
    got[0] = gt_metric_result(m);
    GTT_OK(gt_metric_update(m, rows(yt, 0, 3), rows(yp, 0, 3), NULL));
    GTT_OK(gt_metric_update(m, rows(yt, 3, 3), rows(yp, 3, 3), rows(sw, 3, 3)));
    got[1] = gt_metric_result(m);
    gt_metric_reset(m);
    got[2] = gt_metric_result(m);
    GTT_OK(gt_metric_update(m, yt, yp, sw));
    got[3] = gt_metric_result(m);
    for (int i = 0; i < 4; i++)
        GTT_CHECK(fabs(got[i] - want[i]) <= 1e-7 + 1e-6 * fabs(want[i]), "%s[%d]: %.9g, want %.9g",
                  key, i, got[i], want[i]);
    gt_metric_free(m);
}

/* BinaryAccuracy, the top-k accuracies, MeanSquaredError, MeanAbsoluteError,
 * RootMeanSquaredError, Precision and Recall against Keras; their errors. */
static void more_metrics(void) {
    gt_scope_begin();
    gt_tensor *bt = nnref_tensor("met.b_true", GT_F32, GT_SHAPE(6, 3));
    gt_tensor *bp = nnref_tensor("met.b_pred", GT_F32, GT_SHAPE(6, 3));
    gt_tensor *kp = nnref_tensor("met.k_pred", GT_F32, GT_SHAPE(6, 8));
    gt_tensor *ks = gt_cast(nnref_tensor("met.k_sparse", GT_F64, GT_SHAPE(6)), GT_I32);
    gt_tensor *ko = nnref_tensor("met.k_onehot", GT_F32, GT_SHAPE(6, 8));
    gt_tensor *rt = nnref_tensor("met.r_true", GT_F32, GT_SHAPE(6, 3));
    gt_tensor *rp = nnref_tensor("met.r_pred", GT_F32, GT_SHAPE(6, 3));
    gt_tensor *sw = nnref_tensor("met.sw7", GT_F32, GT_SHAPE(6));
    metric_protocol("met.binary_accuracy", gt_metric_binary_accuracy(NULL, 0), "binary_accuracy",
                    bt, bp, sw);
    metric_protocol("met.binary_accuracy_t07", gt_metric_binary_accuracy(NULL, 0.7),
                    "binary_accuracy", bt, bp, sw);
    metric_protocol("met.top_k", gt_metric_top_k_categorical_accuracy(NULL, 0),
                    "top_k_categorical_accuracy", ko, kp, sw);
    metric_protocol("met.top_k2", gt_metric_top_k_categorical_accuracy(NULL, 2),
                    "top_k_categorical_accuracy", ko, kp, sw);
    metric_protocol("met.sparse_top_k", gt_metric_sparse_top_k_categorical_accuracy(NULL, 0),
                    "sparse_top_k_categorical_accuracy", ks, kp, sw);
    metric_protocol("met.sparse_top_k2_col", gt_metric_sparse_top_k_categorical_accuracy(NULL, 2),
                    "sparse_top_k_categorical_accuracy", gt_reshape(ks, GT_SHAPE(6, 1)), kp, sw);
    metric_protocol("met.mse", gt_metric_mean_squared_error(NULL), "mean_squared_error", rt, rp,
                    sw);
    metric_protocol("met.mae", gt_metric_mean_absolute_error(NULL), "mean_absolute_error", rt, rp,
                    sw);
    metric_protocol("met.rmse", gt_metric_root_mean_squared_error(NULL), "root_mean_squared_error",
                    rt, rp, sw);
    metric_protocol("met.precision", gt_metric_precision(NULL, 0), "precision", bt, bp, sw);
    metric_protocol("met.precision_t07", gt_metric_precision(NULL, 0.7), "precision", bt, bp, sw);
    metric_protocol("met.recall", gt_metric_recall(NULL, 0), "recall", bt, bp, sw);
    metric_protocol("met.recall_t07", gt_metric_recall(NULL, 0.7), "recall", bt, bp, sw);
    metric_protocol("met.precision_rank1", gt_metric_precision(NULL, 0), "precision",
                    gt_reshape(gt_slice(bt, (int64_t[]){0, 0}, (int64_t[]){6, 1}), GT_SHAPE(6)),
                    gt_reshape(gt_slice(bp, (int64_t[]){0, 0}, (int64_t[]){6, 1}), GT_SHAPE(6)),
                    sw);
    /* a user's name; GT_ZERO is a threshold of 0 (every positive prediction counts) */
    gt_metric *m = gt_metric_recall("rec", GT_ZERO);
    GTT_CHECK(strcmp(gt_metric_name(m), "rec") == 0, "name");
    GTT_OK(gt_metric_update(m, bt, bp, NULL));
    GTT_CLOSE(gt_metric_result(m), 1.0, 0, 0);
    GTT_CHECK(!gt_metric_update_values(m, bp, NULL), "values on recall");
    GTT_ERROR_HAS("use gt_metric_update");
    gt_metric_free(m);
    /* errors */
    GTT_CHECK(!gt_metric_precision(NULL, 1.5), "threshold range");
    GTT_ERROR_HAS("precision: Threshold values must be in [0, 1]. Received: [1.5]");
    GTT_CHECK(!gt_metric_recall(NULL, -0.25), "threshold range");
    GTT_ERROR_HAS("Received: [-0.25]");
    GTT_CHECK(!gt_metric_top_k_categorical_accuracy(NULL, -1), "k");
    GTT_ERROR_HAS("k must be positive");
    m = gt_metric_sparse_top_k_categorical_accuracy(NULL, 0);
    GTT_CHECK(!gt_metric_update(m, gt_slice(ks, (int64_t[]){0}, (int64_t[]){5}), kp, NULL),
              "top-k rows");
    GTT_ERROR_HAS("y_true must have one class per row of y_pred. Received: y_true.shape=(5,)");
    GTT_CHECK(!gt_metric_update(m, ks, gt_reshape(kp, GT_SHAPE(48)), NULL), "top-k rank");
    GTT_ERROR_HAS("y_pred must have rank >= 2");
    gt_metric_free(m);
    m = gt_metric_precision(NULL, 0);
    GTT_CHECK(!gt_metric_update(m, ko, bp, NULL), "precision shapes");
    GTT_ERROR_HAS("same number of values. Received: y_true.shape=(6, 8), y_pred.shape=(6, 3)");
    gt_metric_free(m);
    gt_scope_end();
}

int main(void) {
    nnref_capture_warnings();
    if (!nnref_load(GT_TEST_DATA_DIR "/keras_ref.txt"))
        return gtt_finish();
    initializers();
    activations();
    metrics();
    more_metrics();
    nnref_free();
    return gtt_finish();
}
