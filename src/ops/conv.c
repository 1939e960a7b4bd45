/* conv2d and its two backprops, channels-last, with TensorFlow's "same"/"valid" geometry.
 *
 * Each backprop is an op of its own whose gradient is again a convolution or backprop:
 *   y  = conv2d(x, w)                 gx = bpi(gy, w)           gw = bpf(x, gy)
 *   dx = bpi(dy, w)    upstream g:    d dy = conv2d(g, w)       d w = bpf(g, dy)
 *   dw = bpf(x, dy)    upstream g:    d x  = bpi(dy, g)         d dy = conv2d(x, g)
 * (all three are bilinear, and <g, bpi(dy, w)> = <conv2d(g, w), dy>,
 *  <g, bpf(x, dy)> = <conv2d(x, g), dy>), so every order of derivative works.
 * The family table (gt__ops_conv) also lists the pooling ops of pool.c. */
#include "kernels/conv.h"
#include "ops/conv_internal.h"
#include "ops/registry.h"

#include <gradtape_conv.h>

typedef struct conv_attr {
    int64_t sh, sw, dh, dw, groups;
    int same;
    int64_t in_n, in_h, in_w, in_c; /* backprop_input: the input's shape */
    int64_t kh, kw, kc, kf;         /* backprop_filter: the filter's shape */
    int relu;                       /* conv2d_bias_act: relu after the bias */
} conv_attr;

extern const gt__op gt__op_conv2d, gt__op_conv2d_backprop_input, gt__op_conv2d_backprop_filter,
    gt__op_conv2d_bias_act;

/* Public names are "gt_" + the op name. */
#define WHO(c) (c)->op->name

static bool float_pair(const char *op, const char *an, const gt_tensor *a, const char *bn,
                       const gt_tensor *b) {
    if (!gt__is_float(a->dtype) || !gt__is_float(b->dtype)) {
        const char *nm = gt__is_float(a->dtype) ? bn : an;
        gt__error("gt_%s: %s has dtype %s but convolutions take float32 or float64; convert it "
                  "with gt_cast(%s, GT_F32)",
                  op, nm, gt_dtype_name(gt__is_float(a->dtype) ? b->dtype : a->dtype), nm);
        return false;
    }
    if (a->dtype != b->dtype) {
        gt__error("gt_%s: %s is %s but %s is %s; TensorFlow does not promote dtypes: convert "
                  "one with gt_cast",
                  op, an, gt_dtype_name(a->dtype), bn, gt_dtype_name(b->dtype));
        return false;
    }
    return true;
}

static bool rank4(const char *op, const char *nm, const char *layout, const gt_tensor *t) {
    if (t->rank == 4)
        return true;
    gt__error("gt_%s: %s has shape %s (rank %d) but must have rank 4, %s", op, nm, GT__SHAPE_STR(t),
              t->rank, layout);
    return false;
}

/* Geometry of a convolution with input [n, h, w, c] and filter [kh, kw, kc, f]; validates the
 * channel arithmetic and the output size. */
static bool make_geom(const char *op, const conv_attr *a, const int64_t *xs, const int64_t *fs,
                      gt__conv_geom *g) {
    *g = (gt__conv_geom){.n = xs[0],
                         .h = xs[1],
                         .w = xs[2],
                         .c = xs[3],
                         .kh = fs[0],
                         .kw = fs[1],
                         .f = fs[3],
                         .sh = a->sh,
                         .sw = a->sw,
                         .dh = a->dh,
                         .dw = a->dw,
                         .groups = a->groups};
    char xb[96], fb[96];
    gt__shape_str(xb, sizeof xb, 4, xs);
    gt__shape_str(fb, sizeof fb, 4, fs);
    if (fs[0] < 1 || fs[1] < 1) {
        gt__error("gt_%s: filter %s has an empty window (%lld x %lld); a filter is [KH, KW, "
                  "C/groups, F] with KH, KW >= 1",
                  op, fb, (long long)fs[0], (long long)fs[1]);
        return false;
    }
    if (fs[2] * a->groups != xs[3]) {
        if (a->groups == 1)
            gt__error("gt_%s: input %s has %lld channels but filter %s expects %lld (filter "
                      "shape is [KH, KW, C, F]); the input's last axis must equal the filter's "
                      "third",
                      op, xb, (long long)xs[3], fb, (long long)fs[2]);
        else
            gt__error("gt_%s: input %s has %lld channels but filter %s with groups=%lld expects "
                      "%lld x %lld = %lld (filter shape is [KH, KW, C/groups, F])",
                      op, xb, (long long)xs[3], fb, (long long)a->groups, (long long)fs[2],
                      (long long)a->groups, (long long)(fs[2] * a->groups));
        return false;
    }
    if (fs[3] % a->groups) {
        gt__error("gt_%s: groups=%lld does not divide the filter count %lld (filter %s); each "
                  "group needs the same number of filters",
                  op, (long long)a->groups, (long long)fs[3], fb);
        return false;
    }
    const bool same = a->same;
    int64_t dims[2][4] = {{xs[1], fs[0], a->sh, a->dh}, {xs[2], fs[1], a->sw, a->dw}};
    int64_t *outs[2] = {&g->oh, &g->ow}, *pads[2] = {&g->pt, &g->pl};
    for (int i = 0; i < 2; i++) {
        if (!gt__conv_out_dim(dims[i][0], dims[i][1], dims[i][2], dims[i][3], same, outs[i],
                              pads[i])) {
            gt__error("gt_%s: with padding \"valid\" the %s filter window (%lld, dilated to %lld) "
                      "is larger than the input's %s (%lld) of %s: the output would be empty "
                      "(TensorFlow: computed output size would be negative); use padding "
                      "\"same\" or a smaller filter",
                      op, i ? "width" : "height", (long long)dims[i][1],
                      (long long)((dims[i][1] - 1) * dims[i][3] + 1), i ? "width" : "height",
                      (long long)dims[i][0], xb);
            return false;
        }
    }
    return true;
}

static void set_out(gt__call *c, gt_dtype dt, int64_t a, int64_t b, int64_t d, int64_t e) {
    c->dtype = dt;
    c->rank = 4;
    c->shape[0] = a;
    c->shape[1] = b;
    c->shape[2] = d;
    c->shape[3] = e;
}

static bool dy_matches(const char *op, const gt__conv_geom *g, const gt_tensor *dy) {
    if (dy->shape[0] == g->n && dy->shape[1] == g->oh && dy->shape[2] == g->ow &&
        dy->shape[3] == g->f)
        return true;
    int64_t want[4] = {g->n, g->oh, g->ow, g->f};
    gt__error("gt_%s: dy has shape %s but the convolution of input [%lld,%lld,%lld,%lld] with "
              "a [%lld,%lld,%lld,%lld] filter gives %s",
              op, GT__SHAPE_STR(dy), (long long)g->n, (long long)g->h, (long long)g->w,
              (long long)g->c, (long long)g->kh, (long long)g->kw, (long long)(g->c / g->groups),
              (long long)g->f, gt__shape_str((char[96]){0}, 96, 4, want));
    return false;
}

/* ---- conv2d ---------------------------------------------------------------------------- */

static bool conv_infer(gt__call *c) {
    const gt_tensor *x = c->in[0], *w = c->in[1];
    gt__conv_geom g;
    if (!rank4(WHO(c), "x", "[batch, height, width, channels]", x) ||
        !rank4(WHO(c), "filter", "[KH, KW, C/groups, F]", w) ||
        !float_pair(WHO(c), "x", x, "filter", w) ||
        !make_geom(WHO(c), c->attr, x->shape, w->shape, &g))
        return false;
    set_out(c, x->dtype, g.n, g.oh, g.ow, g.f);
    int64_t size;
    return gt__check_shape("gt_conv2d", 4, c->shape, &size);
}

static void conv_forward(gt__call *c) {
    gt__conv_geom g;
    make_geom(WHO(c), c->attr, c->in[0]->shape, c->in[1]->shape, &g);
    gt__conv2d_fwd(c->out->dtype, &g, c->in[0]->data, c->in[1]->data, NULL, false, c->out->data);
}

static gt_tensor *apply_bpi(const conv_attr *a, const int64_t *xs, const gt_tensor *w,
                            const gt_tensor *dy) {
    conv_attr b = *a;
    b.in_n = xs[0];
    b.in_h = xs[1];
    b.in_w = xs[2];
    b.in_c = xs[3];
    return gt__apply2(&gt__op_conv2d_backprop_input, w, dy, &b);
}

static gt_tensor *apply_bpf(const conv_attr *a, const gt_tensor *x, const int64_t *fs,
                            const gt_tensor *dy) {
    conv_attr b = *a;
    b.kh = fs[0];
    b.kw = fs[1];
    b.kc = fs[2];
    b.kf = fs[3];
    return gt__apply2(&gt__op_conv2d_backprop_filter, x, dy, &b);
}

static void conv_grad(gt__gctx *g) {
    if (g->need[0])
        g->gx[0] = apply_bpi(g->attr, g->meta[0].shape, g->in[1], g->gy);
    if (g->need[1])
        g->gx[1] = apply_bpf(g->attr, g->in[0], g->meta[1].shape, g->gy);
}

const gt__op gt__op_conv2d = {.name = "conv2d",
                              .nin = 2,
                              .keep_in = 3u,
                              .attr_size = sizeof(conv_attr),
                              .infer = conv_infer,
                              .forward = conv_forward,
                              .grad = conv_grad};

/* ---- conv2d_bias_act (inputs: x, filter, bias): act(conv2d(x, filter) + bias) -------------- */

static bool fused_infer(gt__call *c) {
    const gt_tensor *b = c->in[2];
    if (!conv_infer(c))
        return false;
    if (b->rank != 1 || b->shape[0] != c->shape[3] || b->dtype != c->dtype) {
        gt__error("gt_conv2d_bias_act: bias has shape %s and dtype %s but must be [%lld] of %s "
                  "(one per filter, the convolution's dtype)",
                  GT__SHAPE_STR(b), gt_dtype_name(b->dtype), (long long)c->shape[3],
                  gt_dtype_name(c->dtype));
        return false;
    }
    return true;
}

static void fused_forward(gt__call *c) {
    const conv_attr *a = c->attr;
    gt__conv_geom g;
    make_geom(WHO(c), a, c->in[0]->shape, c->in[1]->shape, &g);
    gt__conv2d_fwd(c->out->dtype, &g, c->in[0]->data, c->in[1]->data, c->in[2]->data, a->relu,
                   c->out->data);
}

/* z = conv2d(x, w) + b, y = relu(z): dz = relu_grad(dy, y) (TensorFlow's ReluGrad, on the
 * output, whose sign is z's), then the bias' sum over every axis but the last and the two
 * backprops, exactly the rules of the separate ops. */
static void fused_grad(gt__gctx *g) {
    const conv_attr *a = g->attr;
    gt_tensor *dz = g->gy;
    if (a->relu)
        dz = gt__relu_grad(g->gy, g->out);
    if (g->need[0])
        g->gx[0] = apply_bpi(a, g->meta[0].shape, g->in[1], dz);
    if (g->need[1])
        g->gx[1] = apply_bpf(a, g->in[0], g->meta[1].shape, dz);
    if (g->need[2])
        g->gx[2] = gt_reduce_sum(dz, GT_AXES(0, 1, 2), false);
}

const gt__op gt__op_conv2d_bias_act = {.name = "conv2d_bias_act",
                                       .nin = 3,
                                       .keep_in = 3u,
                                       .keep_out = true,
                                       .attr_size = sizeof(conv_attr),
                                       .infer = fused_infer,
                                       .forward = fused_forward,
                                       .grad = fused_grad};

/* ---- conv2d_backprop_input (inputs: filter, dy) ------------------------------------------ */

static bool bpi_infer(gt__call *c) {
    const gt_tensor *w = c->in[0], *dy = c->in[1];
    const conv_attr *a = c->attr;
    int64_t xs[4] = {a->in_n, a->in_h, a->in_w, a->in_c};
    gt__conv_geom g;
    if (!rank4(WHO(c), "filter", "[KH, KW, C/groups, F]", w) ||
        !rank4(WHO(c), "dy", "[batch, out_height, out_width, filters]", dy) ||
        !float_pair(WHO(c), "filter", w, "dy", dy) || !make_geom(WHO(c), a, xs, w->shape, &g) ||
        !dy_matches(WHO(c), &g, dy))
        return false;
    set_out(c, w->dtype, xs[0], xs[1], xs[2], xs[3]);
    int64_t size;
    return gt__check_shape("gt_conv2d_backprop_input", 4, c->shape, &size);
}

static void bpi_forward(gt__call *c) {
    const conv_attr *a = c->attr;
    int64_t xs[4] = {a->in_n, a->in_h, a->in_w, a->in_c};
    gt__conv_geom g;
    make_geom(WHO(c), a, xs, c->in[0]->shape, &g);
    gt__conv2d_bwd_input(c->out->dtype, &g, c->in[1]->data, c->in[0]->data, c->out->data);
}

static void bpi_grad(gt__gctx *g) {
    const conv_attr *a = g->attr;
    if (g->need[0])
        g->gx[0] = apply_bpf(a, g->gy, g->meta[0].shape, g->in[1]);
    if (g->need[1])
        g->gx[1] = gt__apply2(&gt__op_conv2d, g->gy, g->in[0], a);
}

const gt__op gt__op_conv2d_backprop_input = {.name = "conv2d_backprop_input",
                                             .nin = 2,
                                             .keep_in = 3u,
                                             .attr_size = sizeof(conv_attr),
                                             .infer = bpi_infer,
                                             .forward = bpi_forward,
                                             .grad = bpi_grad};

/* ---- conv2d_backprop_filter (inputs: x, dy) ---------------------------------------------- */

static bool bpf_infer(gt__call *c) {
    const gt_tensor *x = c->in[0], *dy = c->in[1];
    const conv_attr *a = c->attr;
    int64_t fs[4] = {a->kh, a->kw, a->kc, a->kf};
    gt__conv_geom g;
    if (!rank4(WHO(c), "x", "[batch, height, width, channels]", x) ||
        !rank4(WHO(c), "dy", "[batch, out_height, out_width, filters]", dy) ||
        !float_pair(WHO(c), "x", x, "dy", dy) || !make_geom(WHO(c), a, x->shape, fs, &g) ||
        !dy_matches(WHO(c), &g, dy))
        return false;
    set_out(c, x->dtype, fs[0], fs[1], fs[2], fs[3]);
    int64_t size;
    return gt__check_shape("gt_conv2d_backprop_filter", 4, c->shape, &size);
}

static void bpf_forward(gt__call *c) {
    const conv_attr *a = c->attr;
    int64_t fs[4] = {a->kh, a->kw, a->kc, a->kf};
    gt__conv_geom g;
    make_geom(WHO(c), a, c->in[0]->shape, fs, &g);
    gt__conv2d_bwd_filter(c->out->dtype, &g, c->in[0]->data, c->in[1]->data, c->out->data);
}

static void bpf_grad(gt__gctx *g) {
    const conv_attr *a = g->attr;
    if (g->need[0])
        g->gx[0] = apply_bpi(a, g->meta[0].shape, g->gy, g->in[1]);
    if (g->need[1])
        g->gx[1] = gt__apply2(&gt__op_conv2d, g->in[0], g->gy, a);
}

const gt__op gt__op_conv2d_backprop_filter = {.name = "conv2d_backprop_filter",
                                              .nin = 2,
                                              .keep_in = 3u,
                                              .attr_size = sizeof(conv_attr),
                                              .infer = bpf_infer,
                                              .forward = bpf_forward,
                                              .grad = bpf_grad};

/* ---- public entry points ---------------------------------------------------------------- */

bool gt__check_window_desc(const char *who, int n, const int64_t *v, const char *const *names,
                           const char *const *dflt, gt_padding padding) {
    for (int i = 0; i < n; i++)
        if (v[i] < 0 || v[i] > INT32_MAX) {
            gt__error("%s: %s is %lld but must be in [1, 2147483647] (0 means the default%s)", who,
                      names[i], (long long)v[i], dflt[i]);
            return false;
        }
    if (padding != GT_PADDING_VALID && padding != GT_PADDING_SAME) {
        gt__error("%s: padding is %d; use GT_PADDING_VALID or GT_PADDING_SAME", who, (int)padding);
        return false;
    }
    return true;
}

static bool attr_from(const char *who, const gt_conv2d_desc *d, conv_attr *a) {
    gt_conv2d_desc z = {0};
    if (!d)
        d = &z;
    *a = (conv_attr){0};
    const int64_t v[5] = {d->strides[0], d->strides[1], d->dilations[0], d->dilations[1],
                          d->groups};
    static const char *const nm[5] = {"strides[0]", "strides[1]", "dilations[0]", "dilations[1]",
                                      "groups"};
    static const char *const dflt[5] = {", 1", ", 1", ", 1", ", 1", ", 1"};
    if (!gt__check_window_desc(who, 5, v, nm, dflt, d->padding))
        return false;
    int64_t out[5];
    for (int i = 0; i < 5; i++)
        out[i] = v[i] ? v[i] : 1;
    a->sh = out[0];
    a->sw = out[1];
    a->dh = out[2];
    a->dw = out[3];
    a->groups = out[4];
    a->same = d->padding == GT_PADDING_SAME;
    return true;
}

gt_tensor *gt_conv2d(const gt_tensor *x, const gt_tensor *filter, const gt_conv2d_desc *desc) {
    conv_attr a;
    if (!x || !filter) {
        gt__error_null("gt_conv2d");
        return NULL;
    }
    if (!attr_from("gt_conv2d", desc, &a))
        return NULL;
    return gt__apply2(&gt__op_conv2d, x, filter, &a);
}

gt_tensor *gt_conv2d_bias_act(const gt_tensor *x, const gt_tensor *filter, const gt_tensor *bias,
                              bool relu, const gt_conv2d_desc *desc) {
    conv_attr a;
    if (!x || !filter || !bias) {
        gt__error_null("gt_conv2d_bias_act");
        return NULL;
    }
    if (!attr_from("gt_conv2d_bias_act", desc, &a))
        return NULL;
    a.relu = relu;
    return gt__apply(&gt__op_conv2d_bias_act, 3, (const gt_tensor *const[]){x, filter, bias}, &a);
}

static bool shape4(const char *who, const char *nm, const int64_t *s) {
    int64_t size;
    if (!s) {
        gt__error("%s: %s is NULL; pass 4 dimensions", who, nm);
        return false;
    }
    return gt__check_shape(who, 4, s, &size);
}

gt_tensor *gt_conv2d_backprop_input(const int64_t *input_shape, const gt_tensor *filter,
                                    const gt_tensor *dy, const gt_conv2d_desc *desc) {
    const char *who = "gt_conv2d_backprop_input";
    conv_attr a;
    if (!filter || !dy) {
        gt__error_null(who);
        return NULL;
    }
    if (!shape4(who, "input_shape", input_shape) || !attr_from(who, desc, &a))
        return NULL;
    return apply_bpi(&a, input_shape, filter, dy);
}

gt_tensor *gt_conv2d_backprop_filter(const gt_tensor *x, const int64_t *filter_shape,
                                     const gt_tensor *dy, const gt_conv2d_desc *desc) {
    const char *who = "gt_conv2d_backprop_filter";
    conv_attr a;
    if (!x || !dy) {
        gt__error_null(who);
        return NULL;
    }
    if (!shape4(who, "filter_shape", filter_shape) || !attr_from(who, desc, &a))
        return NULL;
    return apply_bpf(&a, x, filter_shape, dy);
}

gt_tensor *gt_global_avg_pool2d(const gt_tensor *x, bool keepdims) {
    if (!x) {
        gt__error_null("gt_global_avg_pool2d");
        return NULL;
    }
    if (gt_tensor_rank(x) != 4) {
        gt__error("gt_global_avg_pool2d: x has shape %s (rank %d) but must have rank 4, "
                  "[batch, height, width, channels]",
                  gt__shape_str((char[96]){0}, 96, gt_tensor_rank(x), gt_tensor_shape(x)),
                  gt_tensor_rank(x));
        return NULL;
    }
    return gt_reduce_mean(x, GT_AXES(1, 2), keepdims);
}

/* ---- family table ------------------------------------------------------------------------ */

extern const gt__op gt__op_max_pool2d, gt__op_max_pool2d_grad, gt__op_max_pool2d_grad_grad,
    gt__op_avg_pool2d, gt__op_avg_pool2d_grad;

const gt__op *const gt__ops_conv[] = {
    &gt__op_conv2d,     &gt__op_conv2d_backprop_input, &gt__op_conv2d_backprop_filter,
    &gt__op_conv2d_bias_act,
    &gt__op_max_pool2d, &gt__op_max_pool2d_grad,       &gt__op_max_pool2d_grad_grad,
    &gt__op_avg_pool2d, &gt__op_avg_pool2d_grad};
const int gt__ops_conv_n = (int)(sizeof gt__ops_conv / sizeof *gt__ops_conv);
