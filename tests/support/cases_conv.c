/* Gradient checks (first and second order, float64) for the convolution and pooling ops:
 * valid / same padding, strides, dilations, groups, 1x1 (the no-im2col path), odd sizes,
 * overlapping pools and size-0 batches. Max pooling inputs are random normals, so no two
 * cells of a window are within the finite-difference step of each other (no ties). */
#include <gradtape_conv.h>

#include "gtt.h"

typedef struct ccfg {
    int64_t x[4], w[4];
    gt_conv2d_desc d;
} ccfg;

static const ccfg convs[] = {
    {{2, 5, 5, 2}, {3, 3, 2, 3}, {.padding = GT_PADDING_VALID}}, /* valid defaults */
    {{1, 5, 6, 2}, {3, 3, 2, 2}, {.padding = GT_PADDING_SAME}},  /* same, odd sizes */
    {{2, 5, 5, 1}, {3, 3, 1, 2}, {.strides = {2, 2}, .padding = GT_PADDING_SAME}},
    {{1, 6, 5, 2}, {2, 3, 2, 2}, {.strides = {2, 1}}}, /* valid, stride 2x1 */
    {{1, 6, 6, 2}, {3, 3, 2, 2}, {.dilations = {2, 2}, .padding = GT_PADDING_SAME}},
    {{1, 7, 6, 1}, {2, 2, 1, 2}, {.strides = {2, 2}, .dilations = {2, 1}}}, /* stride + dilation */
    {{1, 4, 4, 4}, {3, 3, 2, 4}, {.groups = 2, .padding = GT_PADDING_SAME}},
    {{2, 3, 3, 3}, {1, 1, 3, 2}, {.padding = GT_PADDING_VALID}}, /* 1x1: no im2col */
    {{1, 3, 2, 3}, {1, 1, 1, 3}, {.groups = 3}},                 /* 1x1 depthwise */
    {{1, 5, 5, 2}, {1, 1, 2, 2}, {.strides = {2, 2}}},           /* 1x1 strided */
    {{0, 4, 4, 2}, {3, 3, 2, 2}, {.padding = GT_PADDING_SAME}},  /* empty batch */
    {{1, 3, 3, 2}, {2, 2, 2, 0}, {.padding = GT_PADDING_VALID}}, /* no filters */
};
#define NCONV (sizeof convs / sizeof *convs)

static gt_tensor *f_conv(gt_tensor *const *x, void *u) {
    const ccfg *c = u;
    return gt_conv2d(x[0], x[1], &c->d);
}

static void c_conv2d(void) {
    for (size_t i = 0; i < NCONV; i++) {
        gt_scope_begin();
        gt_tensor *x[2] = {gtt_randn(4, convs[i].x, 1.0, 0.0, 800 + i),
                           gtt_randn(4, convs[i].w, 0.5, 0.0, 900 + i)};
        gtt_gradcheck("conv2d", f_conv, (void *)&convs[i], 2, x, NULL);
        gt_scope_end();
    }
}

/* conv2d_bias_act with and without relu on every conv config: pre-activations are random
 * normals of spread ~1, so none lies within the finite-difference step of relu's kink. */
typedef struct fcfg {
    const ccfg *c;
    bool relu;
} fcfg;

static gt_tensor *f_fused(gt_tensor *const *x, void *u) {
    const fcfg *f = u;
    return gt_conv2d_bias_act(x[0], x[1], x[2], f->relu, &f->c->d);
}

static void c_fused(void) {
    for (size_t i = 0; i < NCONV; i++)
        for (int relu = 0; relu < 2; relu++) {
            gt_scope_begin();
            fcfg f = {&convs[i], relu};
            gt_tensor *x[3] = {gtt_randn(4, convs[i].x, 1.0, 0.0, 700 + i),
                               gtt_randn(4, convs[i].w, 0.5, 0.0, 750 + i),
                               gtt_randn(1, &convs[i].w[3], 0.5, 0.0, 780 + i)};
            gtt_gradcheck("conv2d_bias_act", f_fused, &f, 3, x, NULL);
            gt_scope_end();
        }
}

/* The output shape of config c (dy's shape for the backprops). */
static void conv_out(const ccfg *c, int64_t *s) {
    gt_scope_begin();
    gt_tensor *y = gt_conv2d(gt_zeros(GT_F64, 4, c->x), gt_zeros(GT_F64, 4, c->w), &c->d);
    memcpy(s, gt_tensor_shape(y), 4 * sizeof(int64_t));
    gt_scope_end();
}

static gt_tensor *f_bpi(gt_tensor *const *x, void *u) {
    const ccfg *c = u;
    return gt_conv2d_backprop_input(c->x, x[0], x[1], &c->d);
}

static gt_tensor *f_bpf(gt_tensor *const *x, void *u) {
    const ccfg *c = u;
    return gt_conv2d_backprop_filter(x[0], c->w, x[1], &c->d);
}

static void c_bpi(void) {
    for (size_t i = 0; i < NCONV; i++) {
        int64_t ys[4];
        conv_out(&convs[i], ys);
        gt_scope_begin();
        gt_tensor *x[2] = {gtt_randn(4, convs[i].w, 0.5, 0.0, 1000 + i),
                           gtt_randn(4, ys, 1.0, 0.0, 1100 + i)};
        gtt_gradcheck("conv2d_backprop_input", f_bpi, (void *)&convs[i], 2, x, NULL);
        gt_scope_end();
    }
}

static void c_bpf(void) {
    for (size_t i = 0; i < NCONV; i++) {
        int64_t ys[4];
        conv_out(&convs[i], ys);
        gt_scope_begin();
        gt_tensor *x[2] = {gtt_randn(4, convs[i].x, 1.0, 0.0, 1200 + i),
                           gtt_randn(4, ys, 1.0, 0.0, 1300 + i)};
        gtt_gradcheck("conv2d_backprop_filter", f_bpf, (void *)&convs[i], 2, x, NULL);
        gt_scope_end();
    }
}

/* ---- pools ------------------------------------------------------------------------------ */

typedef struct pcfg {
    int64_t x[4];
    gt_pool2d_desc d;
} pcfg;

static const pcfg pools[] = {
    {{2, 4, 4, 2}, {.padding = GT_PADDING_VALID}}, /* 2x2 / 2, valid */
    {{1, 5, 5, 2}, {.pool_size = {3, 3}, .strides = {2, 2}, .padding = GT_PADDING_SAME}},
    {{1, 4, 5, 1}, {.strides = {1, 1}}}, /* overlapping */
    {{1, 5, 4, 2}, {.pool_size = {3, 2}, .strides = {1, 2}, .padding = GT_PADDING_SAME}},
    {{1, 5, 5, 1}, {.padding = GT_PADDING_SAME}},  /* odd size, same */
    {{0, 4, 4, 2}, {.padding = GT_PADDING_VALID}}, /* empty batch */
};
#define NPOOL (sizeof pools / sizeof *pools)

static gt_tensor *f_max(gt_tensor *const *x, void *u) {
    return gt_max_pool2d(x[0], &((const pcfg *)u)->d);
}
static gt_tensor *f_avg(gt_tensor *const *x, void *u) {
    return gt_avg_pool2d(x[0], &((const pcfg *)u)->d);
}
static gt_tensor *f_maxg(gt_tensor *const *x, void *u) {
    return gt_max_pool2d_grad(x[0], x[1], &((const pcfg *)u)->d);
}
static gt_tensor *f_maxgg(gt_tensor *const *x, void *u) {
    return gt_max_pool2d_grad_grad(x[0], x[1], &((const pcfg *)u)->d);
}
static gt_tensor *f_avgg(gt_tensor *const *x, void *u) {
    return gt_avg_pool2d_grad(((const pcfg *)u)->x, x[0], &((const pcfg *)u)->d);
}

static void pool_out(const pcfg *c, int64_t *s) {
    gt_scope_begin();
    gt_tensor *y = gt_avg_pool2d(gt_zeros(GT_F64, 4, c->x), &c->d);
    memcpy(s, gt_tensor_shape(y), 4 * sizeof(int64_t));
    gt_scope_end();
}

static void run_pool(const char *op, gtt_fn f, int kind) {
    for (size_t i = 0; i < NPOOL; i++) {
        int64_t ys[4];
        pool_out(&pools[i], ys);
        gt_scope_begin();
        gt_tensor *xi = gtt_randn(4, pools[i].x, 1.0, 0.0, 1400 + i);
        gt_tensor *in[2] = {xi, NULL};
        int nin = 1;
        if (kind == 1) { /* (x, dy) */
            in[1] = gtt_randn(4, ys, 1.0, 0.0, 1500 + i);
            nin = 2;
        } else if (kind == 2) { /* (x, g) with g of x's shape */
            in[1] = gtt_randn(4, pools[i].x, 1.0, 0.0, 1600 + i);
            nin = 2;
        } else if (kind == 3) { /* (dy) */
            in[0] = gtt_randn(4, ys, 1.0, 0.0, 1700 + i);
        }
        gtt_gradcheck(op, f, (void *)&pools[i], nin, in, NULL);
        gt_scope_end();
    }
}

static void c_max(void) {
    run_pool("max_pool2d", f_max, 0);
}
static void c_maxg(void) {
    run_pool("max_pool2d_grad", f_maxg, 1);
}
static void c_maxgg(void) {
    run_pool("max_pool2d_grad_grad", f_maxgg, 2);
}
static void c_avg(void) {
    run_pool("avg_pool2d", f_avg, 0);
}
static void c_avgg(void) {
    run_pool("avg_pool2d_grad", f_avgg, 3);
}

const gtt_case gtt_cases_conv[] = {
    {"conv2d", c_conv2d},  {"conv2d_backprop_input", c_bpi}, {"conv2d_backprop_filter", c_bpf},
    {"conv2d_bias_act", c_fused},
    {"max_pool2d", c_max}, {"max_pool2d_grad", c_maxg},      {"max_pool2d_grad_grad", c_maxgg},
    {"avg_pool2d", c_avg}, {"avg_pool2d_grad", c_avgg},      {NULL, NULL}};
