/* keras.layers.BatchNormalization and keras.layers.LayerNormalization. */
#include "nn_internal.h"

#include <string.h>

/* Resolves a layer's axis (negative counts from the end) for an input of rank rank; -1 and an
 * error when it is out of range. */
static int resolve_axis(const gt_layer *l, int axis, int rank, const int64_t *shape) {
    int a = axis < 0 ? rank + axis : axis;
    if (a < 0 || a >= rank) {
        char got[256];
        nn_shape_str(rank, shape, got, sizeof got);
        nn_error("%s '%s': axis %d is out of range for an input of rank %d (shape %s)",
                 gt_layer_class_name(l), l->name, axis, rank, got);
        return -1;
    }
    return a;
}

/* A (C,) parameter shaped to broadcast against x along axis a: itself when a is the last axis
 * (the common case costs nothing), else reshaped to [1, .., C, .., 1]. */
static gt_tensor *along(const gt_tensor *p, int a, int rank, int64_t c) {
    if (a == rank - 1)
        return (gt_tensor *)p;
    int64_t shape[GT_MAX_RANK];
    for (int i = 0; i < rank; i++)
        shape[i] = i == a ? c : 1;
    return gt_reshape(p, rank, shape);
}

/* tf.nn.batch_normalization's order of operations:
 *   inv = rsqrt(var + eps) [* gamma];  y = x * inv + ([beta] - mean * inv). */
static gt_tensor *normalize(const gt_tensor *x, const gt_tensor *mean, const gt_tensor *var,
                            const gt_tensor *gamma, const gt_tensor *beta, double eps) {
    gt_tensor *inv = gt_rsqrt(gt_add_s(var, eps));
    if (gamma)
        inv = gt_mul(inv, gamma);
    gt_tensor *shift = gt_mul(mean, inv);
    shift = beta ? gt_sub(beta, shift) : gt_neg(shift);
    return gt_add(gt_mul(x, inv), shift);
}

/* Mean and biased variance over the given axes, kept as size-1 axes. Unlike tf.nn.moments the
 * mean is not behind a stop_gradient inside the variance: first derivatives are the same (the
 * term is zero), higher ones are exact. */
static void moments(const gt_tensor *x, int naxes, const int *axes, gt_tensor **mean,
                    gt_tensor **var) {
    *mean = gt_reduce_mean(x, naxes, axes, true);
    *var = gt_reduce_mean(gt_squared_difference(x, *mean), naxes, axes, true);
}

/* ---- BatchNormalization ------------------------------------------------------------------- */

typedef struct batch_norm {
    gt_layer base;
    int axis; /* as Keras counts it: negative from the end (a descriptor's 0 is -1) */
    int built_rank, a;
    int64_t c;
    double momentum, epsilon;
    bool center, scale;
    gt_initializer beta_init, gamma_init, mean_init, var_init;
    gt_tensor *gamma, *beta, *moving_mean, *moving_variance;
} batch_norm;

static bool bn_build(gt_layer *l, int rank, const int64_t *shape) {
    batch_norm *b = (batch_norm *)l;
    b->a = resolve_axis(l, b->axis, rank, shape);
    if (b->a < 0)
        return false;
    b->built_rank = rank;
    b->c = shape[b->a];
    /* Keras' creation order: gamma, beta, moving_mean, moving_variance */
    if (b->scale && !(b->gamma = gt_layer_add_weight(l, "gamma", GT_SHAPE(b->c), &b->gamma_init,
                                                     true)))
        return false;
    if (b->center &&
        !(b->beta = gt_layer_add_weight(l, "beta", GT_SHAPE(b->c), &b->beta_init, true)))
        return false;
    b->moving_mean = gt_layer_add_weight(l, "moving_mean", GT_SHAPE(b->c), &b->mean_init, false);
    if (!b->moving_mean)
        return false;
    b->moving_variance =
        gt_layer_add_weight(l, "moving_variance", GT_SHAPE(b->c), &b->var_init, false);
    return b->moving_variance != NULL;
}

/* moving = moving * momentum + batch * (1 - momentum), as Keras writes it (momentum and
 * 1 - momentum are rounded to the variable's dtype). The statistics are cut off the tape. */
static bool bn_update(gt_tensor *moving, const gt_tensor *batch, double momentum, int64_t c) {
    gt_tensor *stat = gt_reshape(gt_stop_gradient(batch), GT_SHAPE(c));
    gt_tensor *v = gt_add(gt_mul_s(moving, momentum), gt_mul_s(stat, 1.0 - momentum));
    return v && gt_variable_assign(moving, v);
}

static gt_tensor *bn_call(gt_layer *l, const gt_tensor *x, bool training) {
    batch_norm *b = (batch_norm *)l;
    int rank = gt_tensor_rank(x);
    const int64_t *shape = gt_tensor_shape(x);
    if (!nn_expect_ndim(l, b->built_rank, rank, shape, NULL) ||
        !nn_expect_axis(l, b->axis, b->c, rank, shape))
        return NULL;
    x = nn_autocast(l, x);
    const gt_tensor *gamma = b->gamma ? along(b->gamma, b->a, rank, b->c) : NULL;
    const gt_tensor *beta = b->beta ? along(b->beta, b->a, rank, b->c) : NULL;
    gt_tensor *mean, *var;
    if (training && l->trainable) {
        int axes[GT_MAX_RANK], n = 0;
        for (int i = 0; i < rank; i++)
            if (i != b->a)
                axes[n++] = i;
        moments(x, n, axes, &mean, &var);
        if (!mean || !var)
            return NULL;
        if (!bn_update(b->moving_mean, mean, b->momentum, b->c) ||
            !bn_update(b->moving_variance, var, b->momentum, b->c))
            return NULL;
    } else {
        mean = along(b->moving_mean, b->a, rank, b->c);
        var = along(b->moving_variance, b->a, rank, b->c);
    }
    return normalize(x, mean, var, gamma, beta, b->epsilon);
}

static const gt_layer_vtable bn_vt = {"BatchNormalization", bn_build, bn_call, NULL};

static gt_initializer init_or(gt_initializer init, gt_init_kind dflt) {
    if (init.kind == GT_INIT_DEFAULT)
        init.kind = dflt;
    return init;
}

static bool check_epsilon(const char *who, double eps) {
    if (eps >= 0 && isfinite(eps))
        return true;
    nn_error("%s: `epsilon` must be a finite number >= 0. Received: epsilon=%g", who, eps);
    return false;
}

gt_layer *gt_batch_normalization(const gt_batch_normalization_desc *desc) {
    static const gt_batch_normalization_desc dflt = {0};
    if (!desc)
        desc = &dflt;
    double momentum = nn_opt(desc->momentum, 0.99), eps = nn_opt(desc->epsilon, 1e-3);
    if (!(momentum >= 0 && momentum <= 1)) {
        nn_error("BatchNormalization: `momentum` must be in [0, 1] (moving = moving * momentum "
                 "+ batch * (1 - momentum)). Received: momentum=%g",
                 momentum);
        return NULL;
    }
    if (!check_epsilon("BatchNormalization", eps))
        return NULL;
    batch_norm *b = (batch_norm *)gt_layer_new(&bn_vt, sizeof(batch_norm), desc->name);
    if (!b)
        return NULL;
    b->axis = desc->axis ? desc->axis : -1;
    b->momentum = momentum;
    b->epsilon = eps;
    b->center = !desc->no_center;
    b->scale = !desc->no_scale;
    b->beta_init = init_or(desc->beta_initializer, GT_INIT_ZEROS);
    b->gamma_init = init_or(desc->gamma_initializer, GT_INIT_ONES);
    b->mean_init = init_or(desc->moving_mean_initializer, GT_INIT_ZEROS);
    b->var_init = init_or(desc->moving_variance_initializer, GT_INIT_ONES);
    return &b->base;
}

/* ---- LayerNormalization ------------------------------------------------------------------- */

typedef struct layer_norm {
    gt_layer base;
    int axis; /* as batch_norm's */
    int64_t c;
    double epsilon;
    bool center, scale;
    gt_initializer beta_init, gamma_init;
    gt_tensor *gamma, *beta;
} layer_norm;

static bool ln_build(gt_layer *l, int rank, const int64_t *shape) {
    layer_norm *n = (layer_norm *)l;
    int a = resolve_axis(l, n->axis, rank, shape);
    if (a < 0)
        return false;
    n->c = shape[a];
    if (n->scale &&
        !(n->gamma = gt_layer_add_weight(l, "gamma", GT_SHAPE(n->c), &n->gamma_init, true)))
        return false;
    if (n->center &&
        !(n->beta = gt_layer_add_weight(l, "beta", GT_SHAPE(n->c), &n->beta_init, true)))
        return false;
    return true;
}

static gt_tensor *ln_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    layer_norm *n = (layer_norm *)l;
    int rank = gt_tensor_rank(x);
    const int64_t *shape = gt_tensor_shape(x);
    int a = resolve_axis(l, n->axis, rank, shape);
    if (a < 0)
        return NULL;
    if (!nn_expect_axis(l, n->axis, n->c, rank, shape))
        return NULL;
    x = nn_autocast(l, x);
    gt_tensor *mean, *var;
    moments(x, GT_AXES(a), &mean, &var);
    const gt_tensor *gamma = n->gamma ? along(n->gamma, a, rank, n->c) : NULL;
    const gt_tensor *beta = n->beta ? along(n->beta, a, rank, n->c) : NULL;
    return normalize(x, mean, var, gamma, beta, n->epsilon);
}

static const gt_layer_vtable ln_vt = {"LayerNormalization", ln_build, ln_call, NULL};

gt_layer *gt_layer_normalization(const gt_layer_normalization_desc *desc) {
    static const gt_layer_normalization_desc dflt = {0};
    if (!desc)
        desc = &dflt;
    double eps = nn_opt(desc->epsilon, 1e-3);
    if (!check_epsilon("LayerNormalization", eps))
        return NULL;
    layer_norm *n = (layer_norm *)gt_layer_new(&ln_vt, sizeof(layer_norm), desc->name);
    if (!n)
        return NULL;
    n->axis = desc->axis ? desc->axis : -1;
    n->epsilon = eps;
    n->center = !desc->no_center;
    n->scale = !desc->no_scale;
    n->beta_init = init_or(desc->beta_initializer, GT_INIT_ZEROS);
    n->gamma_init = init_or(desc->gamma_initializer, GT_INIT_ONES);
    return &n->base;
}
