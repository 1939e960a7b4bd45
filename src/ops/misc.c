/* Comparisons, logical ops, selection, casts, identity and stop_gradient. */
#include "kernels/binary.h"
#include "ops/registry.h"

typedef struct {
    gt__binop op;
} cmp_attr;

static bool cmp_infer(gt__call *c) {
    const gt_tensor *a = c->in[0], *b = c->in[1];
    const char *who = c->op->name;
    gt__binop op = ((const cmp_attr *)c->attr)->op;
    if (a->dtype != b->dtype) {
        gt__error("%s: operands have different dtypes, %s and %s (cast one with gt_cast)", who,
                  gt_dtype_name(a->dtype), gt_dtype_name(b->dtype));
        return false;
    }
    if ((op == GT__B_AND || op == GT__B_OR) && a->dtype != GT_BOOL) {
        gt__error("%s: operands must be bool, got %s", who, gt_dtype_name(a->dtype));
        return false;
    }
    c->dtype = GT_BOOL;
    return gt__broadcast_shape(who, a->rank, a->shape, b->rank, b->shape, &c->rank, c->shape);
}

static void cmp_forward(gt__call *c) {
    gt__binary(((const cmp_attr *)c->attr)->op, c->in[0], c->in[1], c->out);
}

#define CMP_OP(var, nm)                                                                          \
    const gt__op var = {.name = nm, .nin = 2, .flags = GT__OP_NONDIFF,                          \
                        .attr_size = sizeof(cmp_attr), .infer = cmp_infer, .forward = cmp_forward}

CMP_OP(gt__op_equal, "equal");
CMP_OP(gt__op_not_equal, "not_equal");
CMP_OP(gt__op_less, "less");
CMP_OP(gt__op_less_equal, "less_equal");
CMP_OP(gt__op_greater, "greater");
CMP_OP(gt__op_greater_equal, "greater_equal");
CMP_OP(gt__op_logical_and, "logical_and");
CMP_OP(gt__op_logical_or, "logical_or");

static gt_tensor *cmp(const gt__op *op, gt__binop k, const gt_tensor *a, const gt_tensor *b) {
    cmp_attr at = {k};
    return gt__apply2(op, a, b, &at);
}

gt_tensor *gt_equal(const gt_tensor *a, const gt_tensor *b) { return cmp(&gt__op_equal, GT__B_EQ, a, b); }
gt_tensor *gt_not_equal(const gt_tensor *a, const gt_tensor *b) {
    return cmp(&gt__op_not_equal, GT__B_NE, a, b);
}
gt_tensor *gt_less(const gt_tensor *a, const gt_tensor *b) { return cmp(&gt__op_less, GT__B_LT, a, b); }
gt_tensor *gt_less_equal(const gt_tensor *a, const gt_tensor *b) {
    return cmp(&gt__op_less_equal, GT__B_LE, a, b);
}
gt_tensor *gt_greater(const gt_tensor *a, const gt_tensor *b) {
    return cmp(&gt__op_greater, GT__B_GT, a, b);
}
gt_tensor *gt_greater_equal(const gt_tensor *a, const gt_tensor *b) {
    return cmp(&gt__op_greater_equal, GT__B_GE, a, b);
}
gt_tensor *gt_logical_and(const gt_tensor *a, const gt_tensor *b) {
    return cmp(&gt__op_logical_and, GT__B_AND, a, b);
}
gt_tensor *gt_logical_or(const gt_tensor *a, const gt_tensor *b) {
    return cmp(&gt__op_logical_or, GT__B_OR, a, b);
}

/* ---- logical_not ------------------------------------------------------------------------- */

static bool not_infer(gt__call *c) {
    const gt_tensor *a = c->in[0];
    if (a->dtype != GT_BOOL) {
        gt__error("gt_logical_not: the operand must be bool, got %s", gt_dtype_name(a->dtype));
        return false;
    }
    c->dtype = GT_BOOL;
    c->rank = a->rank;
    memcpy(c->shape, a->shape, sizeof c->shape);
    return true;
}
static void not_forward(gt__call *c) {
    const bool *a = c->in[0]->data;
    bool *o = c->out->data;
    for (int64_t i = 0; i < c->out->size; i++) o[i] = !a[i];
}
const gt__op gt__op_logical_not = {.name = "logical_not", .nin = 1, .flags = GT__OP_NONDIFF,
                                   .infer = not_infer, .forward = not_forward};
gt_tensor *gt_logical_not(const gt_tensor *a) { return gt__apply1(&gt__op_logical_not, a, NULL); }

/* ---- where ------------------------------------------------------------------------------- */

static bool where_infer(gt__call *c) {
    const gt_tensor *k = c->in[0], *a = c->in[1], *b = c->in[2];
    if (k->dtype != GT_BOOL) {
        gt__error("gt_where: the condition must be bool, got %s (compare with gt_greater etc.)",
                  gt_dtype_name(k->dtype));
        return false;
    }
    if (a->dtype != b->dtype) {
        gt__error("gt_where: the two branches have different dtypes, %s and %s", gt_dtype_name(a->dtype),
                  gt_dtype_name(b->dtype));
        return false;
    }
    int r;
    int64_t s[GT_MAX_RANK];
    if (!gt__broadcast_shape("gt_where", a->rank, a->shape, b->rank, b->shape, &r, s)) return false;
    c->dtype = a->dtype;
    return gt__broadcast_shape("gt_where", k->rank, k->shape, r, s, &c->rank, c->shape);
}
static void where_forward(gt__call *c) { gt__select(c->in[0], c->in[1], c->in[2], c->out); }
static void where_grad(gt__gctx *g) {
    gt_tensor *zero = gt_zeros_like(g->gy);
    if (g->need[1]) g->gx[1] = gt_where(g->in[0], g->gy, zero);
    if (g->need[2]) g->gx[2] = gt_where(g->in[0], zero, g->gy);
}
const gt__op gt__op_where = {.name = "where", .nin = 3, .flags = GT__OP_BATCHABLE, .keep_in = 1u, .infer = where_infer,
                             .forward = where_forward, .grad = where_grad};
gt_tensor *gt_where(const gt_tensor *cond, const gt_tensor *a, const gt_tensor *b) {
    const gt_tensor *in[3] = {cond, a, b};
    return gt__apply(&gt__op_where, 3, in, NULL);
}

/* ---- cast -------------------------------------------------------------------------------- */

typedef struct {
    gt_dtype to;
} cast_attr;

static bool same_infer(gt__call *c) {
    c->dtype = c->in[0]->dtype;
    c->rank = c->in[0]->rank;
    memcpy(c->shape, c->in[0]->shape, sizeof c->shape);
    return true;
}

static bool cast_infer(gt__call *c) {
    gt_dtype to = ((const cast_attr *)c->attr)->to;
    if ((unsigned)to > GT_BOOL) {
        gt__error("gt_cast: invalid dtype %d", (int)to);
        return false;
    }
    same_infer(c);
    c->dtype = to;
    return true;
}
static void cast_forward(gt__call *c) {
    gt__convert(c->in[0]->dtype, c->in[0]->data, c->out->dtype, c->out->data, c->out->size);
}
/* Gradients pass between float dtypes and stop at integers (TensorFlow's _CastGrad). */
static void cast_grad(gt__gctx *g) {
    if (gt__is_float(g->meta[0].dtype) && gt__is_float(g->gy->dtype)) g->gx[0] = gt_cast(g->gy, g->meta[0].dtype);
}
const gt__op gt__op_cast = {.name = "cast", .nin = 1, .flags = GT__OP_BATCHABLE, .attr_size = sizeof(cast_attr),
                            .infer = cast_infer, .forward = cast_forward, .grad = cast_grad};
gt_tensor *gt_cast(const gt_tensor *x, gt_dtype dtype) {
    cast_attr a = {dtype};
    return gt__apply1(&gt__op_cast, x, &a);
}

/* ---- identity and stop_gradient ----------------------------------------------------------- */

static void identity_grad(gt__gctx *g) { g->gx[0] = g->gy; }
const gt__op gt__op_identity = {.name = "identity", .nin = 1, .flags = GT__OP_ALIAS | GT__OP_BATCHABLE,
                                .infer = same_infer, .grad = identity_grad};
const gt__op gt__op_stop_gradient = {.name = "stop_gradient", .nin = 1,
                                     .flags = GT__OP_ALIAS | GT__OP_NONDIFF | GT__OP_STOP,
                                     .infer = same_infer};
gt_tensor *gt_identity(const gt_tensor *x) { return gt__apply1(&gt__op_identity, x, NULL); }
gt_tensor *gt_stop_gradient(const gt_tensor *x) { return gt__apply1(&gt__op_stop_gradient, x, NULL); }

/* maximum(minimum(x, hi), lo): with the tie rule of both the gradient is 1 at the bounds. */
gt_tensor *gt_clip_by_value(const gt_tensor *x, double lo, double hi) {
    if (x && lo > hi) {
        gt__error("gt_clip_by_value: lo (%g) must not exceed hi (%g)", lo, hi);
        return NULL;
    }
    return gt_maximum_s(gt_minimum_s(x, hi), lo);
}

const gt__op *const gt__ops_misc[] = {
    &gt__op_equal,      &gt__op_not_equal,   &gt__op_less,        &gt__op_less_equal,
    &gt__op_greater,    &gt__op_greater_equal, &gt__op_logical_and, &gt__op_logical_or,
    &gt__op_logical_not, &gt__op_where,       &gt__op_cast,        &gt__op_identity,
    &gt__op_stop_gradient};
const int gt__ops_misc_n = (int)(sizeof gt__ops_misc / sizeof *gt__ops_misc);
