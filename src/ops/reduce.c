/* Reductions (reduce_sum/mean/max/min/prod/logsumexp over a set of axes) and argmax/argmin.
 *
 * Forward: the reduced and kept axes are collapsed into alternating groups (size-1 axes
 * dropped), and each reduced group is reduced in turn, innermost first, with the [O, R, I]
 * kernels of kernels/reduce.c: one pass for the common cases (last axis, first axis, all
 * axes). Gradients follow TensorFlow's math_grad.py, written with public ops. */
#include "kernels/reduce.h"
#include "ops/registry.h"

#include <math.h>
#include <stdio.h>

typedef struct red_attr {
    int naxes; /* -1: every axis */
    bool keepdims;
    int axes[GT_MAX_RANK];
} red_attr;

typedef struct arg_attr {
    int axis;
    gt_dtype index_dtype;
} arg_attr;

static char *axes_str(char *buf, size_t n, const red_attr *a) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < a->naxes && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ",%d" : "%d", a->axes[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

/* mask[i] = axis i is reduced. */
static bool norm_axes(const char *who, const red_attr *a, int rank, bool *mask) {
    for (int i = 0; i < rank; i++) mask[i] = a->naxes < 0;
    for (int k = 0; k < a->naxes; k++) {
        int ax;
        if (!gt__axis(who, a->axes[k], rank, &ax)) return false;
        if (mask[ax]) {
            gt__error("%s: axes %s name axis %d twice (for a tensor of rank %d); each axis may "
                      "appear only once", who, axes_str((char[128]){0}, 128, a), ax, rank);
            return false;
        }
        mask[ax] = true;
    }
    return true;
}

static bool red_infer(gt__call *c, const char *who, gt__red_kind kind) {
    const gt_tensor *x = c->in[0];
    const red_attr *a = c->attr;
    if (!gt__reduce_supported(kind, x->dtype)) {
        gt__error("%s: dtype %s is not supported (use float32 or float64%s; convert with "
                  "gt_cast)", who, gt_dtype_name(x->dtype),
                  kind == GT__RED_LSE ? "" : ", int32 or int64");
        return false;
    }
    bool mask[GT_MAX_RANK];
    if (!norm_axes(who, a, x->rank, mask)) return false;
    c->dtype = x->dtype;
    c->rank = 0;
    for (int i = 0; i < x->rank; i++) {
        if (!mask[i]) c->shape[c->rank++] = x->shape[i];
        else if (a->keepdims) c->shape[c->rank++] = 1;
    }
    return true;
}

/* Reduces x into y over the axes in mask, one collapsed group at a time. */
static void red_run(gt__red_kind kind, const gt_tensor *x, gt_tensor *y, const bool *mask) {
    if (y->size == 0) return;
    gt_dtype dt = x->dtype;
    size_t es = gt_dtype_size(dt);
    if (x->size == 0) { /* a reduced axis is empty: every output is the identity */
        gt__reduce(kind, dt, NULL, y->data, y->size, 0, 1);
        return;
    }
    int n = 0, ng = 0;
    int64_t d[GT_MAX_RANK];
    bool r[GT_MAX_RANK];
    for (int i = 0; i < x->rank; i++) {
        if (x->shape[i] == 1) continue;
        if (n && r[n - 1] == mask[i]) {
            d[n - 1] *= x->shape[i];
        } else {
            d[n] = x->shape[i];
            r[n] = mask[i];
            ng += mask[i];
            n++;
        }
    }
    if (ng == 0) {
        memcpy(y->data, x->data, (size_t)x->size * es);
        return;
    }
    const void *cur = x->data;
    gt__storage *held = NULL;
    while (ng > 0) {
        int j = n - 1;
        while (!r[j]) j--;
        int64_t O = 1, R = d[j], I = 1;
        for (int i = 0; i < j; i++) O *= d[i];
        for (int i = j + 1; i < n; i++) I *= d[i];
        void *dst = y->data;
        gt__storage *st = NULL;
        if (ng > 1) {
            st = gt__storage_new((size_t)(O * I) * es);
            if (!st) break; /* the out-of-memory error is set */
            dst = st->data;
        }
        gt__reduce(kind, dt, cur, dst, O, R, I);
        if (held) gt__storage_release(held);
        held = st;
        cur = dst;
        /* Drop group j; its kept neighbours become one group. */
        if (j + 1 < n && j > 0) {
            d[j - 1] *= d[j + 1];
            for (int i = j; i + 2 < n; i++) d[i] = d[i + 2], r[i] = r[i + 2];
            n -= 2;
        } else {
            for (int i = j; i + 1 < n; i++) d[i] = d[i + 1], r[i] = r[i + 1];
            n -= 1;
        }
        ng--;
    }
    if (held) gt__storage_release(held);
}

static void red_forward(gt__call *c, gt__red_kind kind) {
    bool mask[GT_MAX_RANK];
    norm_axes("reduce", c->attr, c->in[0]->rank, mask);
    red_run(kind, c->in[0], c->out, mask);
}

/* ---- gradient helpers ------------------------------------------------------------------ */

/* The reduction's geometry, recomputed from the input's metadata. */
typedef struct red_geo {
    int rank;
    const int64_t *shape; /* the input's */
    int64_t ks[GT_MAX_RANK]; /* the keepdims output shape */
    int axes[GT_MAX_RANK];
    int naxes;
    int64_t count; /* elements reduced into each output */
} red_geo;

static void red_geo_of(const gt__gctx *g, red_geo *o) {
    const gt__meta *m = &g->meta[0];
    bool mask[GT_MAX_RANK];
    norm_axes("reduce", g->attr, m->rank, mask);
    o->rank = m->rank;
    o->shape = m->shape;
    o->naxes = 0;
    o->count = 1;
    for (int i = 0; i < m->rank; i++) {
        o->ks[i] = mask[i] ? 1 : m->shape[i];
        if (mask[i]) {
            o->axes[o->naxes++] = i;
            o->count *= m->shape[i];
        }
    }
}

/* t (an output-shaped tensor) reshaped to the keepdims shape. */
static gt_tensor *keep_shape(const gt_tensor *t, const red_geo *o) {
    if (!t) return NULL;
    if (gt_tensor_rank(t) == o->rank &&
        !memcmp(gt_tensor_shape(t), o->ks, sizeof(int64_t) * (size_t)o->rank))
        return (gt_tensor *)t;
    return gt_reshape(t, o->rank, o->ks);
}

/* t broadcast to the input's shape (the tape needs at least the input's shape). */
static gt_tensor *to_input_shape(gt_tensor *t, const red_geo *o) {
    if (!t) return NULL;
    if (gt_tensor_rank(t) == o->rank &&
        !memcmp(gt_tensor_shape(t), o->shape, sizeof(int64_t) * (size_t)o->rank))
        return t;
    return gt_broadcast_to(t, o->rank, o->shape);
}

/* ---- sum, mean ------------------------------------------------------------------------- */

static bool sum_infer(gt__call *c) { return red_infer(c, "gt_reduce_sum", GT__RED_SUM); }
static void sum_forward(gt__call *c) { red_forward(c, GT__RED_SUM); }
static void sum_grad(gt__gctx *g) {
    if (!g->need[0]) return;
    red_geo o;
    red_geo_of(g, &o);
    g->gx[0] = to_input_shape(keep_shape(g->gy, &o), &o);
}

static bool mean_infer(gt__call *c) { return red_infer(c, "gt_reduce_mean", GT__RED_SUM); }
static void mean_forward(gt__call *c) {
    red_forward(c, GT__RED_SUM);
    gt_tensor *x = c->in[0], *y = c->out;
    if (y->size == 0) return;
    /* Elements per output; 0 when a reduced axis is empty (mean = 0/0 = NaN, as in TF). */
    int64_t cnt = y->size ? x->size / y->size : 0;
    if (x->size == 0) cnt = 0;
    switch (y->dtype) {
    case GT_F32: {
        float *p = y->data, f = (float)cnt;
        for (int64_t i = 0; i < y->size; i++) p[i] /= f;
        break;
    }
    case GT_F64: {
        double *p = y->data, f = (double)cnt;
        for (int64_t i = 0; i < y->size; i++) p[i] /= f;
        break;
    }
    case GT_I32: { /* integer mean truncates toward zero, like TensorFlow's */
        int32_t *p = y->data;
        for (int64_t i = 0; i < y->size; i++) p[i] = cnt ? (int32_t)(p[i] / cnt) : 0;
        break;
    }
    case GT_I64: {
        int64_t *p = y->data;
        for (int64_t i = 0; i < y->size; i++) p[i] = cnt ? p[i] / cnt : 0;
        break;
    }
    default:
        break;
    }
}
static void mean_grad(gt__gctx *g) {
    if (!g->need[0]) return;
    red_geo o;
    red_geo_of(g, &o);
    /* TF's _safe_shape_div: a count of 0 only happens for an empty input, whose gradient is
     * empty anyway; dividing by 1 there avoids 0/0 in the (empty) result. */
    double cnt = o.count > 0 ? (double)o.count : 1.0;
    g->gx[0] = to_input_shape(gt_div_s(keep_shape(g->gy, &o), cnt), &o);
}

/* ---- max, min: dy * (x == y) / count(x == y), ties share equally ---------------------- */

static void minmax_grad(gt__gctx *g) {
    if (!g->need[0]) return;
    red_geo o;
    red_geo_of(g, &o);
    gt_tensor *x = g->in[0];
    gt_tensor *yk = keep_shape(g->out, &o);
    gt_tensor *ind = gt_cast(gt_equal(yk, x), gt_tensor_dtype(x));
    gt_tensor *num = gt_reduce_sum(ind, o.naxes, o.axes, true);
    g->gx[0] = gt_mul(gt_div(ind, num), keep_shape(g->gy, &o));
}

static bool max_infer(gt__call *c) { return red_infer(c, "gt_reduce_max", GT__RED_MAX); }
static void max_forward(gt__call *c) { red_forward(c, GT__RED_MAX); }
static bool min_infer(gt__call *c) { return red_infer(c, "gt_reduce_min", GT__RED_MIN); }
static void min_forward(gt__call *c) { red_forward(c, GT__RED_MIN); }

/* ---- prod ------------------------------------------------------------------------------ */

static bool prod_infer(gt__call *c) { return red_infer(c, "gt_reduce_prod", GT__RED_PROD); }
static void prod_forward(gt__call *c) { red_forward(c, GT__RED_PROD); }

/* d prod / d x_i = product of the other elements of x_i's group (TensorFlow computes it as
 * an exclusive cumprod from both sides, which handles zeros). Here, with p the product of the
 * group's nonzero elements, nz its number of zeros and zp the product of its zero elements
 * (0 with a zero, else 1):
 *   x_i != 0:  (p / x_i) * zp                x_i == 0:  p if nz == 1, else 0.
 * Same values, and written so that the second derivative is exact except between two zeros of
 * one group (TensorFlow's own second derivative there divides by zero): zp carries the
 * dependence on the single zero, and divisions only see the nonzero stand-ins xs. */
static void prod_grad(gt__gctx *g) {
    if (!g->need[0]) return;
    red_geo o;
    red_geo_of(g, &o);
    gt_tensor *x = g->in[0];
    gt_dtype dt = gt_tensor_dtype(x);
    gt_tensor *zero = gt_scalar_of(dt, 0.0), *one = gt_scalar_of(dt, 1.0);
    gt_tensor *isz = gt_equal(x, zero);
    gt_tensor *xs = gt_where(isz, one, x);
    gt_tensor *p = gt_reduce_prod(xs, o.naxes, o.axes, true);
    gt_tensor *zp = gt_reduce_prod(gt_where(isz, x, one), o.naxes, o.axes, true);
    gt_tensor *nz = gt_reduce_sum(gt_cast(isz, dt), o.naxes, o.axes, true);
    gt_tensor *at_zero = gt_where(gt_equal(nz, one), p, zero);
    gt_tensor *excl = gt_where(isz, at_zero, gt_mul(gt_div(p, xs), zp));
    g->gx[0] = gt_mul(keep_shape(g->gy, &o), excl);
}

/* ---- logsumexp: dy * softmax(x) over the reduced axes ----------------------------------- */

static bool lse_infer(gt__call *c) { return red_infer(c, "gt_reduce_logsumexp", GT__RED_LSE); }
static void lse_forward(gt__call *c) { red_forward(c, GT__RED_LSE); }
/* TensorFlow composes logsumexp from ops, so its gradient is (dy / s) * e with
 * e = exp(x - shift), s = sum(e) and a stop-gradient shift: ties give exactly equal shares.
 * The output itself is the shift here (as good as the max: e <= 1, s >= 1); the shift cancels
 * in e / s, so higher derivatives are exact. */
static void lse_grad(gt__gctx *g) {
    if (!g->need[0]) return;
    red_geo o;
    red_geo_of(g, &o);
    gt_tensor *shift = gt_stop_gradient(keep_shape(g->out, &o));
    gt_tensor *e = gt_exp(gt_sub(g->in[0], shift));
    gt_tensor *s = gt_reduce_sum(e, o.naxes, o.axes, true);
    g->gx[0] = gt_mul(gt_div(keep_shape(g->gy, &o), s), e);
}

/* ---- argmax / argmin ------------------------------------------------------------------- */

static bool arg_infer(gt__call *c, const char *who) {
    const gt_tensor *x = c->in[0];
    const arg_attr *a = c->attr;
    if (x->dtype == GT_BOOL) {
        gt__error("%s: dtype bool is not supported (use a numeric dtype; convert with gt_cast)",
                  who);
        return false;
    }
    if (a->index_dtype != GT_I32 && a->index_dtype != GT_I64) {
        gt__error("%s: index dtype must be GT_I32 or GT_I64, got %s", who,
                  (unsigned)a->index_dtype <= GT_BOOL ? gt_dtype_name(a->index_dtype) : "invalid");
        return false;
    }
    if (x->rank == 0) {
        gt__error("%s: the input is a scalar; argmax/argmin need a tensor of rank >= 1", who);
        return false;
    }
    int ax;
    if (!gt__axis(who, a->axis, x->rank, &ax)) return false;
    if (x->shape[ax] == 0) {
        gt__error("%s: axis %d of shape %s is empty; there is no index to return (TensorFlow: "
                  "Reduction axis is empty)", who, a->axis, GT__SHAPE_STR(x));
        return false;
    }
    if (a->index_dtype == GT_I32 && x->shape[ax] - 1 > INT32_MAX) {
        gt__error("%s: axis %d of shape %s has more entries than int32 indices can hold; use "
                  "GT_I64", who, a->axis, GT__SHAPE_STR(x));
        return false;
    }
    c->dtype = a->index_dtype;
    c->rank = 0;
    for (int i = 0; i < x->rank; i++)
        if (i != ax) c->shape[c->rank++] = x->shape[i];
    return true;
}

static void arg_forward(gt__call *c, bool is_max) {
    const gt_tensor *x = c->in[0];
    const arg_attr *a = c->attr;
    int ax = a->axis < 0 ? a->axis + x->rank : a->axis;
    int64_t O = 1, I = 1;
    for (int i = 0; i < ax; i++) O *= x->shape[i];
    for (int i = ax + 1; i < x->rank; i++) I *= x->shape[i];
    if (c->out->size == 0) return;
    gt__argreduce(is_max, x->dtype, x->data, a->index_dtype, c->out->data, O, x->shape[ax], I);
}

static bool argmax_infer(gt__call *c) { return arg_infer(c, "gt_argmax"); }
static void argmax_forward(gt__call *c) { arg_forward(c, true); }
static bool argmin_infer(gt__call *c) { return arg_infer(c, "gt_argmin"); }
static void argmin_forward(gt__call *c) { arg_forward(c, false); }

/* ---- registry and public functions ------------------------------------------------------- */

const gt__op gt__op_reduce_sum = {.name = "reduce_sum", .nin = 1, .attr_size = sizeof(red_attr),
                                  .infer = sum_infer, .forward = sum_forward, .grad = sum_grad};
const gt__op gt__op_reduce_mean = {.name = "reduce_mean", .nin = 1, .attr_size = sizeof(red_attr),
                                   .infer = mean_infer, .forward = mean_forward,
                                   .grad = mean_grad};
const gt__op gt__op_reduce_max = {.name = "reduce_max", .nin = 1, .keep_in = 1u, .keep_out = true,
                                  .attr_size = sizeof(red_attr), .infer = max_infer,
                                  .forward = max_forward, .grad = minmax_grad};
const gt__op gt__op_reduce_min = {.name = "reduce_min", .nin = 1, .keep_in = 1u, .keep_out = true,
                                  .attr_size = sizeof(red_attr), .infer = min_infer,
                                  .forward = min_forward, .grad = minmax_grad};
const gt__op gt__op_reduce_prod = {.name = "reduce_prod", .nin = 1, .keep_in = 1u,
                                   .attr_size = sizeof(red_attr), .infer = prod_infer,
                                   .forward = prod_forward, .grad = prod_grad};
const gt__op gt__op_reduce_logsumexp = {.name = "reduce_logsumexp", .nin = 1, .keep_in = 1u,
                                        .keep_out = true, .attr_size = sizeof(red_attr),
                                        .infer = lse_infer, .forward = lse_forward,
                                        .grad = lse_grad};
const gt__op gt__op_argmax = {.name = "argmax", .nin = 1, .flags = GT__OP_NONDIFF,
                              .attr_size = sizeof(arg_attr), .infer = argmax_infer,
                              .forward = argmax_forward};
const gt__op gt__op_argmin = {.name = "argmin", .nin = 1, .flags = GT__OP_NONDIFF,
                              .attr_size = sizeof(arg_attr), .infer = argmin_infer,
                              .forward = argmin_forward};

static gt_tensor *reduce_api(const gt__op *op, const char *who, const gt_tensor *x, int naxes,
                             const int *axes, bool keepdims) {
    if (!x) {
        gt__error_null(who);
        return NULL;
    }
    red_attr a;
    memset(&a, 0, sizeof a); /* the tape copies the whole struct */
    a.naxes = -1;
    a.keepdims = keepdims;
    if (axes) {
        if (naxes < 0 || naxes > GT_MAX_RANK) {
            gt__error("%s: %d axes given; pass 0 to %d distinct axes (or GT_ALL for every axis)",
                      who, naxes, GT_MAX_RANK);
            return NULL;
        }
        a.naxes = naxes;
        memcpy(a.axes, axes, sizeof(int) * (size_t)naxes);
    }
    return gt__apply1(op, x, &a);
}

gt_tensor *gt_reduce_sum(const gt_tensor *x, int naxes, const int *axes, bool keepdims) {
    return reduce_api(&gt__op_reduce_sum, "gt_reduce_sum", x, naxes, axes, keepdims);
}
gt_tensor *gt_reduce_mean(const gt_tensor *x, int naxes, const int *axes, bool keepdims) {
    return reduce_api(&gt__op_reduce_mean, "gt_reduce_mean", x, naxes, axes, keepdims);
}
gt_tensor *gt_reduce_max(const gt_tensor *x, int naxes, const int *axes, bool keepdims) {
    return reduce_api(&gt__op_reduce_max, "gt_reduce_max", x, naxes, axes, keepdims);
}
gt_tensor *gt_reduce_min(const gt_tensor *x, int naxes, const int *axes, bool keepdims) {
    return reduce_api(&gt__op_reduce_min, "gt_reduce_min", x, naxes, axes, keepdims);
}
gt_tensor *gt_reduce_prod(const gt_tensor *x, int naxes, const int *axes, bool keepdims) {
    return reduce_api(&gt__op_reduce_prod, "gt_reduce_prod", x, naxes, axes, keepdims);
}
gt_tensor *gt_reduce_logsumexp(const gt_tensor *x, int naxes, const int *axes, bool keepdims) {
    return reduce_api(&gt__op_reduce_logsumexp, "gt_reduce_logsumexp", x, naxes, axes, keepdims);
}

static gt_tensor *arg_api(const gt__op *op, const gt_tensor *x, int axis, gt_dtype idt) {
    arg_attr a;
    memset(&a, 0, sizeof a);
    a.axis = axis;
    a.index_dtype = idt;
    return gt__apply1(op, x, &a);
}
gt_tensor *gt_argmax(const gt_tensor *x, int axis, gt_dtype index_dtype) {
    return arg_api(&gt__op_argmax, x, axis, index_dtype);
}
gt_tensor *gt_argmin(const gt_tensor *x, int axis, gt_dtype index_dtype) {
    return arg_api(&gt__op_argmin, x, axis, index_dtype);
}

const gt__op *const gt__ops_reduce[] = {&gt__op_reduce_sum,  &gt__op_reduce_mean,
                                        &gt__op_reduce_max,  &gt__op_reduce_min,
                                        &gt__op_reduce_prod, &gt__op_reduce_logsumexp,
                                        &gt__op_argmax,      &gt__op_argmin};
const int gt__ops_reduce_n = (int)(sizeof gt__ops_reduce / sizeof *gt__ops_reduce);
