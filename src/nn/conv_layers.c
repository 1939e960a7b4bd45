/* keras.layers.Conv2D, MaxPooling2D, AveragePooling2D and GlobalAveragePooling2D on the
 * convolution and pooling ops of gradtape_conv.h (channels-last). */
#include "nn_internal.h"

#include <string.h>

/* Keras' standardize_tuple for a C pair: {0, 0} -> dflt, {k, 0} -> (k, k). Negative entries
 * are reported by the caller. */
static void pair(const int64_t in[2], int64_t dflt, int64_t out[2]) {
    if (in[0] == 0 && in[1] == 0) {
        out[0] = out[1] = dflt;
    } else {
        out[0] = in[0];
        out[1] = in[1] ? in[1] : in[0];
    }
}

static bool positive_pair(const char *layer, const char *arg, const int64_t v[2]) {
    if (v[0] > 0 && v[1] > 0)
        return true;
    nn_error("%s: the argument `%s` must contain positive integers. Received %s=(%lld, %lld)",
             layer, arg, arg, (long long)v[0], (long long)v[1]);
    return false;
}

static bool valid_padding(const char *layer, gt_padding p) {
    if (p == GT_PADDING_VALID || p == GT_PADDING_SAME)
        return true;
    nn_error("%s: `padding` must be GT_PADDING_VALID or GT_PADDING_SAME, got %d", layer, (int)p);
    return false;
}

/* InputSpec(ndim=4); the message also names the four axes. */
static bool want_rank4(const gt_layer *l, int rank, const int64_t *shape) {
    return nn_expect_ndim(l, 4, rank, shape, " (images are [batch, height, width, channels])");
}

/* Keras autocasting: a float input of another dtype is cast to the layer's dtype. */
static const gt_tensor *autocast(const gt_layer *l, const gt_tensor *x) {
    return gt_tensor_dtype(x) != l->dtype ? gt_cast(x, l->dtype) : x;
}

/* ---- Conv2D ------------------------------------------------------------------------------- */

typedef struct conv2d_layer {
    gt_layer base;
    int64_t filters, in_ch;
    int64_t kernel_size[2], strides[2], dilation[2], groups;
    gt_padding padding;
    gt_activation activation;
    bool use_bias;
    gt_initializer kernel_init, bias_init;
    gt_tensor *kernel, *bias;
} conv2d_layer;

static gt_conv2d_desc conv_op_desc(const conv2d_layer *c) {
    gt_conv2d_desc d = {.padding = c->padding, .groups = c->groups};
    for (int i = 0; i < 2; i++) {
        d.strides[i] = c->strides[i];
        d.dilations[i] = c->dilation[i];
    }
    return d;
}

static bool conv_build(gt_layer *l, int rank, const int64_t *shape) {
    conv2d_layer *c = (conv2d_layer *)l;
    if (!want_rank4(l, rank, shape))
        return false;
    char got[256];
    nn_shape_str(rank, shape, got, sizeof got);
    c->in_ch = shape[3];
    if (c->in_ch % c->groups != 0) {
        nn_error("Conv2D '%s': The number of input channels must be evenly divisible by the "
                 "number of groups. Received groups=%lld, but the input has %lld channels (full "
                 "input shape is %s).",
                 l->name, (long long)c->groups, (long long)c->in_ch, got);
        return false;
    }
    if (c->padding == GT_PADDING_VALID)
        for (int i = 0; i < 2; i++)
            if (shape[1 + i] - (c->kernel_size[i] - 1) * c->dilation[i] <= 0) {
                nn_error("Conv2D '%s': Computed output size would be zero or negative. Received "
                         "`inputs shape=%s`, `kernel shape=(%lld, %lld, %lld, %lld)`, "
                         "`dilation_rate=(%lld, %lld)`, `strides=(%lld, %lld)`, `padding=valid`.",
                         l->name, got, (long long)c->kernel_size[0], (long long)c->kernel_size[1],
                         (long long)(c->in_ch / c->groups), (long long)c->filters,
                         (long long)c->dilation[0], (long long)c->dilation[1],
                         (long long)c->strides[0], (long long)c->strides[1]);
                return false;
            }
    c->kernel = gt_layer_add_weight(l, "kernel",
                                    GT_SHAPE(c->kernel_size[0], c->kernel_size[1],
                                             c->in_ch / c->groups, c->filters),
                                    &c->kernel_init, true);
    if (!c->kernel)
        return false;
    if (c->use_bias) {
        c->bias = gt_layer_add_weight(l, "bias", GT_SHAPE(c->filters), &c->bias_init, true);
        if (!c->bias)
            return false;
    }
    return true;
}

static gt_tensor *conv_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    conv2d_layer *c = (conv2d_layer *)l;
    int rank = gt_tensor_rank(x);
    const int64_t *shape = gt_tensor_shape(x);
    if (!want_rank4(l, rank, shape) || !nn_expect_axis(l, -1, c->in_ch, rank, shape))
        return NULL;
    gt_conv2d_desc d = conv_op_desc(c);
    /* conv + bias (+ relu) as one op, as TensorFlow's graph optimizer fuses them; the result
     * and its gradients equal the separate ops' bitwise */
    if (c->bias && (c->activation == GT_ACT_LINEAR || c->activation == GT_ACT_RELU))
        return gt_conv2d_bias_act(autocast(l, x), c->kernel, c->bias,
                                  c->activation == GT_ACT_RELU, &d);
    gt_tensor *y = gt_conv2d(autocast(l, x), c->kernel, &d);
    if (c->bias)
        y = gt_add(y, c->bias); /* (filters,) broadcasts over [N, OH, OW, filters] */
    return gt_activation_apply(c->activation, y);
}

static const gt_layer_vtable conv2d_vt = {"Conv2D", conv_build, conv_call, NULL};

gt_layer *gt_conv2d_layer(const gt_conv2d_layer_desc *desc) {
    static const char *who = "Conv2D";
    if (!desc) {
        nn_error("Conv2D: a descriptor with filters and kernel_size is required");
        return NULL;
    }
    if (desc->filters <= 0) {
        nn_error("Conv2D: Invalid value for argument `filters`. Expected a strictly positive "
                 "value. Received filters=%lld.",
                 (long long)desc->filters);
        return NULL;
    }
    int64_t ks[2], st[2], dil[2];
    pair(desc->kernel_size, 0, ks);
    pair(desc->strides, 1, st);
    pair(desc->dilation_rate, 1, dil);
    if (ks[0] == 0 && ks[1] == 0) {
        nn_error("Conv2D: `kernel_size` is required (e.g. .kernel_size = {3} for 3x3)");
        return NULL;
    }
    if (!positive_pair(who, "kernel_size", ks) || !positive_pair(who, "strides", st) ||
        !positive_pair(who, "dilation_rate", dil) || !valid_padding(who, desc->padding))
        return NULL;
    int64_t groups = desc->groups ? desc->groups : 1;
    if (groups <= 0) {
        nn_error("Conv2D: The number of groups must be a positive integer. Received: groups=%lld.",
                 (long long)groups);
        return NULL;
    }
    if (desc->filters % groups != 0) {
        nn_error("Conv2D: The number of filters must be evenly divisible by the number of "
                 "groups. Received: groups=%lld, filters=%lld.",
                 (long long)groups, (long long)desc->filters);
        return NULL;
    }
    if ((st[0] > 1 || st[1] > 1) && (dil[0] > 1 || dil[1] > 1)) {
        nn_error("Conv2D: `strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                 "Received: strides=(%lld, %lld) and dilation_rate=(%lld, %lld)",
                 (long long)st[0], (long long)st[1], (long long)dil[0], (long long)dil[1]);
        return NULL;
    }
    if ((int)desc->activation < 0 || desc->activation >= GT_ACT_COUNT) {
        nn_error("Conv2D: unknown activation %d", (int)desc->activation);
        return NULL;
    }
    conv2d_layer *c = (conv2d_layer *)gt_layer_new(&conv2d_vt, sizeof(conv2d_layer), desc->name);
    if (!c)
        return NULL;
    c->filters = desc->filters;
    memcpy(c->kernel_size, ks, sizeof ks);
    memcpy(c->strides, st, sizeof st);
    memcpy(c->dilation, dil, sizeof dil);
    c->groups = groups;
    c->padding = desc->padding;
    c->activation = desc->activation;
    c->use_bias = !desc->no_bias;
    c->kernel_init = desc->kernel_initializer;
    if (c->kernel_init.kind == GT_INIT_DEFAULT)
        c->kernel_init.kind = GT_INIT_GLOROT_UNIFORM;
    c->bias_init = desc->bias_initializer;
    if (c->bias_init.kind == GT_INIT_DEFAULT)
        c->bias_init.kind = GT_INIT_ZEROS;
    return &c->base;
}

gt_tensor *gt_conv2d_layer_kernel(const gt_layer *l) {
    return l && l->vt == &conv2d_vt ? ((const conv2d_layer *)l)->kernel : NULL;
}
gt_tensor *gt_conv2d_layer_bias(const gt_layer *l) {
    return l && l->vt == &conv2d_vt ? ((const conv2d_layer *)l)->bias : NULL;
}

/* ---- MaxPooling2D / AveragePooling2D ------------------------------------------------------- */

typedef struct pool_layer {
    gt_layer base;
    gt_pool2d_desc d;
} pool_layer;

static bool pool_build(gt_layer *l, int rank, const int64_t *shape) {
    return want_rank4(l, rank, shape);
}

static gt_tensor *max_pool_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    if (!want_rank4(l, gt_tensor_rank(x), gt_tensor_shape(x)))
        return NULL;
    return gt_max_pool2d(autocast(l, x), &((pool_layer *)l)->d);
}

static gt_tensor *avg_pool_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    if (!want_rank4(l, gt_tensor_rank(x), gt_tensor_shape(x)))
        return NULL;
    return gt_avg_pool2d(autocast(l, x), &((pool_layer *)l)->d);
}

static const gt_layer_vtable max_pool_vt = {"MaxPooling2D", pool_build, max_pool_call, NULL};
static const gt_layer_vtable avg_pool_vt = {"AveragePooling2D", pool_build, avg_pool_call, NULL};

static gt_layer *pool_new(const gt_layer_vtable *vt, const gt_pooling2d_desc *desc) {
    static const gt_pooling2d_desc dflt = {{0, 0}, {0, 0}, GT_PADDING_VALID, NULL};
    if (!desc)
        desc = &dflt;
    int64_t ps[2], st[2];
    pair(desc->pool_size, 2, ps);
    if (!positive_pair(vt->class_name, "pool_size", ps))
        return NULL;
    pair(desc->strides, 0, st);
    if (st[0] == 0 && st[1] == 0)
        memcpy(st, ps, sizeof st); /* strides=None -> pool_size */
    if (!positive_pair(vt->class_name, "strides", st) ||
        !valid_padding(vt->class_name, desc->padding))
        return NULL;
    pool_layer *p = (pool_layer *)gt_layer_new(vt, sizeof(pool_layer), desc->name);
    if (!p)
        return NULL;
    for (int i = 0; i < 2; i++) {
        p->d.pool_size[i] = ps[i];
        p->d.strides[i] = st[i];
    }
    p->d.padding = desc->padding;
    return &p->base;
}

gt_layer *gt_max_pooling2d(const gt_pooling2d_desc *desc) {
    return pool_new(&max_pool_vt, desc);
}
gt_layer *gt_average_pooling2d(const gt_pooling2d_desc *desc) {
    return pool_new(&avg_pool_vt, desc);
}

/* ---- GlobalAveragePooling2D ---------------------------------------------------------------- */

typedef struct gap_layer {
    gt_layer base;
    bool keepdims;
} gap_layer;

static gt_tensor *gap_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    if (!want_rank4(l, gt_tensor_rank(x), gt_tensor_shape(x)))
        return NULL;
    return gt_global_avg_pool2d(autocast(l, x), ((gap_layer *)l)->keepdims);
}

static const gt_layer_vtable gap_vt = {"GlobalAveragePooling2D", pool_build, gap_call, NULL};

gt_layer *gt_global_average_pooling2d(const gt_global_pooling2d_desc *desc) {
    gap_layer *g = (gap_layer *)gt_layer_new(&gap_vt, sizeof(gap_layer), desc ? desc->name : NULL);
    if (!g)
        return NULL;
    g->keepdims = desc && desc->keepdims;
    return &g->base;
}
