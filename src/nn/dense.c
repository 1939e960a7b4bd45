/* keras.layers.Dense and keras.layers.Activation. */
#include "nn_internal.h"

#include <string.h>

typedef struct dense {
    gt_layer base;
    int64_t units, in_dim;
    gt_activation activation;
    bool use_bias;
    gt_initializer kernel_init, bias_init;
    gt_tensor *kernel, *bias;
} dense;

static bool dense_build(gt_layer *l, int rank, const int64_t *shape) {
    dense *d = (dense *)l;
    if (rank < 1) {
        nn_error("Dense '%s': the input must have rank >= 1, got a scalar", l->name);
        return false;
    }
    d->in_dim = shape[rank - 1];
    d->kernel =
        gt_layer_add_weight(l, "kernel", GT_SHAPE(d->in_dim, d->units), &d->kernel_init, true);
    if (!d->kernel)
        return false;
    if (d->use_bias) {
        d->bias = gt_layer_add_weight(l, "bias", GT_SHAPE(d->units), &d->bias_init, true);
        if (!d->bias)
            return false;
    }
    return true;
}

static gt_tensor *dense_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    dense *d = (dense *)l;
    int rank = gt_tensor_rank(x);
    const int64_t *shape = gt_tensor_shape(x);
    if (!nn_expect_axis(l, -1, d->in_dim, rank, shape))
        return NULL;
    x = nn_autocast(l, x);
    gt_tensor *y;
    if (rank == 2 && d->bias &&
        (d->activation == GT_ACT_LINEAR || d->activation == GT_ACT_RELU)) {
        /* TensorFlow's _FusedMatMul: bitwise the three ops below, gradients included */
        return gt_matmul_bias_act(x, d->kernel, d->bias, d->activation == GT_ACT_RELU);
    }
    if (rank == 2) {
        y = gt_matmul(x, d->kernel, false, false);
    } else { /* matmul on the last axis: [..., in] -> [-1, in] x [in, units] -> [..., units] */
        int64_t out_shape[GT_MAX_RANK];
        memcpy(out_shape, shape, sizeof(int64_t) * (size_t)rank);
        out_shape[rank - 1] = d->units;
        gt_tensor *x2 = gt_reshape(x, GT_SHAPE(-1, d->in_dim));
        y = gt_reshape(gt_matmul(x2, d->kernel, false, false), rank, out_shape);
    }
    if (d->bias)
        y = gt_add(y, d->bias);
    return gt_activation_apply(d->activation, y);
}

static const gt_layer_vtable dense_vt = {"Dense", dense_build, dense_call, NULL};

gt_layer *gt_dense(const gt_dense_desc *desc) {
    if (!desc || desc->units <= 0) {
        nn_error("Dense: Received an invalid value for `units`, expected a positive integer. "
                 "Received: units=%lld",
                 desc ? (long long)desc->units : 0LL);
        return NULL;
    }
    if ((int)desc->activation < 0 || desc->activation >= GT_ACT_COUNT) {
        nn_error("Dense: unknown activation %d", (int)desc->activation);
        return NULL;
    }
    dense *d = (dense *)gt_layer_new(&dense_vt, sizeof(dense), desc->name);
    if (!d)
        return NULL;
    d->units = desc->units;
    d->activation = desc->activation;
    d->use_bias = !desc->no_bias;
    d->kernel_init = desc->kernel_initializer;
    if (d->kernel_init.kind == GT_INIT_DEFAULT)
        d->kernel_init.kind = GT_INIT_GLOROT_UNIFORM;
    d->bias_init = desc->bias_initializer;
    if (d->bias_init.kind == GT_INIT_DEFAULT)
        d->bias_init.kind = GT_INIT_ZEROS;
    return &d->base;
}

gt_tensor *gt_dense_kernel(const gt_layer *l) {
    return l && l->vt == &dense_vt ? ((const dense *)l)->kernel : NULL;
}
gt_tensor *gt_dense_bias(const gt_layer *l) {
    return l && l->vt == &dense_vt ? ((const dense *)l)->bias : NULL;
}

typedef struct act_layer {
    gt_layer base;
    gt_activation act;
} act_layer;

static gt_tensor *act_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    return gt_activation_apply(((act_layer *)l)->act, x);
}

static const gt_layer_vtable act_vt = {"Activation", NULL, act_call, NULL};

gt_layer *gt_activation_layer(gt_activation act, const char *name) {
    if ((int)act < 0 || act >= GT_ACT_COUNT) {
        nn_error("Activation: unknown activation %d", (int)act);
        return NULL;
    }
    act_layer *a = (act_layer *)gt_layer_new(&act_vt, sizeof(act_layer), name);
    if (!a)
        return NULL;
    a->act = act;
    return &a->base;
}
