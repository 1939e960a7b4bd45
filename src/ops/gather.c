/* Shape ops that replicate or pick elements: tile, pad, broadcast_to, gather, gather_grad (the
 * scatter-add gradient of gather, registered as an op of its own whose gradient is a gather
 * again, so derivatives of any order go through) and one_hot. Registered in shape.c's table. */
#include "kernels/shape.h"
#include "ops/registry.h"
#include "ops/shape_internal.h"

#include <stddef.h>
#include <stdio.h>

/* Shared by gather and gather_grad: "[outer..., n, inner...]" around the indexed axis. */
typedef struct gather_attr {
    int axis;
    int64_t n; /* gather_grad: size of the params axis to scatter into */
} gather_attr;

static bool index_dtype_ok(const char *who, const gt_tensor *idx) {
    if (idx->dtype == GT_I32 || idx->dtype == GT_I64)
        return true;
    gt__error("%s: indices have dtype %s; they must be int32 or int64 (cast them with gt_cast)",
              who, gt_dtype_name(idx->dtype));
    return false;
}

/* Checks every index against [0, limit) and names the first bad one by its position. */
static bool indices_in_range(const char *who, const gt_tensor *idx, int64_t limit,
                             const gt_tensor *params, int axis) {
    int64_t j = gt__k_index_check(idx->data, idx->dtype == GT_I64, idx->size, limit);
    if (j < 0)
        return true;
    char pos[160];
    int m = 0;
    int64_t rem = j, coord[GT_MAX_RANK];
    for (int i = idx->rank - 1; i >= 0; i--) {
        coord[i] = rem % idx->shape[i];
        rem /= idx->shape[i];
    }
    for (int i = 0; i < idx->rank; i++)
        m += snprintf(pos + m, sizeof pos - (size_t)m, i ? ",%lld" : "%lld", (long long)coord[i]);
    int64_t v =
        idx->dtype == GT_I64 ? ((const int64_t *)idx->data)[j] : ((const int32_t *)idx->data)[j];
    gt__error("%s: indices[%s] = %lld is not in [0, %lld) (%s shape %s, axis %d)", who, pos,
              (long long)v, (long long)limit, params ? "params" : "gradient",
              params ? GT__SHAPE_STR(params) : "-", axis);
    return false;
}

static void split3(const int64_t *shape, int rank, int axis, int64_t *outer, int64_t *inner) {
    *outer = *inner = 1;
    for (int i = 0; i < axis; i++)
        *outer *= shape[i];
    for (int i = axis + 1; i < rank; i++)
        *inner *= shape[i];
}

#define SHAPE_STR(r, s) gt__shape_str((char[96]){0}, 96, (r), (s))

/* ---- tile ----------------------------------------------------------------------------------- */

typedef struct tile_attr {
    int64_t mult[GT_MAX_RANK];
} tile_attr;

static bool tile_infer(gt__call *c) {
    const tile_attr *a = c->attr;
    const gt_tensor *x = c->in[0];
    for (int i = 0; i < x->rank; i++) {
        if (a->mult[i] < 0) {
            gt__error("gt_tile: multiples[%d] = %lld is negative (input shape %s); multiples "
                      "must be >= 0",
                      i, (long long)a->mult[i], GT__SHAPE_STR(x));
            return false;
        }
        if (x->shape[i] && a->mult[i] > INT64_MAX / 8 / x->shape[i]) {
            gt__error("gt_tile: tiling shape %s by multiples[%d] = %lld overflows",
                      GT__SHAPE_STR(x), i, (long long)a->mult[i]);
            return false;
        }
        c->shape[i] = x->shape[i] * a->mult[i];
    }
    c->dtype = x->dtype;
    c->rank = x->rank;
    return gt__check_shape("gt_tile", c->rank, c->shape, NULL);
}

static void tile_forward(gt__call *c) {
    const tile_attr *a = c->attr;
    const gt_tensor *x = c->in[0];
    int r = x->rank;
    int64_t xs[GT_MAX_RANK], os[GT_MAX_RANK];
    int64_t shape[2 * GT_MAX_RANK], ds[2 * GT_MAX_RANK], ss[2 * GT_MAX_RANK];
    strides_of(r, x->shape, xs);
    strides_of(r, c->shape, os);
    /* Output axis i seen as (repeat m_i, element d_i): the repeat axis reads source stride 0. */
    for (int i = 0; i < r; i++) {
        shape[2 * i] = a->mult[i], ds[2 * i] = x->shape[i] * os[i], ss[2 * i] = 0;
        shape[2 * i + 1] = x->shape[i], ds[2 * i + 1] = os[i], ss[2 * i + 1] = xs[i];
    }
    if (c->out->size)
        gt__k_copy_strided(c->out->data, x->data, gt_dtype_size(x->dtype), 2 * r, shape, ds, ss);
}

static void tile_grad(gt__gctx *g) {
    if (!g->need[0])
        return;
    const tile_attr *a = g->attr;
    const gt__meta *m = &g->meta[0];
    int r = m->rank, b = rows_of(g, r), ns = 0, na = 0, axes[GT_MAX_RANK];
    int64_t sh[2 * GT_MAX_RANK + 1];
    if (b)
        sh[ns++] = g->gy->shape[0];
    for (int i = 0; i < r; i++) {
        if (a->mult[i] != 1) {
            axes[na++] = ns;
            sh[ns++] = a->mult[i];
        }
        sh[ns++] = m->shape[i];
    }
    if (na == 0) {
        g->gx[0] = g->gy;
        return;
    }
    if (ns <= GT_MAX_RANK) {
        g->gx[0] = gt_reduce_sum(gt_reshape(g->gy, ns, sh), na, axes, false);
        return;
    }
    /* Too many axes for one view: fold one tiled axis at a time as [before, m, d, after]. */
    gt_tensor *cur = g->gy;
    int n = r + b;
    int64_t cs[GT_MAX_RANK + 1];
    memcpy(cs, g->gy->shape, sizeof(int64_t) * (size_t)n);
    for (int i = b; i < n && cur; i++) {
        if (a->mult[i - b] == 1)
            continue;
        int64_t v[4] = {1, a->mult[i - b], m->shape[i - b], 1};
        for (int k = 0; k < i; k++)
            v[0] *= cs[k];
        for (int k = i + 1; k < n; k++)
            v[3] *= cs[k];
        cs[i] = m->shape[i - b];
        cur = gt_reshape(gt_reduce_sum(gt_reshape(cur, 4, v), GT_AXES(1), false), n, cs);
    }
    g->gx[0] = cur;
}

const gt__op gt__op_tile = {.name = "tile",
                            .nin = 1,
                            .flags = GT__OP_BATCHABLE,
                            .attr_size = sizeof(tile_attr),
                            .infer = tile_infer,
                            .forward = tile_forward,
                            .grad = tile_grad};

gt_tensor *gt_tile(const gt_tensor *x, const int64_t *multiples) {
    if (!x) {
        gt__error_null("gt_tile");
        return NULL;
    }
    if (x->rank > 0 && !multiples) {
        gt__error("gt_tile: multiples needs %d values (one per axis of shape %s), got NULL",
                  x->rank, GT__SHAPE_STR(x));
        return NULL;
    }
    tile_attr a;
    for (int i = 0; i < x->rank; i++)
        a.mult[i] = multiples[i];
    return gt__apply1(&gt__op_tile, x, &a);
}

/* ---- pad ------------------------------------------------------------------------------------ */

typedef struct pad_attr {
    int64_t pad[2 * GT_MAX_RANK];
    double value;
} pad_attr;

/* A C value converted to dtype's bytes; out-of-range values saturate rather than overflow. */
static void scalar_bytes(gt_dtype dt, double v, unsigned char *out) {
    switch (dt) {
    case GT_F32: {
        float f = (float)v;
        memcpy(out, &f, sizeof f);
        break;
    }
    case GT_F64:
        memcpy(out, &v, sizeof v);
        break;
    case GT_I32: {
        int32_t i = v != v               ? 0
                    : v >= 2147483647.0  ? INT32_MAX
                    : v <= -2147483648.0 ? INT32_MIN
                                         : (int32_t)v;
        memcpy(out, &i, sizeof i);
        break;
    }
    case GT_I64: {
        int64_t i = v != v                        ? 0
                    : v >= 9223372036854775807.0  ? INT64_MAX
                    : v <= -9223372036854775808.0 ? INT64_MIN
                                                  : (int64_t)v;
        memcpy(out, &i, sizeof i);
        break;
    }
    case GT_BOOL:
        out[0] = v != 0;
        break;
    }
}

static bool pad_infer(gt__call *c) {
    const pad_attr *a = c->attr;
    const gt_tensor *x = c->in[0];
    for (int i = 0; i < x->rank; i++) {
        int64_t lo = a->pad[2 * i], hi = a->pad[2 * i + 1];
        if (lo < 0 || hi < 0) {
            gt__error("gt_pad: paddings for axis %d are (%lld, %lld); paddings must be "
                      "non-negative (input shape %s; use gt_slice to crop)",
                      i, (long long)lo, (long long)hi, GT__SHAPE_STR(x));
            return false;
        }
        if (lo > INT64_MAX / 16 || hi > INT64_MAX / 16 - lo ||
            x->shape[i] > INT64_MAX / 8 - lo - hi) {
            gt__error("gt_pad: paddings (%lld, %lld) for axis %d of shape %s overflow",
                      (long long)lo, (long long)hi, i, GT__SHAPE_STR(x));
            return false;
        }
        c->shape[i] = x->shape[i] + lo + hi;
    }
    c->dtype = x->dtype;
    c->rank = x->rank;
    return gt__check_shape("gt_pad", c->rank, c->shape, NULL);
}

static void pad_forward(gt__call *c) {
    const pad_attr *a = c->attr;
    const gt_tensor *x = c->in[0];
    size_t es = gt_dtype_size(x->dtype);
    unsigned char v[8];
    scalar_bytes(x->dtype, a->value, v);
    if (c->out->size == x->size) { /* nothing to pad (all zeros, or a size-0 axis elsewhere) */
        if (x->size)
            memcpy(c->out->data, x->data, (size_t)x->size * es);
        return;
    }
    gt__k_fill(c->out->data, es, c->out->size, v);
    if (!x->size)
        return;
    int64_t xs[GT_MAX_RANK], os[GT_MAX_RANK], off = 0;
    strides_of(x->rank, x->shape, xs);
    strides_of(c->rank, c->shape, os);
    for (int i = 0; i < x->rank; i++)
        off += a->pad[2 * i] * os[i];
    gt__k_copy_strided((char *)c->out->data + (size_t)off * es, x->data, es, x->rank, x->shape, os,
                       xs);
}

static void pad_grad(gt__gctx *g) {
    const pad_attr *a = g->attr;
    int b = rows_of(g, g->meta[0].rank);
    int64_t begin[GT_MAX_RANK + 1] = {0}, size[GT_MAX_RANK + 1];
    in_shape(g, 0, b, size);
    for (int i = 0; i < g->meta[0].rank; i++)
        begin[i + b] = a->pad[2 * i];
    if (g->need[0])
        g->gx[0] = gt_slice(g->gy, begin, size);
}

const gt__op gt__op_pad = {.name = "pad",
                           .nin = 1,
                           .flags = GT__OP_BATCHABLE,
                           .attr_size = sizeof(pad_attr),
                           .infer = pad_infer,
                           .forward = pad_forward,
                           .grad = pad_grad};

gt_tensor *gt_pad(const gt_tensor *x, const int64_t *paddings, double value) {
    if (!x) {
        gt__error_null("gt_pad");
        return NULL;
    }
    if (x->rank > 0 && !paddings) {
        gt__error("gt_pad: paddings needs %d values (before, after per axis of shape %s), got NULL",
                  2 * x->rank, GT__SHAPE_STR(x));
        return NULL;
    }
    pad_attr a; /* filled below; no blanket clear of the struct on the op path */
    a.value = value;
    for (int i = 0; i < 2 * x->rank; i++)
        a.pad[i] = paddings[i];
    return gt__apply1(&gt__op_pad, x, &a);
}

/* ---- broadcast_to --------------------------------------------------------------------------- */

static bool broadcast_to_infer(gt__call *c) {
    const reshape_attr *a = c->attr;
    const gt_tensor *x = c->in[0];
    if (!gt__check_shape("gt_broadcast_to", a->rank, a->shape, NULL))
        return false;
    bool ok = x->rank <= a->rank;
    for (int i = 0; ok && i < x->rank; i++) {
        int64_t d = x->shape[x->rank - 1 - i], t = a->shape[a->rank - 1 - i];
        ok = d == t || d == 1;
    }
    if (!ok) {
        gt__error("gt_broadcast_to: cannot broadcast shape %s to %s; aligned from the last axis, "
                  "each input dimension must equal the target's or be 1%s",
                  GT__SHAPE_STR(x), SHAPE_STR(a->rank, a->shape),
                  x->rank > a->rank ? ", and the target needs at least the input's rank" : "");
        return false;
    }
    c->dtype = x->dtype;
    c->rank = a->rank;
    memcpy(c->shape, a->shape, sizeof(int64_t) * (size_t)a->rank);
    return true;
}

static void broadcast_to_forward(gt__call *c) {
    const gt_tensor *x = c->in[0];
    int64_t xs[GT_MAX_RANK], ss[GT_MAX_RANK], ds[GT_MAX_RANK];
    strides_of(x->rank, x->shape, xs);
    strides_of(c->rank, c->shape, ds);
    int lead = c->rank - x->rank;
    for (int i = 0; i < c->rank; i++)
        ss[i] = i < lead || x->shape[i - lead] == 1 ? 0 : xs[i - lead];
    if (c->out->size)
        gt__k_copy_strided(c->out->data, x->data, gt_dtype_size(x->dtype), c->rank, c->shape, ds,
                           ss);
}

/* The tape sums a gradient down to its input's shape (the one place un-broadcasting lives),
 * with or without a leading row axis. */
static void broadcast_to_grad(gt__gctx *g) {
    if (g->need[0])
        g->gx[0] = g->gy;
}

const gt__op gt__op_broadcast_to = {.name = "broadcast_to",
                                    .nin = 1,
                                    .flags = GT__OP_BATCHABLE,
                                    .attr_size = 0,
                                    .infer = broadcast_to_infer,
                                    .forward = broadcast_to_forward,
                                    .grad = broadcast_to_grad};

gt_tensor *gt_broadcast_to(const gt_tensor *x, int rank, const int64_t *shape) {
    if (rank < 0 || rank > GT_MAX_RANK || (rank > 0 && !shape)) {
        gt__error("gt_broadcast_to: invalid target shape (rank %d%s); ranks go from 0 to %d", rank,
                  rank > 0 && !shape ? ", NULL shape" : "", GT_MAX_RANK);
        return NULL;
    }
    reshape_attr a; /* only the first `rank` dims are read */
    a.rank = rank;
    if (rank)
        memcpy(a.shape, shape, sizeof(int64_t) * (size_t)rank);
    return gt__apply1(&gt__op_broadcast_to, x, &a);
}

/* ---- gather --------------------------------------------------------------------------------- */

static bool gather_infer(gt__call *c) {
    gather_attr *a = (gather_attr *)c->attr;
    const gt_tensor *p = c->in[0], *idx = c->in[1];
    int ax;
    if (!index_dtype_ok("gt_gather", idx))
        return false;
    if (p->rank == 0) {
        gt__error("gt_gather: params is a scalar; it needs rank >= 1 to gather along an axis");
        return false;
    }
    if (!gt__axis("gt_gather", a->axis, p->rank, &ax))
        return false;
    if (p->rank - 1 + idx->rank > GT_MAX_RANK) {
        gt__error("gt_gather: the result would have rank %d (params %s, indices %s); the highest "
                  "supported rank is %d",
                  p->rank - 1 + idx->rank, GT__SHAPE_STR(p), GT__SHAPE_STR(idx), GT_MAX_RANK);
        return false;
    }
    if (!indices_in_range("gt_gather", idx, p->shape[ax], p, ax))
        return false;
    c->dtype = p->dtype;
    c->rank = 0;
    for (int i = 0; i < ax; i++)
        c->shape[c->rank++] = p->shape[i];
    for (int i = 0; i < idx->rank; i++)
        c->shape[c->rank++] = idx->shape[i];
    for (int i = ax + 1; i < p->rank; i++)
        c->shape[c->rank++] = p->shape[i];
    a->axis = ax;
    return gt__check_shape("gt_gather", c->rank, c->shape, NULL);
}

static void gather_forward(gt__call *c) {
    const gt_tensor *p = c->in[0], *idx = c->in[1];
    int ax = ((const gather_attr *)c->attr)->axis;
    int64_t outer, inner;
    split3(p->shape, p->rank, ax, &outer, &inner);
    gt__k_gather(c->out->data, p->data, gt_dtype_size(p->dtype), outer, p->shape[ax], inner,
                 idx->data, idx->dtype == GT_I64, idx->size);
}

static gt_tensor *gather_grad_apply(const gt_tensor *upd, const gt_tensor *idx, int axis,
                                    int64_t n);

/* Batchable: a leading row axis on gy (rank one above the output's) shifts the axis by one. */
static void gather_grad(gt__gctx *g) {
    const gather_attr *a = g->attr;
    int b = g->gy->rank == g->meta[0].rank - 1 + g->in[1]->rank + 1;
    if (g->need[0])
        g->gx[0] = gather_grad_apply(g->gy, g->in[1], a->axis + b, g->meta[0].shape[a->axis]);
}

const gt__op gt__op_gather = {.name = "gather",
                              .nin = 2,
                              .flags = GT__OP_BATCHABLE,
                              .keep_in = 1u << 1,
                              .attr_size = sizeof(gather_attr),
                              .infer = gather_infer,
                              .forward = gather_forward,
                              .grad = gather_grad};

gt_tensor *gt_gather(const gt_tensor *params, const gt_tensor *indices, int axis) {
    gather_attr a = {.axis = axis};
    return gt__apply2(&gt__op_gather, params, indices, &a);
}

/* ---- gather_grad: out[..., idx[j], ...] += upd[..., j, ...] (TF densifies IndexedSlices with
 * an unsorted segment sum; duplicates add up) ----------------------------------------------- */

static bool gather_grad_infer(gt__call *c) {
    const gather_attr *a = c->attr;
    const gt_tensor *u = c->in[0], *idx = c->in[1];
    const char *who = "gather_grad";
    if (!index_dtype_ok(who, idx))
        return false;
    if (!gt__is_float(u->dtype)) {
        gt__error("%s: the gradient has dtype %s; only float32 and float64 are supported", who,
                  gt_dtype_name(u->dtype));
        return false;
    }
    int r = u->rank - idx->rank + 1;
    bool ok = a->axis >= 0 && a->n >= 0 && r >= 1 && r <= GT_MAX_RANK && a->axis < r;
    for (int i = 0; ok && i < idx->rank; i++)
        ok = u->shape[a->axis + i] == idx->shape[i];
    if (!ok) {
        gt__error("%s: gradient of shape %s does not match indices of shape %s at axis %d", who,
                  GT__SHAPE_STR(u), GT__SHAPE_STR(idx), a->axis);
        return false;
    }
    if (!indices_in_range(who, idx, a->n, NULL, a->axis))
        return false;
    c->dtype = u->dtype;
    c->rank = r;
    for (int i = 0; i < a->axis; i++)
        c->shape[i] = u->shape[i];
    c->shape[a->axis] = a->n;
    for (int i = a->axis + 1; i < r; i++)
        c->shape[i] = u->shape[i - 1 + idx->rank];
    return gt__check_shape(who, c->rank, c->shape, NULL);
}

static void gather_grad_forward(gt__call *c) {
    const gather_attr *a = c->attr;
    const gt_tensor *u = c->in[0], *idx = c->in[1];
    int64_t outer, inner;
    split3(c->shape, c->rank, a->axis, &outer, &inner);
    gt__k_scatter_add(c->out->data, u->data, u->dtype == GT_F64, outer, a->n, inner, idx->data,
                      idx->dtype == GT_I64, idx->size);
}

/* Linear in the updates: the adjoint of a scatter-add is the gather with the same indices. */
static void gather_grad_grad(gt__gctx *g) {
    int b = g->gy->rank == g->meta[0].rank - g->in[1]->rank + 2;
    if (g->need[0])
        g->gx[0] = gt_gather(g->gy, g->in[1], ((const gather_attr *)g->attr)->axis + b);
}

const gt__op gt__op_gather_grad = {.name = "gather_grad",
                                   .nin = 2,
                                   .flags = GT__OP_BATCHABLE,
                                   .keep_in = 1u << 1,
                                   .attr_size = sizeof(gather_attr),
                                   .infer = gather_grad_infer,
                                   .forward = gather_grad_forward,
                                   .grad = gather_grad_grad};

static gt_tensor *gather_grad_apply(const gt_tensor *upd, const gt_tensor *idx, int axis,
                                    int64_t n) {
    gather_attr a = {.axis = axis, .n = n};
    return gt__apply2(&gt__op_gather_grad, upd, idx, &a);
}

/* ---- one_hot -------------------------------------------------------------------------------- */

typedef struct one_hot_attr {
    int64_t depth;
    double on, off;
    gt_dtype dtype;
} one_hot_attr;

static bool one_hot_infer(gt__call *c) {
    const one_hot_attr *a = c->attr;
    const gt_tensor *idx = c->in[0];
    if (!index_dtype_ok("gt_one_hot", idx))
        return false;
    if (a->depth < 0) {
        gt__error("gt_one_hot: depth is %lld; it must be >= 0", (long long)a->depth);
        return false;
    }
    if ((unsigned)a->dtype > (unsigned)GT_BOOL) {
        gt__error("gt_one_hot: unknown output dtype %d", (int)a->dtype);
        return false;
    }
    if (idx->rank + 1 > GT_MAX_RANK) {
        gt__error("gt_one_hot: indices of shape %s already have rank %d, the highest supported "
                  "(%d)",
                  GT__SHAPE_STR(idx), idx->rank, GT_MAX_RANK);
        return false;
    }
    c->dtype = a->dtype;
    c->rank = idx->rank + 1;
    memcpy(c->shape, idx->shape, sizeof(int64_t) * (size_t)idx->rank);
    c->shape[idx->rank] = a->depth;
    return gt__check_shape("gt_one_hot", c->rank, c->shape, NULL);
}

static void one_hot_forward(gt__call *c) {
    const one_hot_attr *a = c->attr;
    const gt_tensor *idx = c->in[0];
    gt_tensor *out = c->out;
    int64_t d = a->depth;
    bool i64 = idx->dtype == GT_I64;
    /* Fill with off through a one-element tensor so the conversion matches gt_fill's. */
    size_t es = gt_dtype_size(out->dtype);
    unsigned char on[8], off[8];
    gt_tensor tmp = {.dtype = out->dtype, .data = on};
    gt__set(&tmp, 0, a->on);
    tmp.data = off;
    gt__set(&tmp, 0, a->off);
    gt__k_fill(out->data, es, out->size, off);
    char *o = out->data;
    for (int64_t j = 0; j < idx->size; j++) {
        int64_t v = i64 ? ((const int64_t *)idx->data)[j] : ((const int32_t *)idx->data)[j];
        if (v >= 0 && v < d)
            memcpy(o + (size_t)(j * d + v) * es, on, es);
    }
}

const gt__op gt__op_one_hot = {.name = "one_hot",
                               .nin = 1,
                               .flags = GT__OP_NONDIFF,
                               .attr_size = 0,
                               .infer = one_hot_infer,
                               .forward = one_hot_forward};

gt_tensor *gt_one_hot(const gt_tensor *indices, int64_t depth, double on_value, double off_value,
                      gt_dtype dtype) {
    one_hot_attr a = {.depth = depth, .on = on_value, .off = off_value, .dtype = dtype};
    return gt__apply1(&gt__op_one_hot, indices, &a);
}
