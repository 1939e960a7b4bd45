/* Max and average pooling, channels-last, with their gradient ops (TensorFlow's MaxPoolGrad,
 * MaxPoolGradGrad, AvgPoolGrad):
 *   y = max_pool2d(x)            gx = max_pool2d_grad(x, gy)
 *   dx = max_pool2d_grad(x, dy)  d dy = max_pool2d_grad_grad(x, g), d x = 0 (argmax is
 *                                piecewise constant)
 *   z = max_pool2d_grad_grad(x, g)   d g = max_pool2d_grad(x, gz), d x = 0
 *   y = avg_pool2d(x)            gx = avg_pool2d_grad(gy)
 *   dx = avg_pool2d_grad(dy)     d dy = avg_pool2d(g)   (the two are adjoint linear maps)
 * The table listing these ops is gt__ops_conv in conv.c. */
#include "kernels/pool.h"
#include "kernels/conv.h"
#include "ops/conv_internal.h"
#include "ops/registry.h"

#include <gradtape_conv.h>

typedef struct pool_attr {
    int64_t ph, pw, sh, sw;
    int same;
    int64_t in_n, in_h, in_w, in_c; /* avg_pool2d_grad: the pooled input's shape */
} pool_attr;

extern const gt__op gt__op_max_pool2d, gt__op_max_pool2d_grad, gt__op_max_pool2d_grad_grad,
    gt__op_avg_pool2d, gt__op_avg_pool2d_grad;

static bool pool_geom(const char *who, const pool_attr *a, const int64_t *xs, gt__pool_geom *g) {
    *g = (gt__pool_geom){.n = xs[0],
                         .h = xs[1],
                         .w = xs[2],
                         .c = xs[3],
                         .ph = a->ph,
                         .pw = a->pw,
                         .sh = a->sh,
                         .sw = a->sw};
    int64_t dims[2][3] = {{xs[1], a->ph, a->sh}, {xs[2], a->pw, a->sw}};
    int64_t *outs[2] = {&g->oh, &g->ow}, *pads[2] = {&g->pt, &g->pl};
    for (int i = 0; i < 2; i++)
        if (!gt__conv_out_dim(dims[i][0], dims[i][1], dims[i][2], 1, a->same, outs[i], pads[i])) {
            gt__error("%s: with padding \"valid\" the pool window's %s (%lld) is larger than the "
                      "input's (%lld) of %s: the output would be empty (TensorFlow: computed "
                      "output size would be negative); use padding \"same\" or a smaller pool",
                      who, i ? "width" : "height", (long long)dims[i][1], (long long)dims[i][0],
                      gt__shape_str((char[96]){0}, 96, 4, xs));
            return false;
        }
    return true;
}

static bool float4(const char *who, const char *nm, const gt_tensor *t) {
    if (t->rank != 4) {
        gt__error("%s: %s has shape %s (rank %d) but must have rank 4, [batch, height, width, "
                  "channels]",
                  who, nm, GT__SHAPE_STR(t), t->rank);
        return false;
    }
    if (!gt__is_float(t->dtype)) {
        gt__error("%s: %s has dtype %s but pooling takes float32 or float64; convert it with "
                  "gt_cast(%s, GT_F32)",
                  who, nm, gt_dtype_name(t->dtype), nm);
        return false;
    }
    return true;
}

/* b must be a float tensor of a's dtype and the given shape. */
static bool operand(const char *who, const char *nm, const gt_tensor *b, gt_dtype dt,
                    const int64_t *want, const char *why) {
    if (!float4(who, nm, b))
        return false;
    if (b->dtype != dt) {
        gt__error("%s: %s is %s but x is %s; TensorFlow does not promote dtypes: convert one "
                  "with gt_cast",
                  who, nm, gt_dtype_name(b->dtype), gt_dtype_name(dt));
        return false;
    }
    if (memcmp(b->shape, want, 4 * sizeof(int64_t))) {
        gt__error("%s: %s has shape %s but must be %s (%s)", who, nm, GT__SHAPE_STR(b),
                  gt__shape_str((char[96]){0}, 96, 4, want), why);
        return false;
    }
    return true;
}

static void set_out(gt__call *c, gt_dtype dt, const int64_t *s) {
    c->dtype = dt;
    c->rank = 4;
    memcpy(c->shape, s, 4 * sizeof(int64_t));
}

static void out_shape(const gt__pool_geom *g, int64_t *s) {
    s[0] = g->n;
    s[1] = g->oh;
    s[2] = g->ow;
    s[3] = g->c;
}

/* ---- max pooling --------------------------------------------------------------------------- */

/* The shape rule of both pools: a float NHWC input and a valid window give the pooled shape. */
static bool pool_infer(gt__call *c, const char *who) {
    gt__pool_geom g;
    int64_t s[4];
    if (!float4(who, "x", c->in[0]) || !pool_geom(who, c->attr, c->in[0]->shape, &g))
        return false;
    out_shape(&g, s);
    set_out(c, c->in[0]->dtype, s);
    return true;
}

static bool maxpool_infer(gt__call *c) { return pool_infer(c, "gt_max_pool2d"); }

static void maxpool_forward(gt__call *c) {
    gt__pool_geom g;
    pool_geom("gt_max_pool2d", c->attr, c->in[0]->shape, &g);
    gt__max_pool_fwd(c->out->dtype, &g, c->in[0]->data, c->out->data);
}

static void maxpool_grad(gt__gctx *g) {
    if (g->need[0])
        g->gx[0] = gt__apply2(&gt__op_max_pool2d_grad, g->in[0], g->gy, g->attr);
}

const gt__op gt__op_max_pool2d = {.name = "max_pool2d",
                                  .nin = 1,
                                  .keep_in = 1u,
                                  .attr_size = sizeof(pool_attr),
                                  .infer = maxpool_infer,
                                  .forward = maxpool_forward,
                                  .grad = maxpool_grad};

/* max_pool2d_grad(x, dy) -> dx */
static bool maxgrad_infer(gt__call *c) {
    const char *who = "gt_max_pool2d_grad";
    const gt_tensor *x = c->in[0];
    gt__pool_geom g;
    int64_t s[4];
    if (!float4(who, "x", x) || !pool_geom(who, c->attr, x->shape, &g))
        return false;
    out_shape(&g, s);
    if (!operand(who, "dy", c->in[1], x->dtype, s, "the pool's output shape"))
        return false;
    set_out(c, x->dtype, x->shape);
    return true;
}

static void maxgrad_forward(gt__call *c) {
    gt__pool_geom g;
    pool_geom("gt_max_pool2d_grad", c->attr, c->in[0]->shape, &g);
    gt__max_pool_bwd(c->out->dtype, &g, c->in[0]->data, c->in[1]->data, c->out->data);
}

/* max_pool2d_grad and max_pool2d_grad_grad are linear in their second input and adjoint to
 * each other. x only picks the argmax positions, which do not move under small changes of x:
 * its gradient is zero (TensorFlow returns zeros too, not None). */
static void max_pair_grad(gt__gctx *g, const gt__op *adjoint) {
    if (g->need[0])
        g->gx[0] = gt_zeros(g->meta[0].dtype, g->meta[0].rank, g->meta[0].shape);
    if (g->need[1])
        g->gx[1] = gt__apply2(adjoint, g->in[0], g->gy, g->attr);
}

static void maxgrad_grad(gt__gctx *g) { max_pair_grad(g, &gt__op_max_pool2d_grad_grad); }

const gt__op gt__op_max_pool2d_grad = {.name = "max_pool2d_grad",
                                       .nin = 2,
                                       .keep_in = 1u,
                                       .attr_size = sizeof(pool_attr),
                                       .infer = maxgrad_infer,
                                       .forward = maxgrad_forward,
                                       .grad = maxgrad_grad};

/* max_pool2d_grad_grad(x, g) -> pool-shaped gather */
static bool maxgg_infer(gt__call *c) {
    const char *who = "gt_max_pool2d_grad_grad";
    const gt_tensor *x = c->in[0];
    gt__pool_geom g;
    int64_t s[4];
    if (!float4(who, "x", x) || !operand(who, "g", c->in[1], x->dtype, x->shape, "x's shape") ||
        !pool_geom(who, c->attr, x->shape, &g))
        return false;
    out_shape(&g, s);
    set_out(c, x->dtype, s);
    return true;
}

static void maxgg_forward(gt__call *c) {
    gt__pool_geom g;
    pool_geom("gt_max_pool2d_grad_grad", c->attr, c->in[0]->shape, &g);
    gt__max_pool_gather(c->out->dtype, &g, c->in[0]->data, c->in[1]->data, c->out->data);
}

static void maxgg_grad(gt__gctx *g) { max_pair_grad(g, &gt__op_max_pool2d_grad); }

const gt__op gt__op_max_pool2d_grad_grad = {.name = "max_pool2d_grad_grad",
                                            .nin = 2,
                                            .keep_in = 1u,
                                            .attr_size = sizeof(pool_attr),
                                            .infer = maxgg_infer,
                                            .forward = maxgg_forward,
                                            .grad = maxgg_grad};

/* ---- average pooling ---------------------------------------------------------------------- */

static bool avgpool_infer(gt__call *c) { return pool_infer(c, "gt_avg_pool2d"); }

static void avgpool_forward(gt__call *c) {
    gt__pool_geom g;
    pool_geom("gt_avg_pool2d", c->attr, c->in[0]->shape, &g);
    gt__avg_pool_fwd(c->out->dtype, &g, c->in[0]->data, c->out->data);
}

static gt_tensor *apply_avg_grad(const pool_attr *a, const int64_t *xs, const gt_tensor *dy) {
    pool_attr b = *a;
    b.in_n = xs[0];
    b.in_h = xs[1];
    b.in_w = xs[2];
    b.in_c = xs[3];
    return gt__apply1(&gt__op_avg_pool2d_grad, dy, &b);
}

static void avgpool_grad(gt__gctx *g) {
    if (g->need[0])
        g->gx[0] = apply_avg_grad(g->attr, g->meta[0].shape, g->gy);
}

const gt__op gt__op_avg_pool2d = {.name = "avg_pool2d",
                                  .nin = 1,
                                  .keep_in = 0,
                                  .attr_size = sizeof(pool_attr),
                                  .infer = avgpool_infer,
                                  .forward = avgpool_forward,
                                  .grad = avgpool_grad};

static bool avggrad_infer(gt__call *c) {
    const char *who = "gt_avg_pool2d_grad";
    const pool_attr *a = c->attr;
    const int64_t xs[4] = {a->in_n, a->in_h, a->in_w, a->in_c};
    const gt_tensor *dy = c->in[0];
    gt__pool_geom g;
    int64_t s[4], size;
    if (!float4(who, "dy", dy) || !pool_geom(who, a, xs, &g))
        return false;
    out_shape(&g, s);
    if (!operand(who, "dy", dy, dy->dtype, s, "the pool's output shape for input_shape"))
        return false;
    set_out(c, dy->dtype, xs);
    return gt__check_shape(who, 4, xs, &size);
}

static void avggrad_forward(gt__call *c) {
    const pool_attr *a = c->attr;
    const int64_t xs[4] = {a->in_n, a->in_h, a->in_w, a->in_c};
    gt__pool_geom g;
    pool_geom("gt_avg_pool2d_grad", a, xs, &g);
    gt__avg_pool_bwd(c->out->dtype, &g, c->in[0]->data, c->out->data);
}

static void avggrad_grad(gt__gctx *g) {
    if (g->need[0])
        g->gx[0] = gt__apply1(&gt__op_avg_pool2d, g->gy, g->attr);
}

const gt__op gt__op_avg_pool2d_grad = {.name = "avg_pool2d_grad",
                                       .nin = 1,
                                       .keep_in = 0,
                                       .attr_size = sizeof(pool_attr),
                                       .infer = avggrad_infer,
                                       .forward = avggrad_forward,
                                       .grad = avggrad_grad};

/* ---- public entry points ------------------------------------------------------------------ */

static bool attr_from(const char *who, const gt_pool2d_desc *d, pool_attr *a) {
    gt_pool2d_desc z = {0};
    if (!d)
        d = &z;
    *a = (pool_attr){0};
    const int64_t v[4] = {d->pool_size[0], d->pool_size[1], d->strides[0], d->strides[1]};
    static const char *const nm[4] = {"pool_size[0]", "pool_size[1]", "strides[0]", "strides[1]"};
    static const char *const dflt[4] = {": 2", ": 2", ": the pool size", ": the pool size"};
    if (!gt__check_window_desc(who, 4, v, nm, dflt, d->padding))
        return false;
    int64_t out[4];
    for (int i = 0; i < 4; i++)
        out[i] = v[i] ? v[i] : i < 2 ? 2 : out[i - 2];
    a->ph = out[0];
    a->pw = out[1];
    a->sh = out[2];
    a->sw = out[3];
    a->same = d->padding == GT_PADDING_SAME;
    return true;
}

static gt_tensor *pool1(const char *who, const gt__op *op, const gt_tensor *x,
                        const gt_pool2d_desc *desc) {
    pool_attr a;
    if (!x) {
        gt__error_null(who);
        return NULL;
    }
    if (!attr_from(who, desc, &a))
        return NULL;
    return gt__apply1(op, x, &a);
}

static gt_tensor *pool2(const char *who, const gt__op *op, const gt_tensor *x, const gt_tensor *y,
                        const gt_pool2d_desc *desc) {
    pool_attr a;
    if (!x || !y) {
        gt__error_null(who);
        return NULL;
    }
    if (!attr_from(who, desc, &a))
        return NULL;
    return gt__apply2(op, x, y, &a);
}

gt_tensor *gt_max_pool2d(const gt_tensor *x, const gt_pool2d_desc *desc) {
    return pool1("gt_max_pool2d", &gt__op_max_pool2d, x, desc);
}

gt_tensor *gt_max_pool2d_grad(const gt_tensor *x, const gt_tensor *dy, const gt_pool2d_desc *desc) {
    return pool2("gt_max_pool2d_grad", &gt__op_max_pool2d_grad, x, dy, desc);
}

gt_tensor *gt_max_pool2d_grad_grad(const gt_tensor *x, const gt_tensor *g,
                                   const gt_pool2d_desc *desc) {
    return pool2("gt_max_pool2d_grad_grad", &gt__op_max_pool2d_grad_grad, x, g, desc);
}

gt_tensor *gt_avg_pool2d(const gt_tensor *x, const gt_pool2d_desc *desc) {
    return pool1("gt_avg_pool2d", &gt__op_avg_pool2d, x, desc);
}

gt_tensor *gt_avg_pool2d_grad(const int64_t *input_shape, const gt_tensor *dy,
                              const gt_pool2d_desc *desc) {
    const char *who = "gt_avg_pool2d_grad";
    pool_attr a;
    int64_t size;
    if (!dy) {
        gt__error_null(who);
        return NULL;
    }
    if (!input_shape) {
        gt__error("%s: input_shape is NULL; pass the pooled input's 4 dimensions", who);
        return NULL;
    }
    if (!gt__check_shape(who, 4, input_shape, &size) || !attr_from(who, desc, &a))
        return NULL;
    return apply_avg_grad(&a, input_shape, dy);
}
