/* gather, its gradient (a scatter-add registered as an op of its own, whose gradient is a
 * gather again, so derivatives of any order go through) and one_hot. */
#include "kernels/shape.h"
#include "ops/registry.h"

#include <stdio.h>

/* Shared by gather and gather_grad: "[outer..., n, inner...]" around the indexed axis. */
typedef struct gather_attr {
    int axis;
    int64_t n; /* gather_grad: size of the params axis to scatter into */
} gather_attr;

static bool index_dtype_ok(const char *who, const gt_tensor *idx) {
    if (idx->dtype == GT_I32 || idx->dtype == GT_I64) return true;
    gt__error("%s: indices have dtype %s; they must be int32 or int64 (cast them with gt_cast)",
              who, gt_dtype_name(idx->dtype));
    return false;
}

/* Checks every index against [0, limit) and names the first bad one by its position. */
static bool indices_in_range(const char *who, const gt_tensor *idx, int64_t limit,
                             const gt_tensor *params, int axis) {
    int64_t j = gt__k_index_check(idx->data, idx->dtype == GT_I64, idx->size, limit);
    if (j < 0) return true;
    char pos[160];
    int m = 0;
    int64_t rem = j, coord[GT_MAX_RANK];
    for (int i = idx->rank - 1; i >= 0; i--) {
        coord[i] = rem % idx->shape[i];
        rem /= idx->shape[i];
    }
    for (int i = 0; i < idx->rank; i++)
        m += snprintf(pos + m, sizeof pos - (size_t)m, i ? ",%lld" : "%lld", (long long)coord[i]);
    int64_t v = idx->dtype == GT_I64 ? ((const int64_t *)idx->data)[j]
                                     : ((const int32_t *)idx->data)[j];
    gt__error("%s: indices[%s] = %lld is not in [0, %lld) (%s shape %s, axis %d)", who, pos,
              (long long)v, (long long)limit, params ? "params" : "gradient",
              params ? GT__SHAPE_STR(params) : "-", axis);
    return false;
}

static void split3(const int64_t *shape, int rank, int axis, int64_t *outer, int64_t *inner) {
    *outer = *inner = 1;
    for (int i = 0; i < axis; i++) *outer *= shape[i];
    for (int i = axis + 1; i < rank; i++) *inner *= shape[i];
}

/* ---- gather ----------------------------------------------------------------------------------- */

static bool gather_infer(gt__call *c) {
    gather_attr *a = (gather_attr *)c->attr;
    const gt_tensor *p = c->in[0], *idx = c->in[1];
    int ax;
    if (!index_dtype_ok("gt_gather", idx)) return false;
    if (p->rank == 0) {
        gt__error("gt_gather: params is a scalar; it needs rank >= 1 to gather along an axis");
        return false;
    }
    if (!gt__axis("gt_gather", a->axis, p->rank, &ax)) return false;
    if (p->rank - 1 + idx->rank > GT_MAX_RANK) {
        gt__error("gt_gather: the result would have rank %d (params %s, indices %s); the highest "
                  "supported rank is %d", p->rank - 1 + idx->rank, GT__SHAPE_STR(p),
                  GT__SHAPE_STR(idx), GT_MAX_RANK);
        return false;
    }
    if (!indices_in_range("gt_gather", idx, p->shape[ax], p, ax)) return false;
    c->dtype = p->dtype;
    c->rank = 0;
    for (int i = 0; i < ax; i++) c->shape[c->rank++] = p->shape[i];
    for (int i = 0; i < idx->rank; i++) c->shape[c->rank++] = idx->shape[i];
    for (int i = ax + 1; i < p->rank; i++) c->shape[c->rank++] = p->shape[i];
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

const gt__op gt__op_gather = {.name = "gather", .nin = 2, .flags = GT__OP_BATCHABLE,
                              .keep_in = 1u << 1,
                              .attr_size = sizeof(gather_attr), .infer = gather_infer,
                              .forward = gather_forward, .grad = gather_grad};

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
    if (!index_dtype_ok(who, idx)) return false;
    if (!gt__is_float(u->dtype)) {
        gt__error("%s: the gradient has dtype %s; only float32 and float64 are supported", who,
                  gt_dtype_name(u->dtype));
        return false;
    }
    int r = u->rank - idx->rank + 1;
    bool ok = a->axis >= 0 && a->n >= 0 && r >= 1 && r <= GT_MAX_RANK && a->axis < r;
    for (int i = 0; ok && i < idx->rank; i++) ok = u->shape[a->axis + i] == idx->shape[i];
    if (!ok) {
        gt__error("%s: gradient of shape %s does not match indices of shape %s at axis %d", who,
                  GT__SHAPE_STR(u), GT__SHAPE_STR(idx), a->axis);
        return false;
    }
    if (!indices_in_range(who, idx, a->n, NULL, a->axis)) return false;
    c->dtype = u->dtype;
    c->rank = r;
    for (int i = 0; i < a->axis; i++) c->shape[i] = u->shape[i];
    c->shape[a->axis] = a->n;
    for (int i = a->axis + 1; i < r; i++) c->shape[i] = u->shape[i - 1 + idx->rank];
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
    if (g->need[0]) g->gx[0] = gt_gather(g->gy, g->in[1], ((const gather_attr *)g->attr)->axis + b);
}

const gt__op gt__op_gather_grad = {.name = "gather_grad", .nin = 2, .flags = GT__OP_BATCHABLE,
                                   .keep_in = 1u << 1,
                                   .attr_size = sizeof(gather_attr), .infer = gather_grad_infer,
                                   .forward = gather_grad_forward, .grad = gather_grad_grad};

static gt_tensor *gather_grad_apply(const gt_tensor *upd, const gt_tensor *idx, int axis,
                                    int64_t n) {
    gather_attr a = {.axis = axis, .n = n};
    return gt__apply2(&gt__op_gather_grad, upd, idx, &a);
}

/* ---- one_hot ------------------------------------------------------------------------------------ */

typedef struct one_hot_attr {
    int64_t depth;
    double on, off;
    gt_dtype dtype;
} one_hot_attr;

static bool one_hot_infer(gt__call *c) {
    const one_hot_attr *a = c->attr;
    const gt_tensor *idx = c->in[0];
    if (!index_dtype_ok("gt_one_hot", idx)) return false;
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
                  "(%d)", GT__SHAPE_STR(idx), idx->rank, GT_MAX_RANK);
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
        if (v >= 0 && v < d) memcpy(o + (size_t)(j * d + v) * es, on, es);
    }
}

const gt__op gt__op_one_hot = {.name = "one_hot", .nin = 1, .flags = GT__OP_NONDIFF,
                               .attr_size = 0, .infer = one_hot_infer,
                               .forward = one_hot_forward};

gt_tensor *gt_one_hot(const gt_tensor *indices, int64_t depth, double on_value, double off_value,
                      gt_dtype dtype) {
    one_hot_attr a = {.depth = depth, .on = on_value, .off = off_value, .dtype = dtype};
    return gt__apply1(&gt__op_one_hot, indices, &a);
}
