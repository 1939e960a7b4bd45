/* Shape ops that rearrange: reshape, expand_dims, squeeze, transpose, concat, stack, slice and
 * split. The replicating copies (tile, pad, broadcast_to), gather with its scatter-add
 * gradient, and one_hot live in gather.c; the family's table is at the end of this file.
 * Every gradient is another shape op (or reduce_sum), so derivatives of any order go through. */
#include "kernels/shape.h"
#include "ops/registry.h"
#include "ops/shape_internal.h"

#include <stddef.h>
#include <stdio.h>

extern const gt__op gt__op_tile, gt__op_pad, gt__op_broadcast_to, gt__op_gather, gt__op_gather_grad,
    gt__op_one_hot;

static gt_tensor *reshape_back(gt__gctx *g, int out_rank) {
    int64_t sh[GT_MAX_RANK + 1];
    int r = in_shape(g, 0, rows_of(g, out_rank), sh);
    return gt_reshape(g->gy, r, sh);
}

/* ---- reshape --------------------------------------------------------------------------------- */

static bool reshape_infer(gt__call *c) {
    const reshape_attr *a = c->attr;
    const gt_tensor *x = c->in[0];
    char sx[96], ss[96];
    gt__shape_str(sx, sizeof sx, x->rank, x->shape);
    gt__shape_str(ss, sizeof ss, a->rank, a->shape);
    int infer = -1;
    bool zero = false;
    int64_t known = 1; /* product of the known non-zero sizes (TF leaves zeros out of it) */
    for (int i = 0; i < a->rank; i++) {
        int64_t d = c->shape[i] = a->shape[i];
        if (d == -1) {
            if (infer >= 0) {
                gt__error("gt_reshape: shape %s has more than one -1 (axes %d and %d); at most "
                          "one dimension can be inferred",
                          ss, infer, i);
                return false;
            }
            infer = i;
            continue;
        }
        if (d < 0) {
            gt__error("gt_reshape: dimension %d of shape %s is negative (%lld); use -1 to infer "
                      "one dimension",
                      i, ss, (long long)d);
            return false;
        }
        if (d && known > INT64_MAX / 8 / d) {
            gt__error("gt_reshape: shape %s has too many elements (the size overflows)", ss);
            return false;
        }
        if (d)
            known *= d;
        else
            zero = true;
    }
    c->dtype = x->dtype;
    c->rank = a->rank;
    if (infer >= 0) {
        /* TensorFlow's rule (ReshapeOp): when the requested shape has a 0, the input's zero
         * dimensions are left out too, so the -1 is still inferred from the other sizes
         * ([2,0,3] -> [-1,2,0] gives [3,2,0]). */
        int64_t in_n = 1;
        bool in_zero = false;
        for (int i = 0; i < x->rank; i++) {
            if (x->shape[i] > 0 || !zero)
                in_n *= x->shape[i];
            else
                in_zero = true;
        }
        int64_t missing = in_n / known;
        if (!in_zero && missing * known != in_n) {
            gt__error("gt_reshape: cannot reshape a tensor with %lld elements (shape %s) to %s: "
                      "%lld is not a multiple of %lld (the product of the known dimensions)",
                      (long long)x->size, sx, ss, (long long)in_n, (long long)known);
            return false;
        }
        c->shape[infer] = missing;
    }
    int64_t total = 1;
    for (int i = 0; i < a->rank; i++)
        total *= c->shape[i];
    if (total != x->size) {
        gt__error("gt_reshape: cannot reshape a tensor with %lld elements (shape %s) to %s, which "
                  "has %lld elements; the element counts must match (one dimension may be -1)",
                  (long long)x->size, sx, ss, (long long)total);
        return false;
    }
    return true;
}

/* The tape keeps only the attr's leading rank (attr_size below), all the rule reads. */
static void reshape_grad(gt__gctx *g) {
    if (g->need[0])
        g->gx[0] = reshape_back(g, *(const int *)g->attr);
}

const gt__op gt__op_reshape = {.name = "reshape",
                               .nin = 1,
                               .flags = GT__OP_ALIAS | GT__OP_BATCHABLE,
                               .attr_size = offsetof(reshape_attr, shape),
                               .infer = reshape_infer,
                               .grad = reshape_grad};

gt_tensor *gt_reshape(const gt_tensor *x, int rank, const int64_t *shape) {
    if (!x) {
        gt__error_null("gt_reshape");
        return NULL;
    }
    if (rank < 0 || rank > GT_MAX_RANK) {
        gt__error("gt_reshape: rank %d is not supported (tensors have rank 0 to %d)", rank,
                  GT_MAX_RANK);
        return NULL;
    }
    if (rank > 0 && !shape) {
        gt__error("gt_reshape: shape is NULL for rank %d", rank);
        return NULL;
    }
    reshape_attr a; /* only the first `rank` dims are read */
    a.rank = rank;
    if (rank)
        memcpy(a.shape, shape, sizeof(int64_t) * (size_t)rank);
    return gt__apply1(&gt__op_reshape, x, &a);
}

/* ---- expand_dims / squeeze (aliases; the gradient reshapes back like reshape's) ----------- */

typedef struct axis_attr {
    int axis;
} axis_attr;

static bool expand_dims_infer(gt__call *c) {
    const gt_tensor *x = c->in[0];
    int axis = ((const axis_attr *)c->attr)->axis, r = x->rank;
    if (r + 1 > GT_MAX_RANK) {
        gt__error("gt_expand_dims: the input of shape %s already has rank %d, the highest "
                  "supported (%d)",
                  GT__SHAPE_STR(x), r, GT_MAX_RANK);
        return false;
    }
    int a;
    if (!gt__axis("gt_expand_dims", axis, r + 1, &a))
        return false;
    c->dtype = x->dtype;
    c->rank = r + 1;
    for (int i = 0, j = 0; i <= r; i++)
        c->shape[i] = i == a ? 1 : x->shape[j++];
    return true;
}

static void expand_dims_grad(gt__gctx *g) {
    if (g->need[0])
        g->gx[0] = reshape_back(g, g->meta[0].rank + 1);
}

const gt__op gt__op_expand_dims = {.name = "expand_dims",
                                   .nin = 1,
                                   .flags = GT__OP_ALIAS | GT__OP_BATCHABLE,
                                   .infer = expand_dims_infer,
                                   .grad = expand_dims_grad};

gt_tensor *gt_expand_dims(const gt_tensor *x, int axis) {
    axis_attr a = {axis};
    return gt__apply1(&gt__op_expand_dims, x, &a);
}

typedef struct squeeze_attr {
    int out_rank; /* set by infer; the only field the gradient reads (and the tape keeps) */
    int naxes;
    int axes[GT_MAX_RANK];
} squeeze_attr;

static bool squeeze_infer(gt__call *c) {
    squeeze_attr *a = (squeeze_attr *)c->attr;
    const gt_tensor *x = c->in[0];
    bool drop[GT_MAX_RANK] = {0};
    if (a->naxes == 0) {
        for (int i = 0; i < x->rank; i++)
            drop[i] = x->shape[i] == 1;
    }
    for (int k = 0; k < a->naxes; k++) {
        int ax;
        if (!gt__axis("gt_squeeze", a->axes[k], x->rank, &ax))
            return false;
        if (x->shape[ax] != 1) {
            gt__error("gt_squeeze: cannot squeeze axis %d of shape %s: its size is %lld, not 1 "
                      "(only size-1 axes can be removed)",
                      a->axes[k], GT__SHAPE_STR(x), (long long)x->shape[ax]);
            return false;
        }
        drop[ax] = true;
    }
    c->dtype = x->dtype;
    c->rank = 0;
    for (int i = 0; i < x->rank; i++)
        if (!drop[i])
            c->shape[c->rank++] = x->shape[i];
    a->out_rank = c->rank;
    return true;
}

static void squeeze_grad(gt__gctx *g) {
    if (g->need[0])
        g->gx[0] = reshape_back(g, ((const squeeze_attr *)g->attr)->out_rank);
}

const gt__op gt__op_squeeze = {.name = "squeeze",
                               .nin = 1,
                               .flags = GT__OP_ALIAS | GT__OP_BATCHABLE,
                               .attr_size = offsetof(squeeze_attr, naxes),
                               .infer = squeeze_infer,
                               .grad = squeeze_grad};

gt_tensor *gt_squeeze(const gt_tensor *x, int naxes, const int *axes) {
    if (naxes < 0 || naxes > GT_MAX_RANK || (naxes > 0 && !axes)) {
        gt__error("gt_squeeze: invalid axis list (%d axes%s); pass GT_AXES(...) or GT_ALL", naxes,
                  naxes > 0 && !axes ? ", NULL array" : "");
        return NULL;
    }
    squeeze_attr a = {.naxes = naxes};
    for (int k = 0; k < naxes; k++)
        a.axes[k] = axes[k];
    return gt__apply1(&gt__op_squeeze, x, &a);
}

/* ---- transpose ------------------------------------------------------------------------------ */

typedef struct perm_attr {
    int perm[GT_MAX_RANK];
} perm_attr;

static bool transpose_infer(gt__call *c) {
    const perm_attr *a = c->attr;
    const gt_tensor *x = c->in[0];
    bool seen[GT_MAX_RANK] = {0};
    for (int i = 0; i < x->rank; i++) {
        int p = a->perm[i];
        if (p < 0 || p >= x->rank || seen[p]) {
            char ps[96];
            int n = 0;
            ps[n++] = '[';
            for (int k = 0; k < x->rank; k++)
                n += snprintf(ps + n, sizeof ps - (size_t)n, k ? ",%d" : "%d", a->perm[k]);
            snprintf(ps + n, sizeof ps - (size_t)n, "]");
            gt__error("gt_transpose: perm %s is not a permutation of 0..%d for the input of shape "
                      "%s (%s %d); list each axis exactly once",
                      ps, x->rank - 1, GT__SHAPE_STR(x),
                      p < 0 || p >= x->rank ? "out-of-range axis" : "repeated axis", p);
            return false;
        }
        seen[p] = true;
    }
    c->dtype = x->dtype;
    c->rank = x->rank;
    for (int i = 0; i < x->rank; i++)
        c->shape[i] = x->shape[a->perm[i]];
    return true;
}

static void transpose_forward(gt__call *c) {
    const perm_attr *a = c->attr;
    const gt_tensor *x = c->in[0];
    int64_t xs[GT_MAX_RANK], ss[GT_MAX_RANK], ds[GT_MAX_RANK];
    strides_of(x->rank, x->shape, xs);
    strides_of(c->rank, c->shape, ds);
    for (int i = 0; i < x->rank; i++)
        ss[i] = xs[a->perm[i]];
    gt__k_copy_strided(c->out->data, x->data, gt_dtype_size(x->dtype), c->rank, c->shape, ds, ss);
}

static void transpose_grad(gt__gctx *g) {
    const perm_attr *a = g->attr;
    int r = g->meta[0].rank, b = rows_of(g, r), inv[GT_MAX_RANK + 1];
    inv[0] = 0;
    for (int i = 0; i < r; i++)
        inv[b + a->perm[i]] = b + i;
    if (g->need[0])
        g->gx[0] = gt_transpose(g->gy, inv);
}

const gt__op gt__op_transpose = {.name = "transpose",
                                 .nin = 1,
                                 .flags = GT__OP_BATCHABLE,
                                 .attr_size = sizeof(perm_attr),
                                 .infer = transpose_infer,
                                 .forward = transpose_forward,
                                 .grad = transpose_grad};

gt_tensor *gt_transpose(const gt_tensor *x, const int *perm) {
    if (!x) {
        gt__error_null("gt_transpose");
        return NULL;
    }
    perm_attr a;
    for (int i = 0; i < x->rank; i++)
        a.perm[i] = perm ? perm[i] : x->rank - 1 - i;
    return gt__apply1(&gt__op_transpose, x, &a);
}

/* ---- concat / stack ------------------------------------------------------------------------- */

/* Joins the inputs along `axis` of the output, input i contributing len(i) slices: each input
 * is one 2-D block copy of [outer, len*inner] contiguous rows. */
static void join_forward(gt__call *c, int axis, bool stacked) {
    int64_t outer = 1, inner = 1, off = 0;
    for (int i = 0; i < axis; i++)
        outer *= c->shape[i];
    for (int i = axis + 1; i < c->rank; i++)
        inner *= c->shape[i];
    int64_t row = c->shape[axis] * inner;
    size_t es = gt_dtype_size(c->dtype);
    for (int k = 0; k < c->nin; k++) {
        const gt_tensor *x = c->in[k];
        int64_t len = (stacked ? 1 : x->shape[axis]) * inner;
        int64_t shape[2] = {outer, len}, ds[2] = {row, 1}, ss[2] = {len, 1};
        gt__k_copy_strided((char *)c->out->data + (size_t)off * es, x->data, es, 2, shape, ds, ss);
        off += len;
    }
}

static bool join_check(const char *who, gt__call *c, int skip_axis) {
    if (c->nin < 1) {
        gt__error("%s: needs at least one tensor (got %d)", who, c->nin);
        return false;
    }
    const gt_tensor *x0 = c->in[0];
    for (int k = 1; k < c->nin; k++) {
        const gt_tensor *x = c->in[k];
        if (x->dtype != x0->dtype) {
            gt__error("%s: tensor %d has dtype %s but tensor 0 has %s; all must share one dtype "
                      "(cast with gt_cast)",
                      who, k, gt_dtype_name(x->dtype), gt_dtype_name(x0->dtype));
            return false;
        }
        bool same = x->rank == x0->rank;
        for (int i = 0; same && i < x->rank; i++)
            same = i == skip_axis || x->shape[i] == x0->shape[i];
        if (!same) {
            gt__error("%s: tensor %d has shape %s but tensor 0 has shape %s; %s", who, k,
                      GT__SHAPE_STR(x), GT__SHAPE_STR(x0),
                      skip_axis >= 0 ? "shapes must match except along the concat axis"
                                     : "all shapes must be equal");
            return false;
        }
    }
    return true;
}

static bool concat_infer(gt__call *c) {
    axis_attr *a = (axis_attr *)c->attr;
    if (c->nin < 1)
        return join_check("gt_concat", c, -1);
    const gt_tensor *x0 = c->in[0];
    if (x0->rank == 0) {
        gt__error("gt_concat: cannot concatenate scalars (rank 0); use gt_stack to join them "
                  "along a new axis");
        return false;
    }
    int ax;
    if (!gt__axis("gt_concat", a->axis, x0->rank, &ax) || !join_check("gt_concat", c, ax))
        return false;
    int64_t total = 0;
    for (int k = 0; k < c->nin; k++)
        total += c->in[k]->shape[ax];
    c->dtype = x0->dtype;
    c->rank = x0->rank;
    memcpy(c->shape, x0->shape, sizeof(int64_t) * (size_t)x0->rank);
    c->shape[ax] = total;
    if (!gt__check_shape("gt_concat", c->rank, c->shape, NULL))
        return false;
    a->axis = ax; /* the caller's own attr struct: normalised here for forward and gradient */
    return true;
}

static void concat_forward(gt__call *c) {
    join_forward(c, ((const axis_attr *)c->attr)->axis, false);
}

static void concat_grad(gt__gctx *g) {
    int b = rows_of(g, g->meta[0].rank), ax = ((const axis_attr *)g->attr)->axis + b;
    int64_t off = 0;
    for (int k = 0; k < g->nin; k++) {
        if (g->need[k]) {
            int64_t begin[GT_MAX_RANK + 1] = {0}, size[GT_MAX_RANK + 1];
            in_shape(g, k, b, size);
            begin[ax] = off;
            g->gx[k] = gt_slice(g->gy, begin, size);
        }
        off += g->meta[k].shape[ax - b];
    }
}

const gt__op gt__op_concat = {.name = "concat",
                              .flags = GT__OP_VARIADIC | GT__OP_BATCHABLE,
                              .attr_size = sizeof(axis_attr),
                              .infer = concat_infer,
                              .forward = concat_forward,
                              .grad = concat_grad};

static bool list_ok(const char *who, int n, const gt_tensor *const *xs) {
    if (n < 1 || !xs) {
        gt__error("%s: needs a list of at least one tensor (got %d%s)", who, n,
                  n >= 1 ? ", NULL list" : "");
        return false;
    }
    return true;
}

gt_tensor *gt_concat(int n, const gt_tensor *const *xs, int axis) {
    if (!list_ok("gt_concat", n, xs))
        return NULL;
    axis_attr a = {axis};
    return gt__apply(&gt__op_concat, n, xs, &a);
}

static bool stack_infer(gt__call *c) {
    axis_attr *a = (axis_attr *)c->attr;
    if (!join_check("gt_stack", c, -1))
        return false;
    const gt_tensor *x0 = c->in[0];
    if (x0->rank + 1 > GT_MAX_RANK) {
        gt__error("gt_stack: the inputs of shape %s already have rank %d, the highest supported "
                  "(%d)",
                  GT__SHAPE_STR(x0), x0->rank, GT_MAX_RANK);
        return false;
    }
    int ax;
    if (!gt__axis("gt_stack", a->axis, x0->rank + 1, &ax))
        return false;
    c->dtype = x0->dtype;
    c->rank = x0->rank + 1;
    for (int i = 0, j = 0; i < c->rank; i++)
        c->shape[i] = i == ax ? c->nin : x0->shape[j++];
    if (!gt__check_shape("gt_stack", c->rank, c->shape, NULL))
        return false;
    a->axis = ax;
    return true;
}

static void stack_forward(gt__call *c) {
    join_forward(c, ((const axis_attr *)c->attr)->axis, true);
}

static void stack_grad(gt__gctx *g) {
    int r = g->meta[0].rank, b = rows_of(g, r + 1), ax = ((const axis_attr *)g->attr)->axis + b;
    int64_t begin[GT_MAX_RANK + 1] = {0}, size[GT_MAX_RANK + 1], back[GT_MAX_RANK + 1];
    memcpy(size, g->gy->shape, sizeof(int64_t) * (size_t)g->gy->rank);
    size[ax] = 1;
    int rb = in_shape(g, 0, b, back);
    for (int k = 0; k < g->nin; k++) {
        if (!g->need[k])
            continue;
        begin[ax] = k;
        g->gx[k] = gt_reshape(gt_slice(g->gy, begin, size), rb, back);
    }
}

const gt__op gt__op_stack = {.name = "stack",
                             .flags = GT__OP_VARIADIC | GT__OP_BATCHABLE,
                             .attr_size = sizeof(axis_attr),
                             .infer = stack_infer,
                             .forward = stack_forward,
                             .grad = stack_grad};

gt_tensor *gt_stack(int n, const gt_tensor *const *xs, int axis) {
    if (!list_ok("gt_stack", n, xs))
        return NULL;
    axis_attr a = {axis};
    return gt__apply(&gt__op_stack, n, xs, &a);
}

/* ---- slice / split -------------------------------------------------------------------------- */

typedef struct slice_attr {
    int64_t begin[GT_MAX_RANK];
    int64_t size[GT_MAX_RANK]; /* resolved (no -1) by infer */
} slice_attr;

static bool slice_infer(gt__call *c) {
    slice_attr *a = (slice_attr *)c->attr;
    const gt_tensor *x = c->in[0];
    for (int i = 0; i < x->rank; i++) {
        int64_t d = x->shape[i], b = a->begin[i], s = a->size[i];
        if (b < 0 || b > d) {
            gt__error("gt_slice: begin[%d] = %lld is outside [0, %lld] for the input of shape %s",
                      i, (long long)b, (long long)d, GT__SHAPE_STR(x));
            return false;
        }
        if (s == -1)
            s = d - b;
        if (s < 0 || s > d - b) {
            gt__error("gt_slice: size[%d] = %lld is outside [0, %lld] for begin[%d] = %lld and the "
                      "input of shape %s (use -1 to run to the end)",
                      i, (long long)a->size[i], (long long)(d - b), i, (long long)b,
                      GT__SHAPE_STR(x));
            return false;
        }
        a->size[i] = c->shape[i] = s;
    }
    c->dtype = x->dtype;
    c->rank = x->rank;
    return true;
}

static void slice_forward(gt__call *c) {
    const slice_attr *a = c->attr;
    const gt_tensor *x = c->in[0];
    int64_t xs[GT_MAX_RANK], ds[GT_MAX_RANK], off = 0;
    strides_of(x->rank, x->shape, xs);
    strides_of(c->rank, c->shape, ds);
    for (int i = 0; i < x->rank; i++)
        off += a->begin[i] * xs[i];
    size_t es = gt_dtype_size(x->dtype);
    if (c->out->size)
        gt__k_copy_strided(c->out->data, (const char *)x->data + (size_t)off * es, es, c->rank,
                           c->shape, ds, xs);
}

static void slice_grad(gt__gctx *g) {
    const slice_attr *a = g->attr;
    const gt__meta *m = &g->meta[0];
    int b = rows_of(g, m->rank);
    int64_t pad[2 * GT_MAX_RANK + 2] = {0};
    for (int i = 0; i < m->rank; i++) {
        pad[2 * (i + b)] = a->begin[i];
        pad[2 * (i + b) + 1] = m->shape[i] - a->begin[i] - a->size[i];
    }
    if (g->need[0])
        g->gx[0] = gt_pad(g->gy, pad, 0.0);
}

const gt__op gt__op_slice = {.name = "slice",
                             .nin = 1,
                             .flags = GT__OP_BATCHABLE,
                             .attr_size = sizeof(slice_attr),
                             .infer = slice_infer,
                             .forward = slice_forward,
                             .grad = slice_grad};

gt_tensor *gt_slice(const gt_tensor *x, const int64_t *begin, const int64_t *size) {
    if (!x) {
        gt__error_null("gt_slice");
        return NULL;
    }
    if (x->rank > 0 && (!begin || !size)) {
        gt__error("gt_slice: begin and size need %d values each (one per axis of shape %s), got "
                  "NULL",
                  x->rank, GT__SHAPE_STR(x));
        return NULL;
    }
    slice_attr a;
    for (int i = 0; i < x->rank; i++)
        a.begin[i] = begin[i], a.size[i] = size[i];
    return gt__apply1(&gt__op_slice, x, &a);
}

bool gt_split(const gt_tensor *x, int n, const int64_t *sizes, int axis, gt_tensor **out) {
    const char *who = "gt_split";
    if (out)
        for (int k = 0; k < n; k++)
            out[k] = NULL;
    if (!x) {
        gt__error_null(who);
        return false;
    }
    if (n < 1 || !out) {
        gt__error("%s: needs n >= 1 parts and an output array (got n = %d%s)", who, n,
                  out ? "" : ", NULL output array");
        return false;
    }
    int ax;
    if (!gt__axis(who, axis, x->rank, &ax))
        return false;
    int64_t d = x->shape[ax], known = 0;
    int infer = -1;
    int64_t inl[16], *sz = n <= 16 ? inl : gt__malloc(sizeof(int64_t) * (size_t)n, "split sizes");
    if (!sz)
        return false;
    bool ok = true;
    if (!sizes) {
        if (d % n) {
            gt__error("%s: axis %d of shape %s has size %lld, which does not divide into %d equal "
                      "parts (pass explicit sizes)",
                      who, axis, GT__SHAPE_STR(x), (long long)d, n);
            ok = false;
        }
        for (int k = 0; k < n; k++)
            sz[k] = d / n;
    } else {
        bool sum_bad = false;
        for (int k = 0; k < n && ok; k++) {
            sz[k] = sizes[k];
            if (sizes[k] == -1 && infer < 0) {
                infer = k;
            } else if (sizes[k] == -1) {
                gt__error("%s: sizes[%d] and sizes[%d] are both -1; at most one size can be "
                          "inferred",
                          who, infer, k);
                ok = false;
            } else if (sizes[k] < 0) {
                gt__error("%s: sizes[%d] = %lld is negative (only -1, meaning the rest, is "
                          "allowed)",
                          who, k, (long long)sizes[k]);
                ok = false;
            } else if (sizes[k] > d - known) {
                sum_bad = true;
                break;
            } else {
                known += sizes[k];
            }
        }
        if (ok && (sum_bad || (infer < 0 && known != d))) {
            char buf[160];
            int m = 0;
            for (int k = 0; k < n && m < (int)sizeof buf - 24; k++)
                m += snprintf(buf + m, sizeof buf - (size_t)m, k ? ",%lld" : "%lld",
                              (long long)sizes[k]);
            gt__error("%s: sizes [%s] must add up to %lld, the size of axis %d of shape %s (one "
                      "size may be -1)",
                      who, buf, (long long)d, axis, GT__SHAPE_STR(x));
            ok = false;
        }
        if (ok && infer >= 0)
            sz[infer] = d - known;
    }
    int64_t begin[GT_MAX_RANK] = {0}, size[GT_MAX_RANK];
    memcpy(size, x->shape, sizeof(int64_t) * (size_t)x->rank);
    for (int k = 0; k < n && ok; k++) {
        size[ax] = sz[k];
        out[k] = gt_slice(x, begin, size);
        ok = out[k] != NULL;
        begin[ax] += sz[k];
    }
    if (sz != inl)
        gt__free(sz);
    if (!ok)
        for (int k = 0; k < n; k++)
            out[k] = NULL;
    return ok;
}

/* ---- table ---------------------------------------------------------------------------------- */

const gt__op *const gt__ops_shape[] = {
    &gt__op_reshape, &gt__op_expand_dims, &gt__op_squeeze, &gt__op_transpose, &gt__op_concat,
    &gt__op_stack,   &gt__op_slice,       &gt__op_tile,    &gt__op_pad,       &gt__op_broadcast_to,
    &gt__op_gather,  &gt__op_gather_grad, &gt__op_one_hot};
const int gt__ops_shape_n = (int)(sizeof gt__ops_shape / sizeof *gt__ops_shape);
