/* Elementwise arithmetic with TensorFlow broadcasting, and the forms taking a C scalar. */
#include "kernels/binary.h"
#include "ops/registry.h"

typedef struct {
    gt__binop op;
} bin_attr;

/* The shape rule runs for every op: its checks stay inline, the messages out of line. */
static GT__COLD bool arith_error(const char *who, const gt_tensor *a, const gt_tensor *b) {
    if (a->dtype != b->dtype)
        gt__error("%s: operands have different dtypes, %s %s and %s %s; gradtape does not "
                  "promote types (cast one with gt_cast)",
                  who, gt_dtype_name(a->dtype), GT__SHAPE_STR(a), gt_dtype_name(b->dtype),
                  GT__SHAPE_STR(b));
    else if (a->dtype == GT_BOOL)
        gt__error("%s: arithmetic on bool tensors is not supported (cast to a number first)", who);
    else
        gt__error("%s: integer powers are not supported (cast to float32 or float64)", who);
    return false;
}

static bool arith_infer(gt__call *c) {
    const gt_tensor *a = c->in[0], *b = c->in[1];
    gt__binop op = ((const bin_attr *)c->attr)->op;
    if (GT__UNLIKELY(a->dtype != b->dtype || a->dtype == GT_BOOL ||
                     (op == GT__B_POW && !gt__is_float(a->dtype))))
        return arith_error(c->op->name, a, b);
    c->dtype = a->dtype;
    return gt__broadcast_shape(c->op->name, a->rank, a->shape, b->rank, b->shape, &c->rank,
                               c->shape);
}

static void arith_forward(gt__call *c) {
    gt__binary(((const bin_attr *)c->attr)->op, c->in[0], c->in[1], c->out);
}

static void add_grad(gt__gctx *g) {
    g->gx[0] = g->gy;
    g->gx[1] = g->gy;
}

static void sub_grad(gt__gctx *g) {
    g->gx[0] = g->gy;
    if (g->need[1]) g->gx[1] = gt_neg(g->gy);
}

static void mul_grad(gt__gctx *g) {
    if (g->need[0]) g->gx[0] = gt_mul(g->gy, g->in[1]);
    if (g->need[1]) g->gx[1] = gt_mul(g->in[0], g->gy);
}

/* TensorFlow's _RealDivGrad: gx = gy / y, gy_y = gy * ((-x / y) / y). */
static void div_grad(gt__gctx *g) {
    if (g->need[0]) g->gx[0] = gt_div(g->gy, g->in[1]);
    if (g->need[1]) g->gx[1] = gt_mul(g->gy, gt_div(gt_div(gt_neg(g->in[0]), g->in[1]), g->in[1]));
}

/* TensorFlow's _PowGrad: gx = gy * y * x^(y-1); gy_y = gy * z * log(x) with log taken as 0
 * where x <= 0. The logarithm is of where(x > 0, x, 1) so that its own gradient stays finite
 * in the branch that is not taken (second derivatives would otherwise give 0 * inf = NaN). */
static void pow_grad(gt__gctx *g) {
    gt_tensor *x = g->in[0], *y = g->in[1];
    if (g->need[0]) g->gx[0] = gt_mul(g->gy, gt_mul(y, gt_pow(x, gt_sub_s(y, 1.0))));
    if (g->need[1]) {
        gt_tensor *pos = gt_greater(x, gt_zeros_like(x));
        gt_tensor *safe = gt_where(pos, x, gt_ones_like(x));
        gt_tensor *logx = gt_where(pos, gt_log(safe), gt_zeros_like(x));
        gt_tensor *z = gt_pow(x, y);
        g->gx[1] = gt_mul(g->gy, gt_mul(z, logx));
    }
}

/* Ties go to the first argument (TensorFlow uses greater_equal / less_equal). */
static void maxmin_grad(gt__gctx *g, bool is_max) {
    gt_tensor *x = g->in[0], *y = g->in[1];
    gt_tensor *first = is_max ? gt_greater_equal(x, y) : gt_less_equal(x, y);
    gt_tensor *zero = gt_zeros_like(g->gy);
    if (g->need[0]) g->gx[0] = gt_where(first, g->gy, zero);
    if (g->need[1]) g->gx[1] = gt_where(first, zero, g->gy);
}
static void max_grad(gt__gctx *g) { maxmin_grad(g, true); }
static void min_grad(gt__gctx *g) { maxmin_grad(g, false); }

static void sqdiff_grad(gt__gctx *g) {
    gt_tensor *d = gt_mul_s(gt_mul(g->gy, gt_sub(g->in[0], g->in[1])), 2.0);
    if (g->need[0]) g->gx[0] = d;
    if (g->need[1]) g->gx[1] = gt_neg(d);
}

#define ARITH_OP(var, nm, keep, gradfn)                                                         \
    const gt__op var = {.name = nm, .nin = 2, .flags = GT__OP_BATCHABLE, .keep_in = keep,        \
                        .attr_size = sizeof(bin_attr),                                          \
                        .infer = arith_infer, .forward = arith_forward, .grad = gradfn}

ARITH_OP(gt__op_add, "add", 0, add_grad);
ARITH_OP(gt__op_sub, "sub", 0, sub_grad);
ARITH_OP(gt__op_mul, "mul", 3, mul_grad);
ARITH_OP(gt__op_div, "div", 3, div_grad);
ARITH_OP(gt__op_pow, "pow", 3, pow_grad);
ARITH_OP(gt__op_maximum, "maximum", 3, max_grad);
ARITH_OP(gt__op_minimum, "minimum", 3, min_grad);
ARITH_OP(gt__op_squared_difference, "squared_difference", 3, sqdiff_grad);

static gt_tensor *bin(const gt__op *op, gt__binop k, const gt_tensor *a, const gt_tensor *b) {
    bin_attr at = {k};
    return gt__apply2(op, a, b, &at);
}

gt_tensor *gt_add(const gt_tensor *a, const gt_tensor *b) { return bin(&gt__op_add, GT__B_ADD, a, b); }
gt_tensor *gt_sub(const gt_tensor *a, const gt_tensor *b) { return bin(&gt__op_sub, GT__B_SUB, a, b); }
gt_tensor *gt_mul(const gt_tensor *a, const gt_tensor *b) { return bin(&gt__op_mul, GT__B_MUL, a, b); }
gt_tensor *gt_div(const gt_tensor *a, const gt_tensor *b) { return bin(&gt__op_div, GT__B_DIV, a, b); }
gt_tensor *gt_pow(const gt_tensor *a, const gt_tensor *b) { return bin(&gt__op_pow, GT__B_POW, a, b); }
gt_tensor *gt_maximum(const gt_tensor *a, const gt_tensor *b) {
    return bin(&gt__op_maximum, GT__B_MAX, a, b);
}
gt_tensor *gt_minimum(const gt_tensor *a, const gt_tensor *b) {
    return bin(&gt__op_minimum, GT__B_MIN, a, b);
}
gt_tensor *gt_squared_difference(const gt_tensor *a, const gt_tensor *b) {
    return bin(&gt__op_squared_difference, GT__B_SQDIFF, a, b);
}

/* The scalar forms: s becomes a rank-0 tensor of a's dtype, as Python's `x * 2.0` does. */
static gt_tensor *scalar_like(const gt_tensor *a, double s, const char *who) {
    if (!a) {
        gt__error_null(who);
        return NULL;
    }
    return gt_scalar_of(a->dtype, s);
}

gt_tensor *gt_add_s(const gt_tensor *a, double s) { return gt_add(a, scalar_like(a, s, "gt_add_s")); }
gt_tensor *gt_sub_s(const gt_tensor *a, double s) { return gt_sub(a, scalar_like(a, s, "gt_sub_s")); }
gt_tensor *gt_rsub_s(double s, const gt_tensor *a) { return gt_sub(scalar_like(a, s, "gt_rsub_s"), a); }
gt_tensor *gt_mul_s(const gt_tensor *a, double s) { return gt_mul(a, scalar_like(a, s, "gt_mul_s")); }
gt_tensor *gt_div_s(const gt_tensor *a, double s) { return gt_div(a, scalar_like(a, s, "gt_div_s")); }
gt_tensor *gt_rdiv_s(double s, const gt_tensor *a) { return gt_div(scalar_like(a, s, "gt_rdiv_s"), a); }
gt_tensor *gt_pow_s(const gt_tensor *a, double s) { return gt_pow(a, scalar_like(a, s, "gt_pow_s")); }
gt_tensor *gt_maximum_s(const gt_tensor *a, double s) {
    return gt_maximum(a, scalar_like(a, s, "gt_maximum_s"));
}
gt_tensor *gt_minimum_s(const gt_tensor *a, double s) {
    return gt_minimum(a, scalar_like(a, s, "gt_minimum_s"));
}

const gt__op *const gt__ops_binary[] = {&gt__op_add,     &gt__op_sub,     &gt__op_mul,
                                        &gt__op_div,     &gt__op_pow,     &gt__op_maximum,
                                        &gt__op_minimum, &gt__op_squared_difference};
const int gt__ops_binary_n = (int)(sizeof gt__ops_binary / sizeof *gt__ops_binary);
