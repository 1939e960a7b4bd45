/* Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, Dropout,
 * BatchNormalization, LayerNormalization, Embedding, and the sequence and reshaping layers
 * (Conv1D, MaxPooling1D, AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D,
 * Reshape, Permute, RepeatVector, ZeroPadding2D, Cropping2D, UpSampling2D):
 *  - forward values and first gradients against Keras 3 itself (tests/ref/gen_keras_layers.py
 *    -> tests/data/keras_layers_ref.txt; each case's configuration is read from that file);
 *  - BatchNormalization's moving statistics over several training calls against Keras;
 *  - Dropout's statistics, seeding, training flag and gradient;
 *  - gradient checks of every layer w.r.t. its input and weights in float64 (first and second
 *    order, forward mode, Jacobians: gtt_gradcheck);
 *  - names, variable paths and order; model.summary() of small CNNs byte for byte;
 *  - error cases.
 * GT_LAYERS_STATS=1 prints the worst observed error of each Keras comparison. */
#include "gtt.h"
#include "layer_check.h"
#include "nn_ref.h"

#include <gradtape_nn.h>

#include <stdlib.h>
#include <string.h>

#define REF_FILE GT_TEST_DATA_DIR "/keras_layers_ref.txt"

/* ---- Conv2D against Keras ----------------------------------------------------------------- */

static gt_activation act_of(int code) {
    return code == 1 ? GT_ACT_RELU : code == 2 ? GT_ACT_TANH : GT_ACT_LINEAR;
}

/* The float32 input <key>.x of shape <key>.xshape of a reference case. */
static gt_tensor *case_input(const char *key) {
    char k[160];
    int64_t xs[GT_MAX_RANK];
    snprintf(k, sizeof k, "%s.xshape", key);
    int xr = lcheck_ref_shape(k, xs);
    snprintf(k, sizeof k, "%s.x", key);
    return nnref_tensor(k, GT_F32, xr, xs);
}

/* The weight accessors of a convolution layer type. */
typedef gt_tensor *(*conv_weight_fn)(const gt_layer *);

/* Builds the convolution l of reference case key for its input, sets its kernel (and bias,
 * unless no_bias) from the record and compares its output and gradients; frees l. */
static void conv_case(const char *key, gt_layer *l, bool no_bias, conv_weight_fn kernel,
                      conv_weight_fn bias) {
    char k[160];
    GTT_CHECK(l != NULL, "%s: %s", key, gt_error() ? gt_error() : "");
    if (!l)
        return;
    gt_scope_begin();
    gt_tensor *x = case_input(key);
    GTT_OK(x && gt_layer_build(l, gt_tensor_rank(x), gt_tensor_shape(x)));
    snprintf(k, sizeof k, "%s.kernel", key);
    lcheck_set_var(kernel(l), k);
    if (!no_bias) {
        snprintf(k, sizeof k, "%s.bias", key);
        lcheck_set_var(bias(l), k);
    } else {
        GTT_CHECK(bias(l) == NULL, "%s: no bias", key);
    }
    lcheck_forward_and_grads(key, l, x, false, 1e-5, 1e-5, 5e-5, 1e-5);
    gt_layer_free(l);
    gt_scope_end();
}

/* Tolerances (float32): each output is a sum of K <= 27 products of N(0,1) inputs and
 * N(0,0.25) weights, |terms| summing to ~10; a different summation order than Eigen's moves it
 * by a few ulps of that sum (~1e-6). The kernel gradient sums up to 112 positions of products
 * of similar size (sum of |terms| ~ 100, error ~1e-5). */
static void conv_keras(void) {
    static const char *cases[] = {"valid",         "same_strided", "same_s2_even", "dilated",
                                  "dilated_valid", "groups",       "one_by_one"};
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        char key[128], k[160];
        snprintf(key, sizeof key, "conv.%s", cases[ci]);
        snprintf(k, sizeof k, "%s.cfg", key);
        gt_conv2d_layer_desc d = {
            .filters = (int64_t)lcheck_cfg(k, 0),
            .kernel_size = {(int64_t)lcheck_cfg(k, 1), (int64_t)lcheck_cfg(k, 2)},
            .strides = {(int64_t)lcheck_cfg(k, 3), (int64_t)lcheck_cfg(k, 4)},
            .dilation_rate = {(int64_t)lcheck_cfg(k, 5), (int64_t)lcheck_cfg(k, 6)},
            .groups = (int64_t)lcheck_cfg(k, 7),
            .padding = lcheck_cfg(k, 8) != 0 ? GT_PADDING_SAME : GT_PADDING_VALID,
            .no_bias = lcheck_cfg(k, 9) == 0,
            .activation = act_of((int)lcheck_cfg(k, 10)),
        };
        conv_case(key, gt_conv2d_layer(&d), d.no_bias, gt_conv2d_layer_kernel,
                  gt_conv2d_layer_bias);
    }
    /* Glorot uniform with the receptive field: kernel (5, 5, 6, 32) is U(+-sqrt(6 / (150 +
     * 800))); 4800 draws reach within 1% of the bound (P(miss) = 0.99^4800 ~ 1e-21). */
    gt_scope_begin();
    gt_layer *c = gt_conv2d_layer(&(gt_conv2d_layer_desc){.filters = 32, .kernel_size = {5}});
    GTT_OK(gt_layer_build(c, GT_SHAPE(1, 28, 28, 6)));
    double limit = lcheck_cfg("conv.init.limit", 0);
    double mx = gt_item(gt_reduce_max(gt_abs(gt_conv2d_layer_kernel(c)), GT_ALL, false));
    GTT_CHECK(mx <= limit && mx > 0.99 * limit, "glorot bound: max %g, limit %g", mx, limit);
    GTT_CLOSE(lcheck_cfg("conv.init.kernel_absmax", 0), limit, 0, 0.01); /* Keras' own draw */
    GTT_CHECK(gt_item(gt_reduce_max(gt_abs(gt_conv2d_layer_bias(c)), GT_ALL, false)) == 0,
              "zero bias");
    gt_layer_free(c);
    gt_scope_end();
}

/* ---- pooling, Flatten --------------------------------------------------------------------- */

/* Max pooling and Flatten move values: exact. Average pooling divides a sum of <= 9 values:
 * a few ulps (1e-6 relative; atol for results near 0). */
static void pool_keras(void) {
    static const char *cases[] = {"max_default", "max_same_s2", "max_rect", "avg_default",
                                  "avg_same_s2", "avg_same_s1", "gap",      "gap_keepdims"};
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        char key[128], k[160];
        snprintf(key, sizeof key, "pool.%s", cases[ci]);
        snprintf(k, sizeof k, "%s.cfg", key);
        int kind = (int)lcheck_cfg(k, 0);
        gt_pooling2d_desc d = {.pool_size = {(int64_t)lcheck_cfg(k, 1), (int64_t)lcheck_cfg(k, 2)},
                               .strides = {(int64_t)lcheck_cfg(k, 3), (int64_t)lcheck_cfg(k, 4)},
                               .padding =
                                   lcheck_cfg(k, 5) != 0 ? GT_PADDING_SAME : GT_PADDING_VALID};
        bool defaults = strstr(cases[ci], "default") != NULL;
        gt_layer *l = kind == 0   ? gt_max_pooling2d(defaults ? NULL : &d)
                      : kind == 1 ? gt_average_pooling2d(&d)
                                  : gt_global_average_pooling2d(&(gt_global_pooling2d_desc){
                                        .keepdims = lcheck_cfg(k, 6) != 0});
        GTT_OK(l != NULL);
        gt_scope_begin();
        gt_tensor *x = case_input(key);
        double tol = kind == 0 ? 0 : 1e-6;
        lcheck_forward_and_grads(key, l, x, false, tol, tol, tol, tol);
        gt_scope_end();
        gt_layer_free(l);
    }
    gt_scope_begin();
    gt_layer *f = gt_flatten(NULL);
    lcheck_forward_and_grads("flatten", f, nnref_tensor("flatten.x", GT_F32, GT_SHAPE(2, 3, 4, 5)),
                             false, 0, 0, 0, 0);
    gt_tensor *y = gt_layer_call(f, gt_zeros(GT_F32, GT_SHAPE(3)), false); /* (3,) -> (3, 1) */
    GTT_CHECK(y && gt_tensor_rank(y) == 2 && gt_tensor_dim(y, 1) == 1, "flatten of a vector");
    y = gt_layer_call(f, gt_zeros(GT_F32, GT_SHAPE(0, 4, 5)), false);
    GTT_CHECK(y && gt_tensor_dim(y, 0) == 0 && gt_tensor_dim(y, 1) == 20, "flatten of an empty batch");
    gt_layer_free(f);
    gt_scope_end();
}

/* ---- BatchNormalization against Keras ----------------------------------------------------- */

/* Tolerances (float32): the batch statistics are means over <= 36 values, a few ulps off
 * Eigen's order; normalising multiplies those errors by gamma/sqrt(var) ~ 1: atol/rtol 1e-5
 * on outputs of size ~1-3. The input gradient of the training mode subtracts means of w and
 * w*xhat (cancellation): atol 3e-5. Moving statistics are two f32 products and a sum: 1e-6. */
static void bn_keras(void) {
    static const char *cases[] = {"nhwc", "dense", "axis1", "frozen"};
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        char key[64], k[256];
        snprintf(key, sizeof key, "bn.%s", cases[ci]);
        snprintf(k, sizeof k, "%s.cfg", key);
        int axis = (int)lcheck_cfg(k, 0);
        bool center = lcheck_cfg(k, 3) != 0, scale = lcheck_cfg(k, 4) != 0,
             trainable = lcheck_cfg(k, 5) != 0;
        gt_batch_normalization_desc d = {.axis = axis,
                                         .momentum = lcheck_cfg(k, 1),
                                         .epsilon = lcheck_cfg(k, 2),
                                         .no_center = !center,
                                         .no_scale = !scale};
        gt_layer *l = gt_batch_normalization(&d);
        GTT_OK(l != NULL);
        gt_scope_begin();
        int64_t xs[GT_MAX_RANK];
        snprintf(k, sizeof k, "%s.xshape", key);
        int xr = lcheck_ref_shape(k, xs);
        GTT_OK(gt_layer_build(l, xr, xs));
        gt_tensor *vars[4];
        int nv = gt_layer_variables(l, vars, 4);
        GTT_CHECK(nv == 2 + center + scale, "%s: %d variables", key, nv);
        snprintf(k, sizeof k, "%s.weights", key);
        lcheck_set_vars(vars, nv, k);
        if (!trainable)
            gt_layer_set_trainable(l, false);
        snprintf(k, sizeof k, "%s.x0", key);
        gt_tensor *x0 = nnref_tensor(k, GT_F32, xr, xs);
        snprintf(k, sizeof k, "%s.y_infer", key);
        lcheck_ref_check(k, gt_layer_call(l, x0, false), 1e-5, 1e-5);
        for (int s = 0; s < 3; s++) {
            char sk[128];
            snprintf(k, sizeof k, "%s.x%d", key, s);
            gt_tensor *x = nnref_tensor(k, GT_F32, xr, xs);
            snprintf(sk, sizeof sk, "%s.train%d", key, s);
            if (s == 0) {
                lcheck_forward_and_grads(sk, l, x, true, 1e-5, 1e-5, 3e-5, 1e-5);
            } else {
                snprintf(k, sizeof k, "%s.y", sk);
                lcheck_ref_check(k, gt_layer_call(l, x, true), 1e-5, 1e-5);
            }
            snprintf(k, sizeof k, "%s.moving_mean%d", key, s);
            lcheck_ref_check(k, vars[nv - 2], 1e-6, 1e-6);
            snprintf(k, sizeof k, "%s.moving_variance%d", key, s);
            lcheck_ref_check(k, vars[nv - 1], 1e-6, 1e-6);
        }
        gt_scope_end();
        gt_layer_free(l);
    }
}

/* Same tolerances as BatchNormalization (means over <= 6 values). */
static void ln_keras(void) {
    static const char *cases[] = {"last", "flat", "axis1", "noscale"};
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        char key[128], k[160];
        snprintf(key, sizeof key, "ln.%s", cases[ci]);
        snprintf(k, sizeof k, "%s.cfg", key);
        gt_layer_normalization_desc d = {.axis = (int)lcheck_cfg(k, 0),
                                         .epsilon = lcheck_cfg(k, 1),
                                         .no_center = lcheck_cfg(k, 2) == 0,
                                         .no_scale = lcheck_cfg(k, 3) == 0};
        gt_layer *l = gt_layer_normalization(&d);
        GTT_OK(l != NULL);
        gt_scope_begin();
        int64_t xs[GT_MAX_RANK];
        snprintf(k, sizeof k, "%s.xshape", key);
        int xr = lcheck_ref_shape(k, xs);
        GTT_OK(gt_layer_build(l, xr, xs));
        gt_tensor *vars[2];
        int nv = gt_layer_variables(l, vars, 2);
        snprintf(k, sizeof k, "%s.weights", key);
        lcheck_set_vars(vars, nv, k);
        snprintf(k, sizeof k, "%s.x", key);
        lcheck_forward_and_grads(key, l, nnref_tensor(k, GT_F32, xr, xs), false, 1e-5, 1e-5, 3e-5,
                                 1e-5);
        gt_scope_end();
        gt_layer_free(l);
    }
}

/* Gathering is exact; the table's gradient adds up to 4 w values per row (rounding only). */
static void embedding_keras(void) {
    gt_scope_begin();
    gt_layer *l = gt_embedding(&(gt_embedding_desc){.input_dim = 10, .output_dim = 5});
    gt_tensor *ids = gt_cast(nnref_tensor("emb.ids", GT_F64, GT_SHAPE(3, 4)), GT_I32);
    GTT_OK(gt_layer_build(l, GT_SHAPE(3, 4)));
    gt_tensor *table;
    GTT_CHECK(gt_layer_variables(l, &table, 1) == 1, "one variable");
    GTT_CHECK(strcmp(gt_variable_name(table), "embeddings") == 0, "name %s",
              gt_variable_name(table));
    lcheck_set_var(table, "emb.table");
    lcheck_forward_and_grads("emb.int", l, ids, false, 0, 0, 1e-7, 1e-6);
    gt_tensor *fids = nnref_tensor("emb.fids", GT_F32, GT_SHAPE(2, 4));
    lcheck_ref_check("emb.float.y", gt_layer_call(l, fids, false), 0, 0);
    /* int64 ids too, and the layer keeps its float32 table */
    gt_tensor *y64 = gt_layer_call(l, gt_cast(ids, GT_I64), false);
    lcheck_ref_check("emb.int.y", y64, 0, 0);
    GTT_CHECK(gt_tensor_dtype(y64) == GT_F32, "float32 output");
    gt_layer_free(l);
    gt_scope_end();
}

/* ---- Conv1D and 1-D pooling against Keras ------------------------------------------------- */

/* Same tolerances as Conv2D: each output sums K <= 3*4 = 12 products of the same sizes, the
 * kernel gradient up to 2*9 = 18 positions (observed <= 1e-6). */
static void conv1d_keras(void) {
    static const char *cases[] = {"valid", "same_strided", "causal_dilated", "causal_groups"};
    static const gt_padding pads[] = {GT_PADDING_VALID, GT_PADDING_SAME, GT_PADDING_CAUSAL};
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        char key[128], k[160];
        snprintf(key, sizeof key, "conv1d.%s", cases[ci]);
        snprintf(k, sizeof k, "%s.cfg", key);
        gt_conv1d_layer_desc d = {
            .filters = (int64_t)lcheck_cfg(k, 0),
            .kernel_size = (int64_t)lcheck_cfg(k, 1),
            .strides = (int64_t)lcheck_cfg(k, 2),
            .dilation_rate = (int64_t)lcheck_cfg(k, 3),
            .groups = (int64_t)lcheck_cfg(k, 4),
            .padding = pads[(int)lcheck_cfg(k, 5)],
            .no_bias = lcheck_cfg(k, 6) == 0,
            .activation = act_of((int)lcheck_cfg(k, 7)),
        };
        conv_case(key, gt_conv1d_layer(&d), d.no_bias, gt_conv1d_layer_kernel,
                  gt_conv1d_layer_bias);
    }
}

/* As the 2-D pools: max pooling moves values (exact); averages divide sums of <= 5 values
 * (1e-6, a few ulps), and the global maximum's gradient moves w (exact). */
static void pool1d_keras(void) {
    static const char *cases[] = {"max_default", "max_same_s1",  "avg_default", "avg_same_s2",
                                  "gap",         "gap_keepdims", "gmp",         "gmp_keepdims"};
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        char key[128], k[160];
        snprintf(key, sizeof key, "pool1d.%s", cases[ci]);
        snprintf(k, sizeof k, "%s.cfg", key);
        int kind = (int)lcheck_cfg(k, 0);
        gt_pooling1d_desc d = {.pool_size = (int64_t)lcheck_cfg(k, 1),
                               .strides = (int64_t)lcheck_cfg(k, 2),
                               .padding =
                                   lcheck_cfg(k, 3) != 0 ? GT_PADDING_SAME : GT_PADDING_VALID};
        gt_global_pooling1d_desc g = {.keepdims = lcheck_cfg(k, 4) != 0};
        bool defaults = strstr(cases[ci], "default") != NULL;
        gt_layer *l = kind == 0   ? gt_max_pooling1d(defaults ? NULL : &d)
                      : kind == 1 ? gt_average_pooling1d(&d)
                      : kind == 2 ? gt_global_average_pooling1d(&g)
                                  : gt_global_max_pooling1d(&g);
        GTT_OK(l != NULL);
        gt_scope_begin();
        gt_tensor *x = case_input(key);
        double tol = kind == 0 || kind == 3 ? 0 : 1e-6;
        lcheck_forward_and_grads(key, l, x, false, tol, tol, tol, tol);
        gt_scope_end();
        gt_layer_free(l);
    }
}

/* ---- reshaping layers against Keras ------------------------------------------------------- */

/* The layer of a `shape.<case>` record, made from the case's argument (<case>.arg). */
static gt_layer *shape_layer_of(const char *name, const char *key) {
    char k[160];
    snprintf(k, sizeof k, "%s.arg", key);
    int64_t n = 0;
    const double *a = nnref_get(k, &n);
    int64_t v[GT_MAX_RANK] = {0};
    int dims[GT_MAX_RANK] = {0};
    for (int64_t i = 0; i < n && i < GT_MAX_RANK; i++) {
        v[i] = (int64_t)a[i];
        dims[i] = (int)a[i];
    }
    if (strncmp(name, "reshape", 7) == 0)
        return gt_reshape_layer((int)n, v, NULL);
    if (strncmp(name, "permute", 7) == 0)
        return gt_permute((int)n, dims, NULL);
    if (strcmp(name, "repeat_vector") == 0)
        return gt_repeat_vector(v[0], NULL);
    if (strncmp(name, "zero_padding", 12) == 0)
        return gt_zero_padding2d(
            n ? &(gt_zero_padding2d_desc){.padding = {{v[0], v[1]}, {v[2], v[3]}}} : NULL);
    if (strncmp(name, "cropping", 8) == 0)
        return gt_cropping2d(&(gt_cropping2d_desc){.cropping = {{v[0], v[1]}, {v[2], v[3]}}});
    return gt_up_sampling2d(n ? &(gt_up_sampling2d_desc){.size = {v[0], v[1]}} : NULL);
}

/* The outputs move values: exact. The gradients are w moved, or (RepeatVector, UpSampling2D)
 * sums of <= 3 copies of w, whose order may differ from TF's by one rounding: 1e-6. */
static void shape_keras(void) {
    static const char *cases[] = {
        "reshape",      "reshape_infer",   "reshape_flat",         "permute",
        "permute_swap", "repeat_vector",   "zero_padding_default", "zero_padding",
        "cropping",     "cropping_bottom", "up_sampling_default",  "up_sampling"};
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        char key[128];
        snprintf(key, sizeof key, "shape.%s", cases[ci]);
        gt_layer *l = shape_layer_of(cases[ci], key);
        GTT_CHECK(l != NULL, "%s: %s", key, gt_error() ? gt_error() : "");
        if (!l)
            continue;
        gt_scope_begin();
        lcheck_forward_and_grads(key, l, case_input(key), false, 0, 0, 1e-6, 1e-6);
        gt_scope_end();
        gt_layer_free(l);
    }
}

/* ---- summary ------------------------------------------------------------------------------ */

/* A model built with batch -1 (Keras' None) shows None as its batch axis, as a Keras model
 * started from keras.Input((784,)) does; calling it afterwards keeps that. */
static void summary_none(void) {
    gt_model *m = gt_sequential(NULL);
    gt_sequential_add(m, gt_dense(&(gt_dense_desc){.units = 16, .activation = GT_ACT_RELU}));
    gt_sequential_add(m, gt_dense(&(gt_dense_desc){.units = 10}));
    GTT_OK(gt_model_build(m, GT_SHAPE(-1, 784)));
    char got[1 << 14] = "";
    FILE *f = tmpfile();
    gt_model_summary(m, f, 80);
    rewind(f);
    got[fread(got, 1, sizeof got - 1, f)] = 0;
    fclose(f);
    GTT_CHECK(strstr(got, "(None, 16)") && strstr(got, "(None, 10)") && strstr(got, "12,730"),
              "summary of a model built with batch None:\n%s", got);
    gt_model_free(m);
}

static void summaries(void) {
    summary_none();
    gt_reset_uids();
    gt_model *cnn = gt_sequential(NULL);
    gt_sequential_add(cnn, gt_conv2d_layer(&(gt_conv2d_layer_desc){
                               .filters = 8, .kernel_size = {3}, .activation = GT_ACT_RELU}));
    gt_sequential_add(cnn, gt_batch_normalization(NULL));
    gt_sequential_add(cnn, gt_max_pooling2d(NULL));
    gt_sequential_add(cnn, gt_conv2d_layer(&(gt_conv2d_layer_desc){
                               .filters = 16, .kernel_size = {3}, .padding = GT_PADDING_SAME,
                               .groups = 2}));
    gt_sequential_add(cnn, gt_layer_normalization(NULL));
    gt_sequential_add(cnn, gt_average_pooling2d(&(gt_pooling2d_desc){.pool_size = {2}}));
    gt_sequential_add(cnn, gt_dropout(&(gt_dropout_desc){.rate = 0.25}));
    gt_sequential_add(cnn, gt_flatten(NULL));
    gt_sequential_add(cnn, gt_dense(&(gt_dense_desc){.units = 10}));
    gt_scope_begin();
    GTT_OK(gt_model_call(cnn, gt_zeros(GT_F32, GT_SHAPE(2, 28, 28, 1)), false) != NULL);
    gt_scope_end();
    lcheck_summary(cnn, 88, REF_FILE, "cnn88");
    lcheck_summary(cnn, 100, REF_FILE, "cnn100");
    /* Keras' paths and order: trainable weights layer by layer, then BN's moving statistics */
    gt_tensor *v[32];
    int n = gt_layer_variables(gt_model_layer(cnn), v, 32);
    GTT_CHECK(n == 12, "%d variables", n);
    static const char *paths[] = {
        "sequential/conv2d/kernel",
        "sequential/conv2d/bias",
        "sequential/batch_normalization/gamma",
        "sequential/batch_normalization/beta",
        "sequential/batch_normalization/moving_mean",
        "sequential/batch_normalization/moving_variance",
        "sequential/conv2d_1/kernel",
        "sequential/conv2d_1/bias",
        "sequential/layer_normalization/gamma",
        "sequential/layer_normalization/beta",
        "sequential/dense/kernel",
        "sequential/dense/bias",
    };
    for (int i = 0; i < n && i < 12; i++)
        GTT_CHECK(strcmp(gt_variable_path(v[i]), paths[i]) == 0, "path %s, want %s",
                  gt_variable_path(v[i]), paths[i]);
    n = gt_layer_non_trainable_variables(gt_model_layer(cnn), v, 32);
    GTT_CHECK(n == 2 && strstr(gt_variable_path(v[0]), "moving_mean") &&
                  strstr(gt_variable_path(v[1]), "moving_variance"),
              "non-trainable: the moving statistics");
    gt_model_free(cnn);

    gt_reset_uids();
    gt_model *gap = gt_sequential(NULL);
    gt_sequential_add(gap, gt_conv2d_layer(&(gt_conv2d_layer_desc){.filters = 4,
                                                                   .kernel_size = {3, 5},
                                                                   .strides = {2},
                                                                   .padding = GT_PADDING_SAME,
                                                                   .no_bias = true}));
    gt_sequential_add(gap, gt_batch_normalization(&(gt_batch_normalization_desc){.no_center = true}));
    gt_sequential_add(gap, gt_global_average_pooling2d(NULL));
    gt_sequential_add(gap, gt_dense(&(gt_dense_desc){.units = 3}));
    gt_scope_begin();
    GTT_OK(gt_model_call(gap, gt_zeros(GT_F32, GT_SHAPE(5, 9, 9, 3)), false) != NULL);
    gt_scope_end();
    lcheck_summary(gap, 88, REF_FILE, "gap88");
    gt_model_free(gap);

    gt_reset_uids();
    gt_model *emb = gt_sequential(NULL);
    gt_sequential_add(emb, gt_embedding(&(gt_embedding_desc){.input_dim = 100, .output_dim = 8}));
    gt_sequential_add(emb, gt_flatten(NULL));
    gt_sequential_add(emb, gt_dense(&(gt_dense_desc){.units = 1}));
    gt_scope_begin();
    GTT_OK(gt_model_call(emb, gt_zeros(GT_I32, GT_SHAPE(2, 5)), false) != NULL);
    gt_scope_end();
    lcheck_summary(emb, 88, REF_FILE, "emb88");
    gt_model_free(emb);
}

/* ---- Dropout ------------------------------------------------------------------------------ */

static void dropout_behaviour(void) {
    gt_scope_begin();
    const int64_t n = 200000;
    gt_tensor *x = gt_ones(GT_F32, GT_SHAPE(n));
    gt_layer *d = gt_dropout(&(gt_dropout_desc){.rate = 0.3, .seed = 42});
    GTT_CHECK(gt_layer_call(d, x, false) == x, "training=false returns the input");
    gt_tape *tape = gt_tape_begin(NULL);
    gt_tape_watch(tape, x);
    gt_tensor *y = gt_layer_call(d, x, true);
    gt_tape_end(tape);
    gt_tensor *g = gt_gradient(tape, y, x);
    gt_tape_free(tape);
    /* kept values are exactly float32(1 / 0.7) (x * scale, as TF); the fraction dropped is
     * 0.3 +- 5 standard deviations (sqrt(0.21 / n) = 0.001) */
    float scale = (float)(1.0 / 0.7);
    int64_t zeros = 0, bad = 0;
    const float *yv = gt_tensor_data(y);
    for (int64_t i = 0; i < n; i++) {
        if (yv[i] == 0)
            zeros++;
        else if (yv[i] != scale)
            bad++;
    }
    GTT_CHECK(bad == 0, "%lld kept values are not 1/(1-rate)", (long long)bad);
    GTT_CLOSE((double)zeros / (double)n, 0.3, 0.005, 0);
    GTT_CLOSE(gt_item(gt_reduce_mean(y, GT_ALL, false)), 1.0, 0.01, 0); /* inverted scaling */
    /* the gradient is the mask times the scale: for x = 1 it equals y */
    GTT_CHECK(g && gt_tensor_equal(g, y), "gradient = mask * scale");
    /* a new mask every call; the same masks from the same seed */
    gt_tensor *y2 = gt_layer_call(d, x, true);
    GTT_CHECK(!gt_tensor_equal(y, y2), "each call draws a new mask");
    gt_layer *d2 = gt_dropout(&(gt_dropout_desc){.rate = 0.3, .seed = 42});
    GTT_CHECK(gt_tensor_equal(gt_layer_call(d2, x, true), y) &&
                  gt_tensor_equal(gt_layer_call(d2, x, true), y2),
              "same seed, same masks");
    /* seed 0 draws from the global generator: reproducible under gt_set_seed */
    gt_set_seed(7);
    gt_layer *a = gt_dropout(&(gt_dropout_desc){.rate = 0.5});
    gt_set_seed(7);
    gt_layer *b = gt_dropout(&(gt_dropout_desc){.rate = 0.5});
    GTT_CHECK(gt_tensor_equal(gt_layer_call(a, x, true), gt_layer_call(b, x, true)),
              "gt_set_seed makes unseeded layers reproducible");
    /* rate 0: identity even when training; rate 1: zeros without a gradient (tf.zeros_like) */
    gt_layer *r0 = gt_dropout(&(gt_dropout_desc){.rate = GT_ZERO});
    GTT_CHECK(gt_layer_call(r0, x, true) == x, "rate 0 is the identity");
    gt_layer *r1 = gt_dropout(&(gt_dropout_desc){.rate = 1});
    tape = gt_tape_begin(NULL);
    gt_tape_watch(tape, x);
    gt_tensor *z = gt_layer_call(r1, x, true);
    gt_tape_end(tape);
    GTT_CHECK(z && gt_item(gt_reduce_max(gt_abs(z), GT_ALL, false)) == 0, "rate 1 gives zeros");
    GTT_CHECK(gt_gradient(tape, z, x) == NULL, "rate 1: no gradient, as TF");
    gt_error_clear();
    gt_tape_free(tape);
    /* float64 inputs: the same mask pattern rules, in float64 */
    gt_layer *d64 = gt_dropout(&(gt_dropout_desc){.rate = 0.25, .seed = 3});
    gt_tensor *y64 = gt_layer_call(d64, gt_ones(GT_F64, GT_SHAPE(1000)), true);
    GTT_CHECK(y64 && gt_tensor_dtype(y64) == GT_F64, "float64 dropout");
    /* Sequential passes training down */
    gt_model *m = gt_sequential(NULL);
    gt_sequential_add(m, gt_dropout(&(gt_dropout_desc){.rate = 0.5, .seed = 9}));
    gt_tensor *small = gt_ones(GT_F32, GT_SHAPE(64));
    GTT_CHECK(gt_tensor_equal(gt_model_call(m, small, false), small), "model(x, training=False)");
    GTT_CHECK(gt_item(gt_reduce_min(gt_model_call(m, small, true), GT_ALL, false)) == 0,
              "model(x, training=True) drops");
    gt_model_free(m);
    gt_layer_free(d);
    gt_layer_free(d2);
    gt_layer_free(a);
    gt_layer_free(b);
    gt_layer_free(r0);
    gt_layer_free(r1);
    gt_layer_free(d64);
    gt_scope_end();
}

/* BatchNormalization: training vs inference, the trainable switch, Sequential. */
static void bn_behaviour(void) {
    gt_scope_begin();
    gt_reset_uids();
    gt_model *m = gt_sequential(NULL);
    gt_layer *bn = gt_batch_normalization(NULL);
    gt_sequential_add(m, bn);
    gt_tensor *x = gtt_randn(GT_SHAPE(8, 3), 2.0, 5.0, 11);
    gt_tensor *y = gt_model_call(m, x, false);
    gt_tensor *v[4];
    GTT_CHECK(gt_layer_variables(bn, v, 4) == 4, "4 variables");
    static const char *names[] = {"gamma", "beta", "moving_mean", "moving_variance"};
    for (int i = 0; i < 4; i++) {
        GTT_CHECK(strcmp(gt_variable_name(v[i]), names[i]) == 0, "variable %d is %s", i,
                  gt_variable_name(v[i]));
        GTT_CHECK(gt_variable_trainable(v[i]) == (i < 2), "%s trainable flag", names[i]);
    }
    /* inference with fresh statistics: x / sqrt(1 + 1e-3) */
    GTT_CLOSE(gt_tensor_get(y, 0), gt_tensor_get(x, 0) / sqrt(1.001), 1e-12, 1e-12);
    GTT_CHECK(gt_item(gt_reduce_max(gt_abs(v[2]), GT_ALL, false)) == 0, "inference leaves stats");
    /* training: batch statistics normalise, moving mean moves by 1% towards the batch mean */
    y = gt_model_call(m, x, true);
    double bm[3], bv[3];
    gt_tensor_to_f64(gt_reduce_mean(x, GT_AXES(0), false), bm, 3);
    gt_tensor *mean = gt_reduce_mean(x, GT_AXES(0), true);
    gt_tensor_to_f64(gt_reduce_mean(gt_square(gt_sub(x, mean)), GT_AXES(0), false), bv, 3);
    for (int c = 0; c < 3; c++) {
        GTT_CLOSE(gt_tensor_get(v[2], c), bm[c] * (1 - 0.99), 1e-15, 1e-12);
        GTT_CLOSE(gt_tensor_get(v[3], c), 0.99 + bv[c] * (1 - 0.99), 1e-15, 1e-12);
        /* the output is normalised with the batch statistics: column mean 0, variance
         * var / (var + eps) */
        gt_tensor *col = gt_slice(y, (const int64_t[]){0, c}, (const int64_t[]){8, 1});
        GTT_CLOSE(gt_item(gt_reduce_mean(col, GT_ALL, false)), 0, 1e-12, 0);
        GTT_CLOSE(gt_item(gt_reduce_mean(gt_square(col), GT_ALL, false)), bv[c] / (bv[c] + 1e-3),
                  1e-12, 1e-12);
    }
    /* trainable = False: inference mode even with training = True, statistics frozen */
    gt_tensor *before = gt_variable_value(v[2]);
    gt_layer_set_trainable(gt_model_layer(m), false);
    GTT_CHECK(gt_layer_trainable_variables(gt_model_layer(m), NULL, 0) == 0, "no trainable vars");
    GTT_CHECK(gt_layer_non_trainable_variables(gt_model_layer(m), NULL, 0) == 4, "4 frozen vars");
    gt_tensor *yt = gt_model_call(m, x, true), *yi = gt_model_call(m, x, false);
    GTT_CHECK(yt && yi && gt_tensor_equal(yt, yi), "frozen: training=True is inference");
    GTT_CHECK(gt_tensor_equal(before, gt_variable_value(v[2])), "frozen: statistics unchanged");
    /* the moving statistics are never on a tape: only gamma and beta get gradients */
    gt_layer_set_trainable(gt_model_layer(m), true);
    gt_tape *tape = gt_tape_begin(NULL);
    gt_tensor *loss = gt_reduce_sum(gt_square(gt_model_call(m, x, true)), GT_ALL, false);
    gt_tape_end(tape);
    int64_t recorded = gt_tape_size(tape);
    gt_tensor *g[4] = {0};
    GTT_OK(gt_tape_gradient(tape, 1, (const gt_tensor *const[]){loss}, NULL, 4,
                            (const gt_tensor *const *)v, GT_UNCONNECTED_NONE, g));
    GTT_CHECK(g[0] && g[1] && !g[2] && !g[3], "gradients for gamma, beta only");
    GTT_CHECK(recorded < 20, "the statistics update is not recorded (%lld ops)", (long long)recorded);
    gt_tape_free(tape);
    gt_scope_end();
    gt_model_free(m);
}

/* ---- gradient checks in float64 (input and weights) ----------------------------------------- */

/* Dropout in training mode: a fresh layer with a fixed seed per call, so every evaluation of
 * f uses the same mask. */
static gt_tensor *dropout_fn(gt_tensor *const *x, void *user) {
    (void)user;
    gt_layer *d = gt_dropout(&(gt_dropout_desc){.rate = 0.4, .seed = 5, .name = "d"});
    gt_tensor *y = gt_layer_call(d, x[0], true);
    gt_layer_free(d);
    return y;
}

static void gradchecks(void) {
    gt_scope_begin();
    gt_layer *l;
    l = gt_conv2d_layer(&(gt_conv2d_layer_desc){.filters = 3,
                                                .kernel_size = {3, 2},
                                                .strides = {2, 1},
                                                .padding = GT_PADDING_SAME,
                                                .activation = GT_ACT_TANH});
    lcheck_layer_gradcheck("Conv2D same strided tanh", l, gtt_randn(GT_SHAPE(2, 5, 4, 2), 1, 0, 1),
                           false, false, NULL);
    gt_layer_free(l);
    l = gt_conv2d_layer(&(gt_conv2d_layer_desc){.filters = 4, .kernel_size = {2}, .groups = 2});
    lcheck_layer_gradcheck("Conv2D groups", l, gtt_randn(GT_SHAPE(1, 4, 4, 4), 1, 0, 2), false,
                           false, NULL);
    gt_layer_free(l);
    l = gt_conv2d_layer(&(gt_conv2d_layer_desc){.filters = 2,
                                                .kernel_size = {2},
                                                .dilation_rate = {2, 1},
                                                .padding = GT_PADDING_SAME,
                                                .no_bias = true});
    lcheck_layer_gradcheck("Conv2D dilated", l, gtt_randn(GT_SHAPE(1, 5, 4, 1), 1, 0, 3), false,
                           false, NULL);
    gt_layer_free(l);
    l = gt_max_pooling2d(&(gt_pooling2d_desc){.pool_size = {3}, .strides = {2},
                                               .padding = GT_PADDING_SAME});
    lcheck_layer_gradcheck("MaxPooling2D", l, gtt_randn(GT_SHAPE(2, 5, 5, 2), 1, 0, 4), false,
                           false, NULL);
    gt_layer_free(l);
    l = gt_average_pooling2d(&(gt_pooling2d_desc){.pool_size = {3, 2}, .strides = {2},
                                                   .padding = GT_PADDING_SAME});
    lcheck_layer_gradcheck("AveragePooling2D", l, gtt_randn(GT_SHAPE(2, 5, 5, 2), 1, 0, 5), false,
                           false, NULL);
    gt_layer_free(l);
    l = gt_global_average_pooling2d(NULL);
    lcheck_layer_gradcheck("GlobalAveragePooling2D", l, gtt_randn(GT_SHAPE(2, 3, 4, 2), 1, 0, 6),
                           false, false, NULL);
    gt_layer_free(l);
    l = gt_flatten(NULL);
    lcheck_layer_gradcheck("Flatten", l, gtt_randn(GT_SHAPE(2, 3, 2, 2), 1, 0, 7), false, false,
                           NULL);
    gt_layer_free(l);
    gtt_gradcheck("Dropout training", dropout_fn, NULL, 1,
                  (gt_tensor *const[]){gtt_randn(GT_SHAPE(4, 6), 1, 0, 8)}, NULL);
    l = gt_dropout(&(gt_dropout_desc){.rate = 0.4, .seed = 5});
    lcheck_layer_gradcheck("Dropout inference", l, gtt_randn(GT_SHAPE(4, 6), 1, 0, 8), false, false,
                           NULL);
    gt_layer_free(l);
    /* BatchNormalization: training (x, gamma, beta; second order through the batch
     * statistics), and inference (also w.r.t. the moving statistics) */
    l = gt_batch_normalization(NULL);
    lcheck_layer_gradcheck("BatchNormalization training", l,
                           gtt_randn(GT_SHAPE(3, 2, 2, 3), 1.5, 0.5, 9), true, false, NULL);
    gt_layer_free(l);
    l = gt_batch_normalization(&(gt_batch_normalization_desc){.axis = 1, .no_center = true});
    lcheck_layer_gradcheck("BatchNormalization axis 1 training", l,
                           gtt_randn(GT_SHAPE(4, 3, 2), 1, 0, 10), true, false, NULL);
    gt_layer_free(l);
    l = gt_batch_normalization(NULL);
    lcheck_layer_gradcheck("BatchNormalization inference", l, gtt_randn(GT_SHAPE(5, 3), 1, 0, 11),
                           false, true, NULL);
    gt_layer_free(l);
    l = gt_layer_normalization(NULL);
    lcheck_layer_gradcheck("LayerNormalization", l, gtt_randn(GT_SHAPE(3, 5), 1.5, 0.5, 12), false,
                           false, NULL);
    gt_layer_free(l);
    l = gt_layer_normalization(&(gt_layer_normalization_desc){.axis = 1, .no_scale = true});
    lcheck_layer_gradcheck("LayerNormalization axis 1", l, gtt_randn(GT_SHAPE(2, 4, 3), 1, 0, 13),
                           false, false, NULL);
    gt_layer_free(l);
    /* Embedding: the ids are integers (not differentiated); the table is float64 */
    l = gt_embedding(&(gt_embedding_desc){.input_dim = 6, .output_dim = 3, .dtype = GT_F64});
    gt_tensor *ids = gt_tensor_new(GT_I32, GT_SHAPE(2, 3), (const int32_t[]){0, 5, 2, 2, 2, 4});
    lcheck_layer_gradcheck("Embedding", l, ids, false, false, NULL);
    gt_layer_free(l);
    gt_scope_end();
}

/* ---- errors ------------------------------------------------------------------------------- */

static void errors(void) {
    gt_scope_begin();
    gt_reset_uids();
    gt_tensor *img = gt_zeros(GT_F32, GT_SHAPE(2, 5, 5, 3));
    gt_layer *c = gt_conv2d_layer(&(gt_conv2d_layer_desc){.filters = 4, .kernel_size = {3}});
    GTT_CHECK(gt_layer_call(c, gt_zeros(GT_F32, GT_SHAPE(2, 5, 5)), false) == NULL, "rank 3");
    GTT_ERROR_HAS("Input 0 of layer \"conv2d\" is incompatible with the layer: expected ndim=4, "
                  "found ndim=3. Full shape received: (2, 5, 5)");
    GTT_CHECK(!gt_layer_built(c), "not built after a failed build");
    GTT_OK(gt_layer_call(c, img, false) != NULL);
    GTT_CHECK(gt_layer_call(c, gt_zeros(GT_F32, GT_SHAPE(2, 5, 5, 2)), false) == NULL, "channels");
    GTT_ERROR_HAS("expected axis -1 of input shape to have value 3, but received input with shape "
                  "(2, 5, 5, 2)");
    gt_layer_free(c);
    c = gt_conv2d_layer(&(gt_conv2d_layer_desc){.filters = 4, .kernel_size = {3}, .groups = 2});
    GTT_CHECK(gt_layer_call(c, img, false) == NULL, "groups");
    GTT_ERROR_HAS("The number of input channels must be evenly divisible by the number of groups. "
                  "Received groups=2, but the input has 3 channels");
    gt_layer_free(c);
    c = gt_conv2d_layer(&(gt_conv2d_layer_desc){.filters = 4, .kernel_size = {7}});
    GTT_CHECK(gt_layer_call(c, img, false) == NULL, "too small");
    GTT_ERROR_HAS("Computed output size would be zero or negative");
    gt_layer_free(c);
    GTT_CHECK(!gt_conv2d_layer(&(gt_conv2d_layer_desc){.kernel_size = {3}}), "filters");
    GTT_ERROR_HAS("Invalid value for argument `filters`. Expected a strictly positive value. "
                  "Received filters=0.");
    GTT_CHECK(!gt_conv2d_layer(&(gt_conv2d_layer_desc){.filters = 3}), "kernel_size");
    GTT_ERROR_HAS("`kernel_size` is required");
    GTT_CHECK(!gt_conv2d_layer(&(gt_conv2d_layer_desc){.filters = 3, .kernel_size = {3, -1}}),
              "negative kernel");
    GTT_ERROR_HAS("`kernel_size` must contain positive integers");
    GTT_CHECK(!gt_conv2d_layer(&(gt_conv2d_layer_desc){.filters = 3, .kernel_size = {3},
                                                       .groups = 2}),
              "filters mod groups");
    GTT_ERROR_HAS("The number of filters must be evenly divisible by the number of groups");
    GTT_CHECK(!gt_conv2d_layer(&(gt_conv2d_layer_desc){.filters = 3, .kernel_size = {3},
                                                       .strides = {2}, .dilation_rate = {2}}),
              "strides and dilation");
    GTT_ERROR_HAS("`strides > 1` not supported in conjunction with `dilation_rate > 1`");
    GTT_CHECK(!gt_conv2d_layer(&(gt_conv2d_layer_desc){.filters = 3, .kernel_size = {3},
                                                       .padding = (gt_padding)7}),
              "padding");
    GTT_ERROR_HAS("`padding` must be GT_PADDING_VALID or GT_PADDING_SAME");

    gt_layer *p = gt_max_pooling2d(NULL);
    GTT_CHECK(gt_layer_call(p, gt_zeros(GT_F32, GT_SHAPE(4, 4)), false) == NULL, "pool rank");
    GTT_ERROR_HAS("of layer \"max_pooling2d\" is incompatible with the layer: expected ndim=4, "
                  "found ndim=2");
    gt_layer_free(p);
    GTT_CHECK(!gt_average_pooling2d(&(gt_pooling2d_desc){.pool_size = {-2}}), "pool size");
    GTT_ERROR_HAS("AveragePooling2D: the argument `pool_size` must contain positive integers");
    p = gt_global_average_pooling2d(NULL);
    GTT_CHECK(gt_layer_call(p, gt_zeros(GT_F32, GT_SHAPE(2, 3, 3)), false) == NULL, "gap rank");
    GTT_ERROR_HAS("expected ndim=4, found ndim=3");
    gt_layer_free(p);
    p = gt_flatten(NULL);
    GTT_CHECK(gt_layer_call(p, gt_scalar(1), false) == NULL, "flatten scalar");
    GTT_ERROR_HAS("Input 0 of layer \"flatten\" is incompatible with the layer: expected "
                  "min_ndim=1, found ndim=0. Full shape received: ()");
    gt_layer_free(p);

    GTT_CHECK(!gt_dropout(&(gt_dropout_desc){.rate = 1.5}), "rate 1.5");
    GTT_ERROR_HAS("Invalid value received for argument `rate`. Expected a float value between 0 "
                  "and 1. Received: rate=1.5");
    GTT_CHECK(!gt_dropout(&(gt_dropout_desc){.rate = -0.1}), "rate -0.1");
    GTT_ERROR_HAS("Received: rate=-0.1");
    GTT_CHECK(!gt_dropout(&(gt_dropout_desc){.rate = NAN}), "rate NaN");
    GTT_ERROR_HAS("Expected a float value between 0 and 1");
    p = gt_dropout(&(gt_dropout_desc){.rate = 0.5, .seed = 1});
    GTT_CHECK(gt_layer_call(p, gt_zeros(GT_I32, GT_SHAPE(3)), true) != NULL,
              "integer input: cast to the layer's float dtype, as Keras");
    gt_layer_free(p);

    GTT_CHECK(!gt_batch_normalization(&(gt_batch_normalization_desc){.momentum = 1.5}), "momentum");
    GTT_ERROR_HAS("BatchNormalization: `momentum` must be in [0, 1]");
    GTT_CHECK(!gt_batch_normalization(&(gt_batch_normalization_desc){.momentum = -0.5}), "momentum");
    GTT_ERROR_HAS("Received: momentum=-0.5");
    GTT_CHECK(!gt_batch_normalization(&(gt_batch_normalization_desc){.epsilon = -1e-3}), "epsilon");
    GTT_ERROR_HAS("`epsilon` must be a finite number >= 0");
    gt_layer *bn = gt_batch_normalization(NULL);
    GTT_OK(gt_layer_call(bn, gt_zeros(GT_F32, GT_SHAPE(2, 3)), true) != NULL);
    GTT_CHECK(gt_layer_call(bn, gt_zeros(GT_F32, GT_SHAPE(2, 4)), true) == NULL, "bn channels");
    GTT_ERROR_HAS("Input 0 of layer \"batch_normalization\" is incompatible with the layer: "
                  "expected axis -1 of input shape to have value 3, but received input with shape "
                  "(2, 4)");
    GTT_CHECK(gt_layer_call(bn, gt_zeros(GT_F32, GT_SHAPE(2, 2, 3)), true) == NULL, "bn rank");
    GTT_ERROR_HAS("expected ndim=2, found ndim=3");
    gt_layer_free(bn);
    bn = gt_batch_normalization(&(gt_batch_normalization_desc){.axis = 3});
    GTT_CHECK(gt_layer_call(bn, gt_zeros(GT_F32, GT_SHAPE(2, 3)), true) == NULL, "bn axis");
    GTT_ERROR_HAS("BatchNormalization 'batch_normalization_1': axis 3 is out of range for an input "
                  "of rank 2");
    gt_layer_free(bn);
    /* a failed constructor does not use up a name: the next layer is batch_normalization_2 */
    bn = gt_batch_normalization(NULL);
    GTT_CHECK(strcmp(gt_layer_name(bn), "batch_normalization_2") == 0, "name %s",
              gt_layer_name(bn));
    gt_layer_free(bn);

    gt_layer *ln = gt_layer_normalization(NULL);
    GTT_CHECK(gt_layer_call(ln, gt_scalar(2), false) == NULL, "ln scalar");
    GTT_ERROR_HAS("axis -1 is out of range for an input of rank 0");
    GTT_OK(gt_layer_call(ln, gt_zeros(GT_F32, GT_SHAPE(2, 3)), false) != NULL);
    GTT_CHECK(gt_layer_call(ln, gt_zeros(GT_F32, GT_SHAPE(2, 5)), false) == NULL, "ln channels");
    GTT_ERROR_HAS("expected axis -1 of input shape to have value 3");
    gt_layer_free(ln);
    GTT_CHECK(!gt_layer_normalization(&(gt_layer_normalization_desc){.epsilon = NAN}), "ln eps");
    GTT_ERROR_HAS("LayerNormalization: `epsilon` must be a finite number >= 0");

    GTT_CHECK(!gt_embedding(&(gt_embedding_desc){.output_dim = 3}), "input_dim");
    GTT_ERROR_HAS("`input_dim` must be a positive integer. Received: input_dim=0");
    GTT_CHECK(!gt_embedding(&(gt_embedding_desc){.input_dim = 3}), "output_dim");
    GTT_ERROR_HAS("`output_dim` must be a positive integer. Received: output_dim=0");
    GTT_CHECK(!gt_embedding(&(gt_embedding_desc){.input_dim = 3, .output_dim = 2,
                                                 .dtype = GT_I32}),
              "dtype");
    GTT_ERROR_HAS("Embedding: dtype must be float32 or float64, got int32");
    gt_layer *e = gt_embedding(&(gt_embedding_desc){.input_dim = 5, .output_dim = 3});
    GTT_CHECK(gt_layer_call(e, gt_tensor_new(GT_I32, GT_SHAPE(1, 1), (const int32_t[]){7}),
                            false) == NULL,
              "id out of range");
    GTT_ERROR_HAS("7");
    gt_layer_free(e);

    /* names: Keras' snake case, uniquified per prefix */
    gt_reset_uids();
    gt_layer *ls[6] = {
        gt_conv2d_layer(&(gt_conv2d_layer_desc){.filters = 1, .kernel_size = {1}}),
        gt_conv2d_layer(&(gt_conv2d_layer_desc){.filters = 1, .kernel_size = {1}}),
        gt_max_pooling2d(NULL),
        gt_average_pooling2d(NULL),
        gt_global_average_pooling2d(NULL),
        gt_layer_normalization(NULL),
    };
    static const char *want[6] = {"conv2d", "conv2d_1", "max_pooling2d", "average_pooling2d",
                                  "global_average_pooling2d", "layer_normalization"};
    for (int i = 0; i < 6; i++) {
        GTT_CHECK(ls[i] && strcmp(gt_layer_name(ls[i]), want[i]) == 0, "name %s, want %s",
                  ls[i] ? gt_layer_name(ls[i]) : "NULL", want[i]);
        gt_layer_free(ls[i]);
    }
    GTT_CHECK(gt_ok(), "no stray error: %s", gt_error() ? gt_error() : "");
    gt_scope_end();
}

/* ---- sequence and reshaping layers: summaries, gradient checks, errors --------------------- */

static void seq_summaries(void) {
    gt_reset_uids();
    gt_model *seq = gt_sequential(NULL);
    gt_sequential_add(seq, gt_conv1d_layer(&(gt_conv1d_layer_desc){.filters = 8,
                                                                   .kernel_size = 3,
                                                                   .padding = GT_PADDING_CAUSAL,
                                                                   .activation = GT_ACT_RELU}));
    gt_sequential_add(seq, gt_max_pooling1d(NULL));
    gt_sequential_add(seq, gt_conv1d_layer(&(gt_conv1d_layer_desc){.filters = 16,
                                                                   .kernel_size = 3,
                                                                   .strides = 2,
                                                                   .padding = GT_PADDING_SAME,
                                                                   .groups = 2}));
    gt_sequential_add(seq, gt_average_pooling1d(
                               &(gt_pooling1d_desc){.pool_size = 2, .padding = GT_PADDING_SAME}));
    gt_sequential_add(seq,
                      gt_global_average_pooling1d(&(gt_global_pooling1d_desc){.keepdims = true}));
    gt_sequential_add(seq, gt_reshape_layer(GT_SHAPE(16), NULL));
    gt_sequential_add(seq, gt_repeat_vector(3, NULL));
    gt_sequential_add(seq, gt_permute(GT_AXES(2, 1), NULL));
    gt_sequential_add(seq, gt_global_max_pooling1d(NULL));
    gt_sequential_add(seq, gt_dense(&(gt_dense_desc){.units = 2}));
    gt_scope_begin();
    GTT_OK(gt_model_call(seq, gt_zeros(GT_F32, GT_SHAPE(2, 20, 4)), false) != NULL);
    gt_scope_end();
    lcheck_summary(seq, 88, REF_FILE, "seq88");
    /* checkpoint paths as Conv2D's */
    gt_tensor *v[8];
    int n = gt_layer_variables(gt_model_layer(seq), v, 8);
    static const char *paths[] = {"sequential/conv1d/kernel",   "sequential/conv1d/bias",
                                  "sequential/conv1d_1/kernel", "sequential/conv1d_1/bias",
                                  "sequential/dense/kernel",    "sequential/dense/bias"};
    GTT_CHECK(n == 6, "%d variables", n);
    for (int i = 0; i < n && i < 6; i++)
        GTT_CHECK(strcmp(gt_variable_path(v[i]), paths[i]) == 0, "path %s, want %s",
                  gt_variable_path(v[i]), paths[i]);
    GTT_CHECK(n > 2 && gt_tensor_rank(v[2]) == 3 && gt_tensor_dim(v[2], 0) == 3 &&
                  gt_tensor_dim(v[2], 1) == 4 && gt_tensor_dim(v[2], 2) == 16,
              "grouped Conv1D kernel (3, 4, 16)");
    gt_model_free(seq);

    gt_reset_uids();
    gt_model *img = gt_sequential(NULL);
    gt_sequential_add(img, gt_zero_padding2d(NULL));
    gt_sequential_add(img,
                      gt_conv2d_layer(&(gt_conv2d_layer_desc){.filters = 4, .kernel_size = {3}}));
    gt_sequential_add(img, gt_cropping2d(&(gt_cropping2d_desc){.cropping = {{1, 0}, {2, 1}}}));
    gt_sequential_add(img, gt_up_sampling2d(&(gt_up_sampling2d_desc){.size = {2, 3}}));
    gt_sequential_add(img, gt_reshape_layer(GT_SHAPE(-1, 4), NULL));
    gt_sequential_add(img, gt_conv1d_layer(&(gt_conv1d_layer_desc){
                               .filters = 2, .kernel_size = 5, .dilation_rate = 2}));
    gt_sequential_add(img, gt_flatten(NULL));
    gt_sequential_add(img, gt_dense(&(gt_dense_desc){.units = 1}));
    gt_scope_begin();
    GTT_OK(gt_model_call(img, gt_zeros(GT_F32, GT_SHAPE(2, 6, 5, 3)), false) != NULL);
    gt_scope_end();
    lcheck_summary(img, 88, REF_FILE, "img88");
    gt_model_free(img);
}

/* Float64 gradient checks, first and second order (the default of lcheck_layer_gradcheck),
 * w.r.t. the input and the weights. Max pooling inputs are random normals: ties (kinks) have
 * probability 0. */
static void seq_gradchecks(void) {
    gt_scope_begin();
    struct {
        const char *name;
        gt_layer *l;
        gt_tensor *x;
    } cases[] = {
        {"Conv1D causal dilated tanh",
         gt_conv1d_layer(&(gt_conv1d_layer_desc){.filters = 2,
                                                 .kernel_size = 3,
                                                 .dilation_rate = 2,
                                                 .padding = GT_PADDING_CAUSAL,
                                                 .activation = GT_ACT_TANH}),
         gtt_randn(GT_SHAPE(2, 6, 2), 1, 0, 21)},
        {"Conv1D same strided groups",
         gt_conv1d_layer(&(gt_conv1d_layer_desc){.filters = 4,
                                                 .kernel_size = 2,
                                                 .strides = 2,
                                                 .padding = GT_PADDING_SAME,
                                                 .groups = 2}),
         gtt_randn(GT_SHAPE(1, 5, 4), 1, 0, 22)},
        {"MaxPooling1D same",
         gt_max_pooling1d(
             &(gt_pooling1d_desc){.pool_size = 3, .strides = 2, .padding = GT_PADDING_SAME}),
         gtt_randn(GT_SHAPE(2, 5, 2), 1, 0, 23)},
        {"AveragePooling1D same",
         gt_average_pooling1d(
             &(gt_pooling1d_desc){.pool_size = 3, .strides = 2, .padding = GT_PADDING_SAME}),
         gtt_randn(GT_SHAPE(2, 5, 2), 1, 0, 24)},
        {"GlobalAveragePooling1D", gt_global_average_pooling1d(NULL),
         gtt_randn(GT_SHAPE(2, 4, 3), 1, 0, 25)},
        {"GlobalMaxPooling1D", gt_global_max_pooling1d(NULL),
         gtt_randn(GT_SHAPE(2, 4, 3), 1, 0, 26)},
        {"Reshape", gt_reshape_layer(GT_SHAPE(3, -1), NULL),
         gtt_randn(GT_SHAPE(2, 2, 3), 1, 0, 27)},
        {"Permute", gt_permute(GT_AXES(3, 1, 2), NULL), gtt_randn(GT_SHAPE(2, 2, 3, 2), 1, 0, 28)},
        {"RepeatVector", gt_repeat_vector(3, NULL), gtt_randn(GT_SHAPE(2, 3), 1, 0, 29)},
        {"ZeroPadding2D", gt_zero_padding2d(&(gt_zero_padding2d_desc){.padding = {{0, 1}, {2, 1}}}),
         gtt_randn(GT_SHAPE(1, 2, 3, 2), 1, 0, 30)},
        {"Cropping2D", gt_cropping2d(&(gt_cropping2d_desc){.cropping = {{1, 0}, {1, 1}}}),
         gtt_randn(GT_SHAPE(1, 3, 4, 2), 1, 0, 31)},
        {"UpSampling2D", gt_up_sampling2d(&(gt_up_sampling2d_desc){.size = {2, 3}}),
         gtt_randn(GT_SHAPE(1, 2, 2, 2), 1, 0, 32)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        GTT_CHECK(cases[i].l != NULL, "%s: %s", cases[i].name, gt_error() ? gt_error() : "");
        if (cases[i].l)
            lcheck_layer_gradcheck(cases[i].name, cases[i].l, cases[i].x, false, false, NULL);
        gt_layer_free(cases[i].l);
    }
    gt_scope_end();
}

static void seq_errors(void) {
    gt_scope_begin();
    gt_reset_uids();
    gt_tensor *seq = gt_zeros(GT_F32, GT_SHAPE(2, 6, 3));
    /* Conv1D */
    gt_layer *c = gt_conv1d_layer(&(gt_conv1d_layer_desc){.filters = 4, .kernel_size = 3});
    GTT_CHECK(gt_layer_call(c, gt_zeros(GT_F32, GT_SHAPE(2, 6, 6, 3)), false) == NULL, "rank 4");
    GTT_ERROR_HAS("Input 0 of layer \"conv1d\" is incompatible with the layer: expected ndim=3, "
                  "found ndim=4. Full shape received: (2, 6, 6, 3)");
    GTT_OK(gt_layer_call(c, seq, false) != NULL);
    GTT_CHECK(gt_layer_call(c, gt_zeros(GT_F32, GT_SHAPE(2, 6, 2)), false) == NULL, "channels");
    GTT_ERROR_HAS("expected axis -1 of input shape to have value 3, but received input with shape "
                  "(2, 6, 2)");
    gt_layer_free(c);
    c = gt_conv1d_layer(
        &(gt_conv1d_layer_desc){.filters = 4, .kernel_size = 4, .dilation_rate = 2});
    GTT_CHECK(gt_layer_call(c, seq, false) == NULL, "too short");
    GTT_ERROR_HAS("Conv1D 'conv1d_1': Computed output size would be zero or negative. Received "
                  "`inputs shape=(2, 6, 3)`, `kernel shape=(4, 3, 4)`, `dilation_rate=(2,)`, "
                  "`strides=(1,)`, `padding=valid`.");
    gt_layer_free(c);
    c = gt_conv1d_layer(&(gt_conv1d_layer_desc){
        .filters = 4, .kernel_size = 4, .dilation_rate = 2, .padding = GT_PADDING_CAUSAL});
    GTT_CHECK(gt_layer_call(c, seq, false) != NULL, "causal: any length");
    gt_layer_free(c);
    GTT_CHECK(!gt_conv1d_layer(&(gt_conv1d_layer_desc){
                  .filters = 3, .kernel_size = 3, .strides = 2, .dilation_rate = 2}),
              "strides and dilation");
    GTT_ERROR_HAS("Conv1D: `strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                  "Received: strides=(2,) and dilation_rate=(2,)");
    GTT_CHECK(!gt_conv1d_layer(&(gt_conv1d_layer_desc){.filters = 3}), "kernel_size");
    GTT_ERROR_HAS("Conv1D: `kernel_size` is required");
    GTT_CHECK(!gt_conv1d_layer(&(gt_conv1d_layer_desc){.filters = 3, .kernel_size = -2}),
              "negative kernel");
    GTT_ERROR_HAS("Conv1D: the argument `kernel_size` must contain positive integers. Received "
                  "kernel_size=(-2,)");
    GTT_CHECK(!gt_conv2d_layer(&(gt_conv2d_layer_desc){
                  .filters = 3, .kernel_size = {3}, .padding = GT_PADDING_CAUSAL}),
              "causal Conv2D");
    GTT_ERROR_HAS("Conv2D: `padding` must be GT_PADDING_VALID or GT_PADDING_SAME, got 2");
    /* 1-D pooling */
    gt_layer *p = gt_max_pooling1d(NULL);
    GTT_CHECK(gt_layer_call(p, gt_zeros(GT_F32, GT_SHAPE(2, 6)), false) == NULL, "pool rank");
    GTT_ERROR_HAS("of layer \"max_pooling1d\" is incompatible with the layer: expected ndim=3, "
                  "found ndim=2");
    gt_layer_free(p);
    GTT_CHECK(!gt_average_pooling1d(&(gt_pooling1d_desc){.pool_size = 2, .strides = -1}),
              "strides");
    GTT_ERROR_HAS("AveragePooling1D: the argument `strides` must contain positive integers. "
                  "Received strides=(-1,)");
    GTT_CHECK(!gt_max_pooling1d(&(gt_pooling1d_desc){.padding = GT_PADDING_CAUSAL}), "causal pool");
    GTT_ERROR_HAS("`padding` must be GT_PADDING_VALID or GT_PADDING_SAME");
    p = gt_global_max_pooling1d(NULL);
    GTT_CHECK(gt_layer_call(p, gt_zeros(GT_F32, GT_SHAPE(2, 3, 3, 1)), false) == NULL, "gmp rank");
    GTT_ERROR_HAS("expected ndim=3, found ndim=4");
    gt_layer_free(p);
    /* Reshape */
    GTT_CHECK(!gt_reshape_layer(GT_SHAPE(-1, 2, -1), NULL), "two -1");
    GTT_ERROR_HAS("Reshape: There must be at most one unknown dimension (-1) in `target_shape`. "
                  "Received: target_shape=(-1, 2, -1).");
    GTT_CHECK(!gt_reshape_layer(GT_SHAPE(3, -2), NULL), "-2");
    GTT_ERROR_HAS("Reshape: Each dimension in `target_shape` must be a non-negative integer, or "
                  "`-1` for a single unknown dimension. Received: target_shape=(3, -2).");
    gt_layer *r = gt_reshape_layer(GT_SHAPE(4, 5), NULL);
    GTT_CHECK(gt_layer_call(r, seq, false) == NULL, "size");
    GTT_ERROR_HAS("Reshape 'reshape': The total size of the tensor must be unchanged. Received: "
                  "input_shape=(6, 3), target_shape=(4, 5)");
    GTT_CHECK(!gt_layer_built(r), "not built after a failed build");
    gt_layer_free(r);
    r = gt_reshape_layer(GT_SHAPE(-1, 4), NULL);
    GTT_CHECK(gt_layer_call(r, seq, false) == NULL, "not divisible");
    GTT_ERROR_HAS("The total size of the tensor must be unchanged, however, the input size cannot "
                  "by divided by the specified dimensions in target_shape. Received: "
                  "input_shape=(6, 3), target_shape=(-1, 4)");
    gt_tensor *y = gt_layer_call(r, gt_zeros(GT_F32, GT_SHAPE(2, 2, 6)), false);
    GTT_CHECK(y && gt_tensor_rank(y) == 3 && gt_tensor_dim(y, 1) == 3, "(2, 2, 6) -> (2, 3, 4)");
    gt_layer_free(r);
    /* Permute, RepeatVector */
    GTT_CHECK(!gt_permute(GT_AXES(1, 3), NULL), "dims");
    GTT_ERROR_HAS("Permute: Invalid permutation argument `dims` for Permute Layer. The set of "
                  "indices in `dims` must be consecutive and start from 1. Received dims=(1, 3)");
    GTT_CHECK(!gt_permute(GT_AXES(2, 2), NULL), "repeated dims");
    GTT_ERROR_HAS("Received dims=(2, 2)");
    p = gt_permute(GT_AXES(2, 1), NULL);
    GTT_CHECK(gt_layer_call(p, gt_zeros(GT_F32, GT_SHAPE(2, 3, 4, 5)), false) == NULL, "rank");
    GTT_ERROR_HAS("Input 0 of layer \"permute\" is incompatible with the layer: expected ndim=3, "
                  "found ndim=4");
    gt_layer_free(p);
    GTT_CHECK(!gt_repeat_vector(0, NULL), "n");
    GTT_ERROR_HAS("RepeatVector: Argument `n` should be a positive integer. Received: n=0");
    p = gt_repeat_vector(2, NULL);
    GTT_CHECK(gt_layer_call(p, seq, false) == NULL, "repeat rank");
    GTT_ERROR_HAS("of layer \"repeat_vector\" is incompatible with the layer: expected ndim=2, "
                  "found ndim=3");
    gt_layer_free(p);
    /* ZeroPadding2D, Cropping2D, UpSampling2D */
    GTT_CHECK(!gt_zero_padding2d(&(gt_zero_padding2d_desc){.padding = {{1, 1}, {-2, 0}}}), "pad");
    GTT_ERROR_HAS("ZeroPadding2D: The `2nd entry of padding` argument must be a tuple of 2 "
                  "integers. Received 2nd entry of padding=(-2, 0), including values {-2} that do "
                  "not satisfy `value >= 0`");
    GTT_CHECK(!gt_cropping2d(&(gt_cropping2d_desc){.cropping = {{-1, -1}, {0, 0}}}), "crop");
    GTT_ERROR_HAS("Received 1st entry of cropping=(-1, -1), including values {-1} that do not");
    gt_layer *cr = gt_cropping2d(&(gt_cropping2d_desc){.cropping = {{1, 1}, {3, 2}}});
    GTT_CHECK(gt_layer_call(cr, gt_zeros(GT_F32, GT_SHAPE(2, 4, 5, 3)), false) == NULL, "crop all");
    GTT_ERROR_HAS("Cropping2D 'cropping2d': Values in `cropping` argument should be smaller than "
                  "the corresponding spatial dimension of the input. Received: "
                  "inputs.shape=(2, 4, 5, 3), cropping=((1, 1), (3, 2))");
    y = gt_layer_call(cr, gt_zeros(GT_F32, GT_SHAPE(2, 4, 6, 3)), false);
    GTT_CHECK(y && gt_tensor_dim(y, 1) == 2 && gt_tensor_dim(y, 2) == 1,
              "(2, 4, 6, 3) -> (2, 2, 1, 3)");
    GTT_CHECK(gt_layer_call(cr, gt_zeros(GT_F32, GT_SHAPE(2, 2, 9, 3)), false) == NULL,
              "a built layer checks every input");
    GTT_ERROR_HAS("inputs.shape=(2, 2, 9, 3)");
    gt_layer_free(cr);
    GTT_CHECK(!gt_up_sampling2d(&(gt_up_sampling2d_desc){.size = {2, -1}}), "size");
    GTT_ERROR_HAS("UpSampling2D: The `size` argument must be a tuple of 2 integers. Received "
                  "size=(2, -1), including values {-1} that do not satisfy `value > 0`");
    p = gt_up_sampling2d(NULL);
    GTT_CHECK(gt_layer_call(p, seq, false) == NULL, "up rank");
    GTT_ERROR_HAS("of layer \"up_sampling2d\" is incompatible with the layer: expected ndim=4");
    gt_layer_free(p);

    /* names: Keras' snake case */
    gt_reset_uids();
    gt_layer *ls[] = {
        gt_conv1d_layer(&(gt_conv1d_layer_desc){.filters = 1, .kernel_size = 1}),
        gt_average_pooling1d(NULL),
        gt_global_average_pooling1d(NULL),
        gt_global_max_pooling1d(NULL),
        gt_reshape_layer(GT_SHAPE(-1), NULL),
        gt_permute(GT_AXES(1), NULL),
        gt_repeat_vector(1, NULL),
        gt_zero_padding2d(NULL),
        gt_cropping2d(NULL),
        gt_up_sampling2d(NULL),
    };
    static const char *want[] = {"conv1d",
                                 "average_pooling1d",
                                 "global_average_pooling1d",
                                 "global_max_pooling1d",
                                 "reshape",
                                 "permute",
                                 "repeat_vector",
                                 "zero_padding2d",
                                 "cropping2d",
                                 "up_sampling2d"};
    for (size_t i = 0; i < sizeof ls / sizeof *ls; i++) {
        GTT_CHECK(ls[i] && strcmp(gt_layer_name(ls[i]), want[i]) == 0, "name %s, want %s",
                  ls[i] ? gt_layer_name(ls[i]) : "NULL", want[i]);
        gt_layer_free(ls[i]);
    }
    GTT_CHECK(gt_ok(), "no stray error: %s", gt_error() ? gt_error() : "");
    gt_scope_end();
}

/* User-given sizes whose products or sums overflow int64 (undefined behaviour, caught by
 * UBSan in `make asan`): each gives the layer's error instead. */
static void overflow_errors(void) {
    gt_scope_begin();
    const int64_t big = INT64_C(1) << 62;
    gt_tensor *img = gt_ones(GT_F32, GT_SHAPE(1, 2, 2, 1));
    gt_tensor *empty = gt_ones(GT_F32, GT_SHAPE(2, 0));
    /* UpSampling2D: H * size[0] and W * size[1] */
    gt_layer *l = gt_up_sampling2d(&(gt_up_sampling2d_desc){.size = {big, 4}, .name = "up"});
    GTT_CHECK(l && gt_layer_call(l, img, false) == NULL, "UpSampling2D (2**62, 4)");
    GTT_ERROR_HAS("UpSampling2D 'up': the upsampled height or width overflows. Received: "
                  "inputs.shape=(1, 2, 2, 1), size=(4611686018427387904, 4)");
    gt_layer_free(l);
    l = gt_up_sampling2d(&(gt_up_sampling2d_desc){.size = {1, big}, .name = "up"});
    GTT_CHECK(l && gt_layer_call(l, gt_ones(GT_F32, GT_SHAPE(0, 1, 4, 1)), false) == NULL,
              "UpSampling2D (1, 2**62) on an empty batch");
    GTT_ERROR_HAS("UpSampling2D 'up': the upsampled height or width overflows. Received: "
                  "inputs.shape=(0, 1, 4, 1), size=(1, 4611686018427387904)");
    gt_layer_free(l);
    /* no overflow in the layer, but too large a tensor */
    l = gt_up_sampling2d(
        &(gt_up_sampling2d_desc){.size = {INT64_C(1) << 32, INT64_C(1) << 32}, .name = "up"});
    GTT_CHECK(l && gt_layer_call(l, img, false) == NULL, "UpSampling2D (2**32, 2**32)");
    GTT_ERROR_HAS("too many elements");
    gt_layer_free(l);
    /* Cropping2D: top + bottom, left + right (Keras' message) */
    l = gt_cropping2d(&(gt_cropping2d_desc){.cropping = {{INT64_MAX, 2}, {0, 0}}, .name = "crop"});
    GTT_CHECK(l && gt_layer_call(l, img, false) == NULL, "Cropping2D (INT64_MAX, 2)");
    GTT_ERROR_HAS("Cropping2D 'crop': Values in `cropping` argument should be smaller than the "
                  "corresponding spatial dimension of the input. Received: "
                  "inputs.shape=(1, 2, 2, 1), cropping=((9223372036854775807, 2), (0, 0))");
    gt_layer_free(l);
    l = gt_cropping2d(&(gt_cropping2d_desc){.cropping = {{0, 0}, {1, INT64_MAX}}, .name = "crop"});
    GTT_CHECK(l && gt_layer_call(l, gt_ones(GT_F32, GT_SHAPE(1, 5, 5, 1)), false) == NULL,
              "Cropping2D (1, INT64_MAX)");
    GTT_ERROR_HAS("cropping=((0, 0), (1, 9223372036854775807))");
    gt_layer_free(l);
    /* ZeroPadding2D: the padded size (gt_pad's check) */
    l = gt_zero_padding2d(&(gt_zero_padding2d_desc){.padding = {{INT64_MAX, 1}, {0, 0}}});
    GTT_CHECK(l && gt_layer_call(l, img, false) == NULL, "ZeroPadding2D (INT64_MAX, 1)");
    GTT_ERROR_HAS("overflow");
    gt_layer_free(l);
    /* Reshape: the product of the target's dimensions. 2**33 * 2**31 is not 0, whatever it
     * wraps to (Keras' message); (2**32, 2**32, 0) has 0 elements as Keras reads it, but no
     * tensor has that shape */
    l = gt_reshape_layer(GT_SHAPE(INT64_C(1) << 33, INT64_C(1) << 31), "rs");
    GTT_CHECK(l && gt_layer_call(l, empty, false) == NULL, "Reshape (2**33, 2**31)");
    GTT_ERROR_HAS("Reshape 'rs': The total size of the tensor must be unchanged. Received: "
                  "input_shape=(0,), target_shape=(8589934592, 2147483648)");
    GTT_CHECK(!gt_layer_built(l), "not built");
    gt_layer_free(l);
    l = gt_reshape_layer(GT_SHAPE(INT64_C(1) << 32, INT64_C(1) << 32, 0), "rs");
    GTT_CHECK(l && gt_layer_call(l, empty, false) == NULL, "Reshape (2**32, 2**32, 0)");
    GTT_ERROR_HAS("Reshape 'rs': target_shape=(4294967296, 4294967296, 0) has too many elements "
                  "(the product of its dimensions overflows). Received: input_shape=(0,)");
    gt_layer_free(l);
    l = gt_reshape_layer(GT_SHAPE(INT64_C(1) << 33, INT64_C(1) << 31, -1), "rs");
    GTT_CHECK(l && gt_layer_call(l, gt_ones(GT_F32, GT_SHAPE(2, 3)), false) == NULL,
              "Reshape (2**33, 2**31, -1)");
    GTT_ERROR_HAS("Reshape 'rs': The total size of the tensor must be unchanged, however, the "
                  "input size cannot by divided by the specified dimensions in target_shape. "
                  "Received: input_shape=(3,), target_shape=(8589934592, 2147483648, -1)");
    gt_layer_free(l);
    l = gt_reshape_layer(GT_SHAPE(INT64_C(1) << 33, INT64_C(1) << 31, -1), "rs");
    GTT_CHECK(l && gt_layer_call(l, empty, false) == NULL, "Reshape (2**33, 2**31, -1), empty");
    GTT_ERROR_HAS("Reshape 'rs': target_shape=(8589934592, 2147483648, -1) has too many elements");
    gt_layer_free(l);
    /* an empty batch bounds nothing else: the input's size per example can overflow too */
    l = gt_reshape_layer(GT_SHAPE(-1), "rs");
    GTT_CHECK(l && gt_layer_call(l, gt_ones(GT_F32, GT_SHAPE(0, big, big)), false) == NULL,
              "Reshape (-1,) of (0, 2**62, 2**62)");
    GTT_ERROR_HAS("Reshape 'rs': the input's size per example overflows. Received: "
                  "input_shape=(4611686018427387904, 4611686018427387904), target_shape=(-1,)");
    gt_layer_free(l);
    /* still fine: a product that fits, and a 0 that makes the size 0 */
    l = gt_reshape_layer(GT_SHAPE(INT64_C(1) << 31, 0, INT64_C(1) << 20), "rs");
    gt_tensor *y = l ? gt_layer_call(l, empty, false) : NULL;
    GTT_CHECK(y && gt_tensor_rank(y) == 4 && gt_tensor_dim(y, 1) == INT64_C(1) << 31 &&
                  gt_tensor_dim(y, 2) == 0 && gt_tensor_dim(y, 3) == INT64_C(1) << 20,
              "(2, 0) -> (2, 2**31, 0, 2**20): %s", gt_error() ? gt_error() : "");
    gt_layer_free(l);
    /* Conv1D: (kernel_size - 1) * dilation_rate, checked when the layer is made */
    GTT_CHECK(!gt_conv1d_layer(&(gt_conv1d_layer_desc){
                  .filters = 1, .kernel_size = (INT64_C(1) << 61) + 1, .dilation_rate = 8}),
              "Conv1D (2**61 + 1) * 8");
    GTT_ERROR_HAS("Conv1D: the dilated kernel, (kernel_size - 1) * dilation_rate + 1, overflows. "
                  "Received: kernel_size=(2305843009213693953,) and dilation_rate=(8,)");
    GTT_CHECK(!gt_conv1d_layer(&(gt_conv1d_layer_desc){.filters = 1,
                                                       .kernel_size = INT64_MAX,
                                                       .dilation_rate = 2,
                                                       .padding = GT_PADDING_CAUSAL}),
              "causal Conv1D (INT64_MAX - 1) * 2");
    GTT_ERROR_HAS("Conv1D: the dilated kernel");
    GTT_CHECK(!gt_conv2d_layer(&(gt_conv2d_layer_desc){
                  .filters = 1, .kernel_size = {3, big + 1}, .dilation_rate = {1, 2}}),
              "Conv2D (2**62 + 1 - 1) * 2 + 1");
    GTT_ERROR_HAS("Conv2D: the dilated kernel, (kernel_size - 1) * dilation_rate + 1, overflows. "
                  "Received: kernel_size=(3, 4611686018427387905) and dilation_rate=(1, 2)");
    /* a span that fits but exceeds the input: Keras' error (valid) and gt_pad's (causal) */
    l = gt_conv1d_layer(&(gt_conv1d_layer_desc){
        .filters = 1, .kernel_size = INT64_C(1) << 60, .dilation_rate = 4, .name = "c1"});
    GTT_CHECK(l && gt_layer_call(l, gt_ones(GT_F32, GT_SHAPE(1, 5, 1)), false) == NULL,
              "Conv1D 2**60 * 4 valid");
    GTT_ERROR_HAS("Conv1D 'c1': Computed output size would be zero or negative.");
    gt_layer_free(l);
    GTT_CHECK(gt_ok(), "no stray error: %s", gt_error() ? gt_error() : "");
    gt_scope_end();
}

int main(void) {
    lcheck_stats = getenv("GT_LAYERS_STATS") != NULL;
    if (!nnref_load(REF_FILE))
        return gtt_finish();
    conv_keras();
    pool_keras();
    bn_keras();
    ln_keras();
    embedding_keras();
    conv1d_keras();
    pool1d_keras();
    shape_keras();
    summaries();
    dropout_behaviour();
    bn_behaviour();
    gradchecks();
    errors();
    seq_summaries();
    seq_gradchecks();
    seq_errors();
    overflow_errors();
    nnref_free();
    return gtt_finish();
}
