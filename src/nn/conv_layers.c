/* keras.layers.Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D and their 1-D
 * kin (Conv1D, MaxPooling1D, AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D) on
 * the convolution and pooling ops of gradtape_conv.h (channels-last). A 1-D layer is the 2-D
 * op on one row: [N, L, C] is viewed as [N, 1, L, C] (a reshape, free and differentiable), the
 * 1-D sizes go in the column entries of the op's pairs, and the result is viewed back. */
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

/* Checks the last `spatial` entries of a pair (a 1-D layer's size is entry 1) and reports
 * them as Keras prints the tuple. */
static bool positive_sizes(const char *layer, const char *arg, int spatial, const int64_t v[2]) {
    if (v[0] > 0 && v[1] > 0)
        return true;
    if (spatial == 1)
        nn_error("%s: the argument `%s` must contain positive integers. Received %s=(%lld,)", layer,
                 arg, arg, (long long)v[1]);
    else
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

/* InputSpec(ndim=3) of the 1-D layers. */
static bool want_rank3(const gt_layer *l, int rank, const int64_t *shape) {
    return nn_expect_ndim(l, 3, rank, shape, " (sequences are [batch, steps, channels])");
}

/* InputSpec(ndim=spatial + 2) of a layer with 1 or 2 spatial axes. */
static bool want_spatial(const gt_layer *l, int spatial, int rank, const int64_t *shape) {
    return spatial == 1 ? want_rank3(l, rank, shape) : want_rank4(l, rank, shape);
}

/* [N, L, C] viewed as the one-row image [N, 1, L, C], and back. */
static const gt_tensor *as_row_image(const gt_tensor *x) {
    const int64_t *s = gt_tensor_shape(x);
    return gt_reshape(x, GT_SHAPE(s[0], 1, s[1], s[2]));
}
static gt_tensor *from_row_image(gt_tensor *y) {
    if (!y)
        return NULL;
    const int64_t *s = gt_tensor_shape(y);
    return gt_reshape(y, GT_SHAPE(s[0], s[2], s[3]));
}

/* ---- Conv2D ------------------------------------------------------------------------------- */

/* Conv1D and Conv2D. A Conv1D keeps its sizes in the column entries of the pairs (the row
 * entries are 1), so conv_op_desc serves both. */
typedef struct conv2d_layer {
    gt_layer base;
    int spatial; /* 1 (Conv1D) or 2 (Conv2D) */
    int64_t filters, in_ch;
    int64_t kernel_size[2], strides[2], dilation[2], groups;
    gt_padding padding; /* GT_PADDING_CAUSAL only for Conv1D */
    gt_activation activation;
    bool use_bias;
    gt_initializer kernel_init, bias_init;
    gt_tensor *kernel, *bias;
} conv2d_layer;

static gt_conv2d_desc conv_op_desc(const conv2d_layer *c) {
    /* causal = the input padded on the left by conv_call, then "valid" */
    gt_conv2d_desc d = {.padding =
                            c->padding == GT_PADDING_SAME ? GT_PADDING_SAME : GT_PADDING_VALID,
                        .groups = c->groups};
    for (int i = 0; i < 2; i++) {
        d.strides[i] = c->strides[i];
        d.dilations[i] = c->dilation[i];
    }
    return d;
}

/* The layer's sizes on its spatial axes as Keras prints them: "(3, 2)" or "(3,)". */
static void spatial_str(const conv2d_layer *c, const int64_t v[2], char *buf, size_t n) {
    nn_shape_str(c->spatial, v + 2 - c->spatial, buf, n);
}

static bool conv_build(gt_layer *l, int rank, const int64_t *shape) {
    conv2d_layer *c = (conv2d_layer *)l;
    const char *cls = l->vt->class_name;
    if (!want_spatial(l, c->spatial, rank, shape))
        return false;
    char got[256];
    nn_shape_str(rank, shape, got, sizeof got);
    c->in_ch = shape[rank - 1];
    if (c->in_ch % c->groups != 0) {
        nn_error("%s '%s': The number of input channels must be evenly divisible by the "
                 "number of groups. Received groups=%lld, but the input has %lld channels (full "
                 "input shape is %s).",
                 cls, l->name, (long long)c->groups, (long long)c->in_ch, got);
        return false;
    }
    /* kernel_size + (in_channels / groups, filters): (kh, kw, ...) or (k, ...) */
    int64_t kshape[4];
    int kr = 0;
    for (int i = 2 - c->spatial; i < 2; i++)
        kshape[kr++] = c->kernel_size[i];
    kshape[kr++] = c->in_ch / c->groups;
    kshape[kr++] = c->filters;
    if (c->padding == GT_PADDING_VALID)
        for (int i = 0; i < c->spatial; i++) {
            int a = 2 - c->spatial + i; /* the pair entry of spatial axis i */
            /* L - (k - 1) * d > 0, without the subtraction; (k - 1) * d fits: conv_new
             * checked it */
            if (shape[1 + i] > (c->kernel_size[a] - 1) * c->dilation[a])
                continue;
            char ks[64], dil[64], st[64];
            nn_shape_str(kr, kshape, ks, sizeof ks);
            spatial_str(c, c->dilation, dil, sizeof dil);
            spatial_str(c, c->strides, st, sizeof st);
            nn_error("%s '%s': Computed output size would be zero or negative. Received "
                     "`inputs shape=%s`, `kernel shape=%s`, `dilation_rate=%s`, `strides=%s`, "
                     "`padding=valid`.",
                     cls, l->name, got, ks, dil, st);
            return false;
        }
    c->kernel = gt_layer_add_weight(l, "kernel", kr, kshape, &c->kernel_init, true);
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
    if (!want_spatial(l, c->spatial, rank, shape) || !nn_expect_axis(l, -1, c->in_ch, rank, shape))
        return NULL;
    const gt_tensor *xi = nn_autocast(l, x), *kernel = c->kernel;
    if (c->spatial == 1) {
        xi = as_row_image(xi);
        kernel =
            gt_reshape(kernel, GT_SHAPE(1, c->kernel_size[1], c->in_ch / c->groups, c->filters));
        /* Keras: pad (k - 1)·d steps on the left (fits: conv_new checked it; gt_pad checks
         * the padded length) */
        if (c->padding == GT_PADDING_CAUSAL)
            xi = gt_pad(
                xi,
                (const int64_t[]){0, 0, 0, 0, (c->kernel_size[1] - 1) * c->dilation[1], 0, 0, 0},
                0);
    }
    gt_conv2d_desc d = conv_op_desc(c);
    gt_tensor *y;
    /* conv + bias (+ relu) as one op, as TensorFlow's graph optimizer fuses them; the result
     * and its gradients equal the separate ops' bitwise */
    if (c->bias && (c->activation == GT_ACT_LINEAR || c->activation == GT_ACT_RELU)) {
        y = gt_conv2d_bias_act(xi, kernel, c->bias, c->activation == GT_ACT_RELU, &d);
    } else {
        y = gt_conv2d(xi, kernel, &d);
        if (c->bias)
            y = gt_add(y, c->bias); /* (filters,) broadcasts over [N, OH, OW, filters] */
        y = gt_activation_apply(c->activation, y);
    }
    return c->spatial == 1 ? from_row_image(y) : y;
}

static const gt_layer_vtable conv2d_vt = {"Conv2D", conv_build, conv_call, NULL};
static const gt_layer_vtable conv1d_vt = {"Conv1D", conv_build, conv_call, NULL};

/* The options of a Conv1D or Conv2D, pairs already standardised (1-D sizes in entry 1). */
/* A Conv1D (spatial 1: the descriptor's row entries are 1, its column entries the 1-D sizes)
 * or Conv2D from a Conv2D descriptor. */
static gt_layer *conv_new(const gt_layer_vtable *vt, int spatial,
                          const gt_conv2d_layer_desc *desc) {
    const char *who = vt->class_name;
    if (!desc) {
        nn_error("%s: a descriptor with filters and kernel_size is required", who);
        return NULL;
    }
    int64_t ks[2], st[2], dil[2]; /* the pairs as Keras' standardize_tuple makes them */
    pair(desc->kernel_size, 0, ks);
    pair(desc->strides, 1, st);
    pair(desc->dilation_rate, 1, dil);
    int64_t groups = desc->groups ? desc->groups : 1;
    if (desc->filters <= 0) {
        nn_error("%s: Invalid value for argument `filters`. Expected a strictly positive "
                 "value. Received filters=%lld.",
                 who, (long long)desc->filters);
        return NULL;
    }
    if (ks[0] == 0 && ks[1] == 0) {
        nn_error("%s: `kernel_size` is required (e.g. .kernel_size = {3}%s)", who,
                 spatial == 2 ? " for 3x3" : "");
        return NULL;
    }
    if (!positive_sizes(who, "kernel_size", spatial, ks) ||
        !positive_sizes(who, "strides", spatial, st) ||
        !positive_sizes(who, "dilation_rate", spatial, dil))
        return NULL;
    if (desc->padding != GT_PADDING_VALID && desc->padding != GT_PADDING_SAME &&
        (spatial != 1 || desc->padding != GT_PADDING_CAUSAL)) {
        nn_error("%s: `padding` must be GT_PADDING_VALID or GT_PADDING_SAME%s, got %d", who,
                 spatial == 1 ? " or GT_PADDING_CAUSAL" : "", (int)desc->padding);
        return NULL;
    }
    if (groups <= 0) {
        nn_error("%s: The number of groups must be a positive integer. Received: groups=%lld.", who,
                 (long long)groups);
        return NULL;
    }
    if (desc->filters % groups != 0) {
        nn_error("%s: The number of filters must be evenly divisible by the number of "
                 "groups. Received: groups=%lld, filters=%lld.",
                 who, (long long)groups, (long long)desc->filters);
        return NULL;
    }
    /* The dilated kernel spans (kernel_size - 1) * dilation_rate + 1 steps, which conv_build
     * and the causal padding compute: reject sizes whose span overflows. */
    for (int i = 0; i < 2; i++) {
        int64_t span;
        if (__builtin_mul_overflow(ks[i] - 1, dil[i], &span) ||
            __builtin_add_overflow(span, 1, &span)) {
            char kss[64], dils[64];
            nn_shape_str(spatial, ks + 2 - spatial, kss, sizeof kss);
            nn_shape_str(spatial, dil + 2 - spatial, dils, sizeof dils);
            nn_error("%s: the dilated kernel, (kernel_size - 1) * dilation_rate + 1, overflows. "
                     "Received: kernel_size=%s and dilation_rate=%s",
                     who, kss, dils);
            return NULL;
        }
    }
    if ((st[0] > 1 || st[1] > 1) && (dil[0] > 1 || dil[1] > 1)) {
        char sts[64], dils[64];
        nn_shape_str(spatial, st + 2 - spatial, sts, sizeof sts);
        nn_shape_str(spatial, dil + 2 - spatial, dils, sizeof dils);
        nn_error("%s: `strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                 "Received: strides=%s and dilation_rate=%s",
                 who, sts, dils);
        return NULL;
    }
    if ((int)desc->activation < 0 || desc->activation >= GT_ACT_COUNT) {
        nn_error("%s: unknown activation %d", who, (int)desc->activation);
        return NULL;
    }
    conv2d_layer *c = (conv2d_layer *)gt_layer_new(vt, sizeof(conv2d_layer), desc->name);
    if (!c)
        return NULL;
    c->spatial = spatial;
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

gt_layer *gt_conv2d_layer(const gt_conv2d_layer_desc *desc) {
    return conv_new(&conv2d_vt, 2, desc);
}

gt_layer *gt_conv1d_layer(const gt_conv1d_layer_desc *desc) {
    if (!desc)
        return conv_new(&conv1d_vt, 1, NULL);
    /* one row: the row entries are 1; a kernel_size of 0 stays "required" */
    gt_conv2d_layer_desc d = {.filters = desc->filters,
                              .kernel_size = {desc->kernel_size ? 1 : 0, desc->kernel_size},
                              .strides = {1, desc->strides},
                              .padding = desc->padding,
                              .dilation_rate = {1, desc->dilation_rate},
                              .groups = desc->groups,
                              .activation = desc->activation,
                              .no_bias = desc->no_bias,
                              .kernel_initializer = desc->kernel_initializer,
                              .bias_initializer = desc->bias_initializer,
                              .name = desc->name};
    return conv_new(&conv1d_vt, 1, &d);
}

gt_tensor *gt_conv2d_layer_kernel(const gt_layer *l) {
    return l && l->vt == &conv2d_vt ? ((const conv2d_layer *)l)->kernel : NULL;
}
gt_tensor *gt_conv2d_layer_bias(const gt_layer *l) {
    return l && l->vt == &conv2d_vt ? ((const conv2d_layer *)l)->bias : NULL;
}
gt_tensor *gt_conv1d_layer_kernel(const gt_layer *l) {
    return l && l->vt == &conv1d_vt ? ((const conv2d_layer *)l)->kernel : NULL;
}
gt_tensor *gt_conv1d_layer_bias(const gt_layer *l) {
    return l && l->vt == &conv1d_vt ? ((const conv2d_layer *)l)->bias : NULL;
}

/* ---- MaxPooling1D/2D, AveragePooling1D/2D --------------------------------------------------- */

typedef struct pool_layer {
    gt_layer base;
    int spatial;      /* 1 or 2 */
    gt_pool2d_desc d; /* a 1-D pool's sizes in the column entries, the row entries 1 */
} pool_layer;

static bool pool_build(gt_layer *l, int rank, const int64_t *shape) {
    return want_spatial(l, ((pool_layer *)l)->spatial, rank, shape);
}

typedef gt_tensor *(*pool_fn)(const gt_tensor *x, const gt_pool2d_desc *desc);

static gt_tensor *pool_apply(gt_layer *l, const gt_tensor *x, pool_fn fn) {
    pool_layer *p = (pool_layer *)l;
    if (!want_spatial(l, p->spatial, gt_tensor_rank(x), gt_tensor_shape(x)))
        return NULL;
    if (p->spatial == 1)
        return from_row_image(fn(as_row_image(nn_autocast(l, x)), &p->d));
    return fn(nn_autocast(l, x), &p->d);
}

static gt_tensor *max_pool_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    return pool_apply(l, x, gt_max_pool2d);
}

static gt_tensor *avg_pool_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    return pool_apply(l, x, gt_avg_pool2d);
}

static const gt_layer_vtable max_pool_vt = {"MaxPooling2D", pool_build, max_pool_call, NULL};
static const gt_layer_vtable avg_pool_vt = {"AveragePooling2D", pool_build, avg_pool_call, NULL};
static const gt_layer_vtable max_pool1d_vt = {"MaxPooling1D", pool_build, max_pool_call, NULL};
static const gt_layer_vtable avg_pool1d_vt = {"AveragePooling1D", pool_build, avg_pool_call, NULL};

/* ps and st are standardised pairs (1-D sizes in entry 1); st {0, 0} is strides=None. */
static gt_layer *pool_new(const gt_layer_vtable *vt, int spatial, const int64_t ps[2],
                          const int64_t st_in[2], gt_padding padding, const char *name) {
    int64_t st[2] = {st_in[0], st_in[1]};
    if (!positive_sizes(vt->class_name, "pool_size", spatial, ps))
        return NULL;
    if (st[0] == 0 && st[1] == 0)
        memcpy(st, ps, sizeof st); /* strides=None -> pool_size */
    if (!positive_sizes(vt->class_name, "strides", spatial, st) ||
        !valid_padding(vt->class_name, padding))
        return NULL;
    pool_layer *p = (pool_layer *)gt_layer_new(vt, sizeof(pool_layer), name);
    if (!p)
        return NULL;
    p->spatial = spatial;
    for (int i = 0; i < 2; i++) {
        p->d.pool_size[i] = ps[i];
        p->d.strides[i] = st[i];
    }
    p->d.padding = padding;
    return &p->base;
}

static gt_layer *pool2d_new(const gt_layer_vtable *vt, const gt_pooling2d_desc *desc) {
    static const gt_pooling2d_desc dflt = {{0, 0}, {0, 0}, GT_PADDING_VALID, NULL};
    if (!desc)
        desc = &dflt;
    int64_t ps[2], st[2];
    pair(desc->pool_size, 2, ps);
    pair(desc->strides, 0, st);
    return pool_new(vt, 2, ps, st, desc->padding, desc->name);
}

static gt_layer *pool1d_new(const gt_layer_vtable *vt, const gt_pooling1d_desc *desc) {
    static const gt_pooling1d_desc dflt = {0, 0, GT_PADDING_VALID, NULL};
    if (!desc)
        desc = &dflt;
    const int64_t ps[2] = {1, desc->pool_size ? desc->pool_size : 2};
    /* strides=None: the row entry 0 too, so pool_new takes the pool size */
    const int64_t st[2] = {desc->strides ? 1 : 0, desc->strides};
    return pool_new(vt, 1, ps, st, desc->padding, desc->name);
}

gt_layer *gt_max_pooling2d(const gt_pooling2d_desc *desc) {
    return pool2d_new(&max_pool_vt, desc);
}
gt_layer *gt_average_pooling2d(const gt_pooling2d_desc *desc) {
    return pool2d_new(&avg_pool_vt, desc);
}
gt_layer *gt_max_pooling1d(const gt_pooling1d_desc *desc) {
    return pool1d_new(&max_pool1d_vt, desc);
}
gt_layer *gt_average_pooling1d(const gt_pooling1d_desc *desc) {
    return pool1d_new(&avg_pool1d_vt, desc);
}

/* ---- GlobalAveragePooling2D, GlobalAveragePooling1D, GlobalMaxPooling1D -------------------- */

typedef gt_tensor *(*reduce_fn)(const gt_tensor *x, int naxes, const int *axes, bool keepdims);

typedef struct global_pool_layer {
    gt_layer base;
    int spatial;      /* 1 or 2 */
    reduce_fn reduce; /* 1-D: Keras' ops.mean / ops.max over the steps axis */
    bool keepdims;
} global_pool_layer;

static bool global_pool_build(gt_layer *l, int rank, const int64_t *shape) {
    return want_spatial(l, ((global_pool_layer *)l)->spatial, rank, shape);
}

static gt_tensor *global_pool_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    global_pool_layer *g = (global_pool_layer *)l;
    if (!want_spatial(l, g->spatial, gt_tensor_rank(x), gt_tensor_shape(x)))
        return NULL;
    if (g->spatial == 2)
        return gt_global_avg_pool2d(nn_autocast(l, x), g->keepdims);
    return g->reduce(nn_autocast(l, x), GT_AXES(1), g->keepdims);
}

static const gt_layer_vtable gap_vt = {"GlobalAveragePooling2D", global_pool_build,
                                       global_pool_call, NULL};
static const gt_layer_vtable gap1d_vt = {"GlobalAveragePooling1D", global_pool_build,
                                         global_pool_call, NULL};
static const gt_layer_vtable gmp1d_vt = {"GlobalMaxPooling1D", global_pool_build, global_pool_call,
                                         NULL};

static gt_layer *global_pool_new(const gt_layer_vtable *vt, int spatial, reduce_fn reduce,
                                 const gt_global_pooling2d_desc *desc) {
    global_pool_layer *g =
        (global_pool_layer *)gt_layer_new(vt, sizeof(global_pool_layer), desc ? desc->name : NULL);
    if (!g)
        return NULL;
    g->spatial = spatial;
    g->reduce = reduce;
    g->keepdims = desc && desc->keepdims;
    return &g->base;
}

gt_layer *gt_global_average_pooling2d(const gt_global_pooling2d_desc *desc) {
    return global_pool_new(&gap_vt, 2, NULL, desc);
}
gt_layer *gt_global_average_pooling1d(const gt_global_pooling1d_desc *desc) {
    return global_pool_new(&gap1d_vt, 1, gt_reduce_mean, desc);
}
gt_layer *gt_global_max_pooling1d(const gt_global_pooling1d_desc *desc) {
    return global_pool_new(&gmp1d_vt, 1, gt_reduce_max, desc);
}
