/* Every op of the public API against TensorFlow itself: tests/data/ops_ref.txt holds forward
 * values and tf.GradientTape gradients that tests/ref/gen_ops.py computed with TensorFlow (see
 * tests/ref/README.md). For each case this test
 *   1. builds the inputs, calls the gradtape op with the case's attributes and compares the
 *      outputs' dtype, shape and values;
 *   2. when the case has gradients: records the op on a tape that watches the float inputs,
 *      takes d/d inputs of sum_i sum(w_i * y_i) with the case's fixed weights w_i and compares
 *      every gradient (a gradient TensorFlow reports as None must be NULL here).
 * Failures name the case ("op/dtype/variant") and the file line; a summary lists them all.
 *
 *   test_ops_ref [substring]    runs only the cases whose id contains substring.
 */
#include "gtt.h"
#include "refdata.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IO REFDATA_MAX_TENSORS

/* ============================================================================================
 * Dispatch: op name + attributes -> gradtape call
 * ========================================================================================== */

typedef gt_tensor *(*binary_fn)(const gt_tensor *, const gt_tensor *);
typedef gt_tensor *(*unary_fn)(const gt_tensor *);
typedef gt_tensor *(*scalar_fn)(const gt_tensor *, double);
typedef gt_tensor *(*reduce_fn)(const gt_tensor *, int, const int *, bool);

static gt_tensor *rsub_s(const gt_tensor *x, double s) { return gt_rsub_s(s, x); }
static gt_tensor *rdiv_s(const gt_tensor *x, double s) { return gt_rdiv_s(s, x); }

static const struct {
    const char *name;
    binary_fn fn;
} binary_ops[] = {
    {"add", gt_add},
    {"sub", gt_sub},
    {"mul", gt_mul},
    {"div", gt_div},
    {"pow", gt_pow},
    {"maximum", gt_maximum},
    {"minimum", gt_minimum},
    {"squared_difference", gt_squared_difference},
    {"equal", gt_equal},
    {"not_equal", gt_not_equal},
    {"less", gt_less},
    {"less_equal", gt_less_equal},
    {"greater", gt_greater},
    {"greater_equal", gt_greater_equal},
    {"logical_and", gt_logical_and},
    {"logical_or", gt_logical_or},
    {"sigmoid_cross_entropy_with_logits", gt_sigmoid_cross_entropy_with_logits},
    {"sparse_softmax_cross_entropy_with_logits", gt_sparse_softmax_cross_entropy_with_logits},
};

static const struct {
    const char *name;
    unary_fn fn;
} unary_ops[] = {
    {"neg", gt_neg},         {"abs", gt_abs},
    {"sign", gt_sign},       {"square", gt_square},
    {"sqrt", gt_sqrt},       {"rsqrt", gt_rsqrt},
    {"exp", gt_exp},         {"log", gt_log},
    {"log1p", gt_log1p},     {"expm1", gt_expm1},
    {"sin", gt_sin},         {"cos", gt_cos},
    {"tanh", gt_tanh},       {"sigmoid", gt_sigmoid},
    {"relu", gt_relu},       {"relu6", gt_relu6},
    {"selu", gt_selu},       {"softplus", gt_softplus},
    {"silu", gt_silu},       {"softsign", gt_softsign},
    {"logical_not", gt_logical_not}, {"stop_gradient", gt_stop_gradient},
    {"identity", gt_identity},
};

static const struct {
    const char *name;
    scalar_fn fn;
} scalar_ops[] = {
    {"add_s", gt_add_s}, {"sub_s", gt_sub_s}, {"rsub_s", rsub_s},
    {"mul_s", gt_mul_s}, {"div_s", gt_div_s}, {"rdiv_s", rdiv_s},
    {"pow_s", gt_pow_s}, {"maximum_s", gt_maximum_s}, {"minimum_s", gt_minimum_s},
};

static const struct {
    const char *name;
    reduce_fn fn;
} reduce_ops[] = {
    {"reduce_sum", gt_reduce_sum},   {"reduce_mean", gt_reduce_mean},
    {"reduce_max", gt_reduce_max},   {"reduce_min", gt_reduce_min},
    {"reduce_prod", gt_reduce_prod}, {"reduce_logsumexp", gt_reduce_logsumexp},
};

#define NELEM(a) (sizeof(a) / sizeof *(a))

/* Why a case could not be run (bad data, not a library failure); set by the attr helpers. */
static char data_problem[256];

static bool need(bool ok, const refdata_case *c, const char *what) {
    if (!ok && !data_problem[0])
        snprintf(data_problem, sizeof data_problem, "case %s: missing or malformed %s", c->id,
                 what);
    return ok;
}

static bool need_inputs(const refdata_case *c, int n) {
    return need(c->nin == n, c, "input count");
}

/* Attribute helpers: on failure they record data_problem and return a neutral value. */
static double attr_d(const refdata_case *c, const char *name) {
    double v = 0;
    need(refdata_attr_double(c, name, &v), c, name);
    return v;
}

static int attr_i(const refdata_case *c, const char *name) {
    int64_t v = 0;
    need(refdata_attr_int(c, name, &v), c, name);
    return (int)v;
}

static bool attr_b(const refdata_case *c, const char *name) {
    bool v = false;
    need(refdata_attr_bool(c, name, &v), c, name);
    return v;
}

static gt_dtype attr_dt(const refdata_case *c, const char *name) {
    gt_dtype v = GT_F32;
    need(refdata_attr_dtype(c, name, &v), c, name);
    return v;
}

/* int64 list; returns the count (-1 on failure). */
static int attr_i64s(const refdata_case *c, const char *name, int64_t *out, int max) {
    int n = -1;
    if (!need(refdata_attr_ints(c, name, out, max, &n), c, name)) return -1;
    return n;
}

/* axes attribute: "all" -> (0, NULL) = GT_ALL; otherwise a list of ints. */
static bool attr_axes(const refdata_case *c, const char *name, int *axes, int *naxes,
                      bool *all) {
    *all = refdata_attr_is(c, name, "all");
    if (*all) {
        *naxes = 0;
        return true;
    }
    int64_t v[GT_MAX_RANK];
    int n = attr_i64s(c, name, v, GT_MAX_RANK);
    if (n < 0) return false;
    for (int i = 0; i < n; i++) axes[i] = (int)v[i];
    *naxes = n;
    return true;
}

/* Calls the op. Writes the outputs (possibly NULL on library error) to out[0..*nout-1].
 * Returns false only for a data problem (unknown op, malformed attributes). */
static bool run_op(const refdata_case *c, gt_tensor *const *in, gt_tensor **out, int *nout) {
    const char *op = c->op;
    *nout = 1;
    out[0] = NULL;
    for (size_t i = 0; i < NELEM(binary_ops); i++)
        if (!strcmp(op, binary_ops[i].name)) {
            if (!need_inputs(c, 2)) return false;
            out[0] = binary_ops[i].fn(in[0], in[1]);
            return true;
        }
    for (size_t i = 0; i < NELEM(unary_ops); i++)
        if (!strcmp(op, unary_ops[i].name)) {
            if (!need_inputs(c, 1)) return false;
            out[0] = unary_ops[i].fn(in[0]);
            return true;
        }
    for (size_t i = 0; i < NELEM(scalar_ops); i++)
        if (!strcmp(op, scalar_ops[i].name)) {
            double s = attr_d(c, "s");
            if (!need_inputs(c, 1) || data_problem[0]) return false;
            out[0] = scalar_ops[i].fn(in[0], s);
            return true;
        }
    for (size_t i = 0; i < NELEM(reduce_ops); i++)
        if (!strcmp(op, reduce_ops[i].name)) {
            int axes[GT_MAX_RANK], naxes;
            bool all;
            bool keep = attr_b(c, "keepdims");
            if (!need_inputs(c, 1) || !attr_axes(c, "axes", axes, &naxes, &all) ||
                data_problem[0])
                return false;
            out[0] = reduce_ops[i].fn(in[0], naxes, all ? NULL : axes, keep);
            return true;
        }

    if (!strcmp(op, "leaky_relu") || !strcmp(op, "elu")) {
        double alpha = attr_d(c, "alpha");
        if (!need_inputs(c, 1) || data_problem[0]) return false;
        out[0] = op[0] == 'l' ? gt_leaky_relu(in[0], alpha) : gt_elu(in[0], alpha);
    } else if (!strcmp(op, "gelu")) {
        bool approx = attr_b(c, "approximate");
        if (!need_inputs(c, 1) || data_problem[0]) return false;
        out[0] = gt_gelu(in[0], approx);
    } else if (!strcmp(op, "argmax") || !strcmp(op, "argmin")) {
        int axis = attr_i(c, "axis");
        gt_dtype idt = attr_dt(c, "index_dtype");
        if (!need_inputs(c, 1) || data_problem[0]) return false;
        out[0] = op[3] == 'm' && op[4] == 'a' ? gt_argmax(in[0], axis, idt)
                                              : gt_argmin(in[0], axis, idt);
    } else if (!strcmp(op, "matmul")) {
        bool ta = attr_b(c, "transpose_a"), tb = attr_b(c, "transpose_b");
        if (!need_inputs(c, 2) || data_problem[0]) return false;
        out[0] = gt_matmul(in[0], in[1], ta, tb);
    } else if (!strcmp(op, "reshape") || !strcmp(op, "broadcast_to")) {
        int64_t shape[GT_MAX_RANK];
        int n = attr_i64s(c, "shape", shape, GT_MAX_RANK);
        if (!need_inputs(c, 1) || n < 0) return false;
        out[0] = op[0] == 'r' ? gt_reshape(in[0], n, shape) : gt_broadcast_to(in[0], n, shape);
    } else if (!strcmp(op, "transpose")) {
        if (!need_inputs(c, 1)) return false;
        if (refdata_attr_is(c, "perm", "none")) {
            out[0] = gt_transpose(in[0], NULL);
        } else {
            int64_t p[GT_MAX_RANK];
            int perm[GT_MAX_RANK];
            int n = attr_i64s(c, "perm", p, GT_MAX_RANK);
            if (n < 0) return false;
            for (int i = 0; i < n; i++) perm[i] = (int)p[i];
            out[0] = gt_transpose(in[0], perm);
        }
    } else if (!strcmp(op, "expand_dims")) {
        int axis = attr_i(c, "axis");
        if (!need_inputs(c, 1) || data_problem[0]) return false;
        out[0] = gt_expand_dims(in[0], axis);
    } else if (!strcmp(op, "squeeze")) {
        int axes[GT_MAX_RANK], naxes;
        bool all;
        if (!need_inputs(c, 1) || !attr_axes(c, "axes", axes, &naxes, &all)) return false;
        out[0] = gt_squeeze(in[0], naxes, all ? NULL : axes);
    } else if (!strcmp(op, "concat") || !strcmp(op, "stack")) {
        int axis = attr_i(c, "axis");
        if (data_problem[0] || !need(c->nin >= 1, c, "inputs")) return false;
        const gt_tensor *xs[MAX_IO];
        for (int i = 0; i < c->nin; i++) xs[i] = in[i];
        out[0] = op[1] == 'o' ? gt_concat(c->nin, xs, axis) : gt_stack(c->nin, xs, axis);
    } else if (!strcmp(op, "split")) {
        int n = attr_i(c, "n"), axis = attr_i(c, "axis");
        int64_t sizes[MAX_IO];
        bool equal = refdata_attr_is(c, "sizes", "none");
        if (!equal && attr_i64s(c, "sizes", sizes, MAX_IO) != n) return need(false, c, "sizes");
        if (!need_inputs(c, 1) || data_problem[0] || !need(n >= 1 && n <= MAX_IO, c, "n"))
            return false;
        *nout = n;
        if (!gt_split(in[0], n, equal ? NULL : sizes, axis, out))
            for (int i = 0; i < n; i++) out[i] = NULL;
    } else if (!strcmp(op, "slice")) {
        int64_t begin[GT_MAX_RANK], size[GT_MAX_RANK];
        int nb = attr_i64s(c, "begin", begin, GT_MAX_RANK);
        int ns = attr_i64s(c, "size", size, GT_MAX_RANK);
        if (!need_inputs(c, 1) || nb < 0 || ns < 0) return false;
        out[0] = gt_slice(in[0], begin, size);
    } else if (!strcmp(op, "gather")) {
        int axis = attr_i(c, "axis");
        if (!need_inputs(c, 2) || data_problem[0]) return false;
        out[0] = gt_gather(in[0], in[1], axis);
    } else if (!strcmp(op, "tile")) {
        int64_t mult[GT_MAX_RANK];
        if (!need_inputs(c, 1) || attr_i64s(c, "multiples", mult, GT_MAX_RANK) < 0) return false;
        out[0] = gt_tile(in[0], mult);
    } else if (!strcmp(op, "pad")) {
        int64_t pads[2 * GT_MAX_RANK];
        double value = attr_d(c, "value");
        if (!need_inputs(c, 1) || attr_i64s(c, "paddings", pads, 2 * GT_MAX_RANK) < 0 ||
            data_problem[0])
            return false;
        out[0] = gt_pad(in[0], pads, value);
    } else if (!strcmp(op, "one_hot")) {
        int depth = attr_i(c, "depth");
        double on = attr_d(c, "on"), off = attr_d(c, "off");
        gt_dtype dt = attr_dt(c, "dtype");
        if (!need_inputs(c, 1) || data_problem[0]) return false;
        out[0] = gt_one_hot(in[0], depth, on, off, dt);
    } else if (!strcmp(op, "where")) {
        if (!need_inputs(c, 3)) return false;
        out[0] = gt_where(in[0], in[1], in[2]);
    } else if (!strcmp(op, "cast")) {
        gt_dtype dt = attr_dt(c, "dtype");
        if (!need_inputs(c, 1) || data_problem[0]) return false;
        out[0] = gt_cast(in[0], dt);
    } else if (!strcmp(op, "clip_by_value")) {
        double lo = attr_d(c, "lo"), hi = attr_d(c, "hi");
        if (!need_inputs(c, 1) || data_problem[0]) return false;
        out[0] = gt_clip_by_value(in[0], lo, hi);
    } else if (!strcmp(op, "softmax") || !strcmp(op, "log_softmax")) {
        int axis = attr_i(c, "axis");
        if (!need_inputs(c, 1) || data_problem[0]) return false;
        out[0] = op[0] == 's' ? gt_softmax(in[0], axis) : gt_log_softmax(in[0], axis);
    } else if (!strcmp(op, "softmax_cross_entropy_with_logits")) {
        int axis = attr_i(c, "axis");
        if (!need_inputs(c, 2) || data_problem[0]) return false;
        out[0] = gt_softmax_cross_entropy_with_logits(in[0], in[1], axis);
    } else {
        return need(false, c, "op (unknown to this test)");
    }
    return true;
}

/* ============================================================================================
 * Tolerances
 *
 * A comparison passes when, element by element, NaN meets NaN, an infinity meets the same
 * infinity, or |got - want| <= atol + rtol * |want|. Integer and bool results are always
 * compared exactly. For floats the (rtol, atol) pair depends on what the op computes:
 * ========================================================================================== */

typedef enum tol_kind {
    /* Pure data movement or selection (shape ops, comparisons, where, casts, max/min, relu,
     * abs, neg, clip, one_hot): the result is one of the inputs' values, or a value both sides
     * produce by one correctly rounded conversion. Exact. */
    K_EXACT,
    /* IEEE basic arithmetic (+ - * / sqrt, and the _s forms): each operation is correctly
     * rounded, but the two implementations may chain two or three of them differently (x/s
     * against x*(1/s), the scalar's conversion to the tensor dtype, leaky_relu's alpha*x, the
     * gradient -g*a/b^2 against -(g*a/b)/b): a few ulps. */
    K_ARITH,
    /* Elementwise transcendental functions (exp, log, tanh, sigmoid, erf, pow, ...).
     * TensorFlow uses Eigen's vectorised polynomial/rational approximations, which are
     * accurate to a few ulps in float32 but are not glibc's libm, and composite functions
     * (gelu, silu, selu, softplus) round several intermediate results: rtol 1e-5 (~80 ulps)
     * in float32, 1e-13 (~450 ulps) in float64. TensorFlow runs with flush-to-zero, so a
     * subnormal result may be 0 on its side: atol just above the smallest normal. */
    K_TRANS,
    /* sin / cos: as K_TRANS, plus an absolute error of the range-reduced approximation that
     * does not shrink near the functions' zeros. */
    K_PERIODIC,
    /* Sums of k terms (reduce_sum/mean, matmul, logsumexp, softmax, cross-entropies): the
     * summation order differs (Eigen's packet tree vs our loops), so rounding errors are of
     * the order eps * sqrt(k) * sum|terms| (random-walk estimate of the accumulated error),
     * taken with a factor 2; see sum_tol. */
    K_SUM,
    /* reduce_prod of k factors: relative error up to about k * eps on each side. */
    K_PROD,
} tol_kind;

static const struct {
    const char *op;
    tol_kind kind;
} op_kinds[] = {
    {"add", K_ARITH},          {"sub", K_ARITH},          {"mul", K_ARITH},
    {"div", K_ARITH},          {"squared_difference", K_ARITH}, {"square", K_ARITH},
    {"sqrt", K_ARITH},         {"leaky_relu", K_ARITH},   {"add_s", K_ARITH},
    {"sub_s", K_ARITH},        {"rsub_s", K_ARITH},       {"mul_s", K_ARITH},
    {"div_s", K_ARITH},        {"rdiv_s", K_ARITH},       {"pow", K_TRANS},
    {"pow_s", K_TRANS},        {"rsqrt", K_TRANS},        {"exp", K_TRANS},
    {"log", K_TRANS},          {"log1p", K_TRANS},        {"expm1", K_TRANS},
    {"tanh", K_TRANS},         {"sigmoid", K_TRANS},      {"elu", K_TRANS},
    {"selu", K_TRANS},         {"gelu", K_TRANS},         {"softplus", K_TRANS},
    {"silu", K_TRANS},         {"softsign", K_TRANS},     {"sin", K_PERIODIC},
    {"cos", K_PERIODIC},       {"reduce_sum", K_SUM},     {"reduce_mean", K_SUM},
    {"reduce_logsumexp", K_SUM}, {"matmul", K_SUM},       {"softmax", K_SUM},
    {"log_softmax", K_SUM},    {"softmax_cross_entropy_with_logits", K_SUM},
    {"sparse_softmax_cross_entropy_with_logits", K_SUM},
    {"sigmoid_cross_entropy_with_logits", K_TRANS},       {"reduce_prod", K_PROD},
    /* everything else: K_EXACT */
};

typedef struct tol {
    double rtol, atol;
} tol;

static tol_kind kind_of(const char *op) {
    for (size_t i = 0; i < NELEM(op_kinds); i++)
        if (!strcmp(op, op_kinds[i].op)) return op_kinds[i].kind;
    return K_EXACT;
}

static double eps_of(gt_dtype dt) { return dt == GT_F32 ? FLT_EPSILON : DBL_EPSILON; }
static double trans_rtol(gt_dtype dt) { return dt == GT_F32 ? 1e-5 : 1e-13; }
/* Smallest normal: TensorFlow flushes subnormal results to zero. */
static double flush_atol(gt_dtype dt) { return dt == GT_F32 ? 2.0 * FLT_MIN : 2.0 * DBL_MIN; }

static double max_abs(const refdata_tensor *t) {
    double m = 0;
    if (t->is_none || (t->dtype != GT_F32 && t->dtype != GT_F64)) return 0;
    for (int64_t i = 0; i < t->size; i++) {
        double v = fabs(refdata_get(t, i));
        if (isfinite(v) && v > m) m = v;
    }
    return m;
}

static double sum_abs(const refdata_tensor *t) {
    double s = 0;
    if (t->is_none || (t->dtype != GT_F32 && t->dtype != GT_F64)) return 0;
    for (int64_t i = 0; i < t->size; i++) {
        double v = fabs(refdata_get(t, i));
        if (isfinite(v)) s += v;
    }
    return s;
}

/* Largest |value| over the case's float inputs. */
static double inputs_max_abs(const refdata_case *c) {
    double m = 0;
    for (int i = 0; i < c->nin; i++) m = fmax(m, max_abs(&c->in[i]));
    return m;
}

/* Number of terms each output element of a summing op adds up, and the typical size of
 * sum|terms| for one output element. */
static void sum_terms(const refdata_case *c, double *k, double *scale) {
    const refdata_tensor *x = &c->in[c->nin - 1]; /* logits for the cross-entropies */
    const refdata_tensor *y = &c->out[0];
    double in_size = (double)x->size, out_size = (double)(y->size ? y->size : 1);
    if (!strcmp(c->op, "matmul")) {
        const refdata_tensor *a = &c->in[0];
        bool ta = false;
        refdata_attr_bool(c, "transpose_a", &ta);
        *k = a->rank >= 2 ? (double)a->shape[a->rank - (ta ? 2 : 1)] : 1;
        *scale = *k * max_abs(&c->in[0]) * max_abs(&c->in[1]);
        return;
    }
    if (!strcmp(c->op, "softmax") || !strcmp(c->op, "log_softmax") ||
        !strcmp(c->op, "sparse_softmax_cross_entropy_with_logits") ||
        !strcmp(c->op, "softmax_cross_entropy_with_logits")) {
        /* one normaliser per row: k = classes; terms are exp(x - max) <= 1, and the result
         * also carries |x| (log_softmax = x - lse, xent = lse - sum l*x). */
        *k = x->rank ? (double)x->shape[x->rank - 1] : 1;
        int64_t ax = 0;
        if (refdata_attr_int(c, "axis", &ax) && x->rank) {
            int a = (int)(ax < 0 ? ax + x->rank : ax);
            if (a >= 0 && a < x->rank) *k = (double)x->shape[a];
        }
        *scale = *k + inputs_max_abs(c) * (1.0 + max_abs(&c->in[0]));
        return;
    }
    *k = y->size ? in_size / out_size : 1;
    *scale = sum_abs(x) / out_size;
    if (!strcmp(c->op, "reduce_mean")) *scale /= (*k > 0 ? *k : 1);
    if (!strcmp(c->op, "reduce_logsumexp")) *scale = *k + inputs_max_abs(c);
}

/* Tolerance for comparing `want` (an output, or the gradient of input `grad_of` when >= 0). */
static tol tolerance(const refdata_case *c, const refdata_tensor *want, int grad_of) {
    tol t = {0, 0};
    gt_dtype dt = want->dtype;
    if (dt != GT_F32 && dt != GT_F64) return t;
    /* the dtype the op computed in (a cast's gradient is in the input's dtype) */
    gt_dtype cdt = c->nout ? c->out[0].dtype : dt;
    if (cdt != GT_F32 && cdt != GT_F64) cdt = dt;
    if (dt == GT_F32 || cdt == GT_F32) cdt = GT_F32;
    double eps = eps_of(cdt);
    tol_kind kind = kind_of(c->op);
    bool grad = grad_of >= 0;
    double wmax = 0;
    for (int i = 0; i < c->nw; i++) wmax = fmax(wmax, max_abs(&c->w[i]));
    double gscale = max_abs(want); /* normwise part for gradients */

    switch (kind) {
    case K_EXACT:
        if (grad && (!strcmp(c->op, "reduce_max") || !strcmp(c->op, "reduce_min"))) {
            /* tied maxima share w / count: (1/count)*w against w/count */
            t.rtol = 2 * eps;
        }
        break;
    case K_ARITH:
        t.rtol = 4 * eps;
        /* gradients reduced over broadcast axes are short sums of products */
        if (grad) t.atol = 16 * eps * gscale;
        break;
    case K_TRANS:
    case K_PERIODIC:
        t.rtol = trans_rtol(cdt);
        t.atol = flush_atol(cdt);
        if (kind == K_PERIODIC) t.atol += 10 * eps * fmax(1.0, inputs_max_abs(c));
        /* composite gradients (gelu, silu, selu, pow's log term, sigmoid xent) subtract
         * nearly equal terms: an error relative to the largest component */
        if (grad) t.atol += trans_rtol(cdt) * 0.1 * gscale;
        break;
    case K_SUM: {
        double k, scale;
        sum_terms(c, &k, &scale);
        bool transcendental = strcmp(c->op, "reduce_sum") && strcmp(c->op, "reduce_mean") &&
                              strcmp(c->op, "matmul");
        t.rtol = transcendental ? trans_rtol(cdt) : 4 * eps;
        t.atol = 2 * eps * sqrt(k + 1) * scale;
        if (transcendental) t.atol += trans_rtol(cdt) * (1.0 + inputs_max_abs(c)) * 1e-1;
        if (grad) {
            /* the backward pass sums over the other dimensions (matmul: w @ b^T) */
            double kk = 1;
            for (int i = 0; i < c->nw; i++)
                for (int d = 0; d < c->w[i].rank; d++) kk = fmax(kk, (double)c->w[i].shape[d]);
            t.atol += 2 * eps * sqrt(kk + 1) * kk * wmax * fmax(1.0, inputs_max_abs(c)) +
                      (transcendental ? trans_rtol(cdt) : 4 * eps) * gscale;
        }
        break;
    }
    case K_PROD: {
        double k, scale;
        sum_terms(c, &k, &scale);
        t.rtol = 2 * (k + 1) * eps;
        t.atol = flush_atol(cdt);
        if (grad) t.atol += 2 * (k + 1) * eps * gscale;
        break;
    }
    }
    return t;
}

/* ============================================================================================
 * Comparison and reporting
 * ========================================================================================== */

static int cases_failed;

/* With GT_REF_STATS set in the environment, the largest |got - want| / tolerance seen per op
 * is printed at the end: how much headroom each tolerance leaves. */
static struct {
    char op[64];
    double worst;
} stats[128];
static int nstats;

static void note_ratio(const char *op, double r) {
    int i = 0;
    while (i < nstats && strcmp(stats[i].op, op)) i++;
    if (i == nstats) {
        if (nstats == (int)NELEM(stats)) return;
        snprintf(stats[nstats].op, sizeof stats[nstats].op, "%s", op);
        stats[nstats++].worst = 0;
    }
    if (r > stats[i].worst) stats[i].worst = r;
}
static char failed_ids[4096];

static void note_failure(const refdata_case *c) {
    static const refdata_case *last;
    if (last == c) return;
    last = c;
    cases_failed++;
    size_t len = strlen(failed_ids);
    if (len + strlen(c->id) + 8 < sizeof failed_ids)
        snprintf(failed_ids + len, sizeof failed_ids - len, "  %s\n", c->id);
    else if (!strstr(failed_ids, "...")) strcat(failed_ids, "  ...\n");
}

static void fmt_shape(char *buf, size_t n, int rank, const int64_t *shape) {
    size_t len = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (len < n) snprintf(buf + len, n - len, "]");
}

static bool close_enough(double a, double b, tol t) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b)) return a == b;
    return fabs(a - b) <= t.atol + t.rtol * fabs(b);
}

/* One check: got against want (dtype, shape, values). `what` is "out[0]" or "grad x". */
static void compare(const refdata_case *c, const char *what, const gt_tensor *got,
                    const refdata_tensor *want, tol t) {
    char ws[96], gs[96];
    if (!got) {
        note_failure(c);
        GTT_CHECK(false, "%s (line %d): %s is NULL: %s", c->id, c->line, what,
                  gt_error() ? gt_error() : "(no error set)");
        gt_error_clear();
        return;
    }
    fmt_shape(ws, sizeof ws, want->rank, want->shape);
    fmt_shape(gs, sizeof gs, gt_tensor_rank(got), gt_tensor_shape(got));
    if (gt_tensor_dtype(got) != want->dtype || strcmp(ws, gs)) {
        note_failure(c);
        GTT_CHECK(false, "%s (line %d): %s is %s %s, want %s %s", c->id, c->line, what,
                  gt_dtype_name(gt_tensor_dtype(got)), gs, gt_dtype_name(want->dtype), ws);
        return;
    }
    int64_t n = want->size;
    int bad = 0;
    double worst = 0;
    char detail[512] = "";
    size_t dlen = 0;
    if (want->dtype == GT_F32 || want->dtype == GT_F64) {
        double *buf = malloc(sizeof(double) * (size_t)(n ? n : 1));
        if (!buf || !gt_tensor_to_f64(got, buf, n)) {
            note_failure(c);
            GTT_CHECK(false, "%s: %s cannot be read: %s", c->id, what, gt_error() ? gt_error() : "");
            gt_error_clear();
            free(buf);
            return;
        }
        for (int64_t i = 0; i < n; i++) {
            double a = buf[i], b = refdata_get(want, i);
            if (isfinite(a) && isfinite(b)) {
                double tl = t.atol + t.rtol * fabs(b);
                note_ratio(c->op, a == b ? 0 : tl > 0 ? fabs(a - b) / tl : INFINITY);
            }
            if (close_enough(a, b, t)) continue;
            double tl = t.atol + t.rtol * fabs(b);
            double ex = tl > 0 ? fabs(a - b) / tl : INFINITY;
            if (!(ex <= worst)) worst = ex; /* NaN/inf mismatches count as infinitely bad */
            if (bad++ < 4 && dlen < sizeof detail)
                dlen += (size_t)snprintf(detail + dlen, sizeof detail - dlen,
                                         "\n      [%lld] got %.17g want %.17g", (long long)i, a, b);
        }
        free(buf);
    } else {
        const void *gd = gt_tensor_data(got);
        size_t es = want->dtype == GT_I64 ? 8 : want->dtype == GT_I32 ? 4 : sizeof(bool);
        for (int64_t i = 0; i < n; i++) {
            const char *ga = (const char *)gd + (size_t)i * es;
            const char *wb = (const char *)want->data + (size_t)i * es;
            bool same;
            long long a, b;
            if (want->dtype == GT_I64) {
                int64_t x, y;
                memcpy(&x, ga, 8), memcpy(&y, wb, 8);
                a = x, b = y;
            } else if (want->dtype == GT_I32) {
                int32_t x, y;
                memcpy(&x, ga, 4), memcpy(&y, wb, 4);
                a = x, b = y;
            } else {
                a = *(const bool *)ga, b = *(const bool *)wb;
            }
            same = a == b;
            if (same) continue;
            if (bad++ < 4 && dlen < sizeof detail)
                dlen += (size_t)snprintf(detail + dlen, sizeof detail - dlen,
                                         "\n      [%lld] got %lld want %lld", (long long)i, a, b);
        }
    }
    if (bad) {
        note_failure(c);
        char tl[96] = "exact comparison";
        if (t.rtol > 0 || t.atol > 0)
            snprintf(tl, sizeof tl, "rtol %.3g, atol %.3g, worst %.3g x tolerance", t.rtol, t.atol,
                     worst);
        GTT_CHECK(false, "%s (line %d): %s: %d of %lld elements differ (%s)%s", c->id, c->line,
                  what, bad, (long long)n, tl, detail);
    } else {
        gtt_passed++;
    }
}

/* ============================================================================================
 * Running a case
 * ========================================================================================== */

static bool make_inputs(const refdata_case *c, gt_tensor **in) {
    for (int i = 0; i < c->nin; i++) {
        const refdata_tensor *r = &c->in[i];
        in[i] = gt_tensor_new(r->dtype, r->rank, r->shape, r->size ? r->data : NULL);
        if (!in[i]) {
            note_failure(c);
            GTT_CHECK(false, "%s: gt_tensor_new for input %s: %s", c->id, r->name,
                      gt_error() ? gt_error() : "");
            gt_error_clear();
            return false;
        }
    }
    return true;
}

static int input_index(const refdata_case *c, const char *name) {
    for (int i = 0; i < c->nin; i++)
        if (!strcmp(c->in[i].name, name)) return i;
    return -1;
}

static void run_case(const refdata_case *c) {
    gt_tensor *in[MAX_IO], *out[MAX_IO];
    int nout = 0;
    char what[64];
    data_problem[0] = 0;
    gt_error_clear();

    /* 1. forward */
    gt_scope_begin();
    if (!make_inputs(c, in)) {
        gt_scope_end();
        return;
    }
    if (!run_op(c, in, out, &nout)) {
        note_failure(c);
        GTT_CHECK(false, "%s", data_problem);
        gt_scope_end();
        return;
    }
    if (nout != c->nout) {
        note_failure(c);
        GTT_CHECK(false, "%s: %d outputs, want %d", c->id, nout, c->nout);
    } else {
        for (int i = 0; i < nout; i++) {
            snprintf(what, sizeof what, "out[%d]", i);
            compare(c, what, out[i], &c->out[i], tolerance(c, &c->out[i], -1));
        }
    }
    gt_error_clear();
    gt_scope_end();
    if (c->ngrad == 0) return;

    /* 2. gradients of sum_i sum(w_i * y_i) */
    gt_scope_begin();
    gt_tensor *w[MAX_IO];
    const gt_tensor *src[MAX_IO];
    int src_in[MAX_IO];
    bool ok = make_inputs(c, in);
    for (int i = 0; ok && i < c->nw; i++) {
        const refdata_tensor *r = &c->w[i];
        w[i] = gt_tensor_new(r->dtype, r->rank, r->shape, r->size ? r->data : NULL);
        ok = w[i] != NULL;
    }
    for (int g = 0; ok && g < c->ngrad; g++) {
        src_in[g] = input_index(c, c->grad[g].name);
        if (src_in[g] < 0) {
            note_failure(c);
            GTT_CHECK(false, "%s: gradient of unknown input '%s'", c->id, c->grad[g].name);
            ok = false;
        } else {
            src[g] = in[src_in[g]];
        }
    }
    if (!ok) {
        gt_error_clear();
        gt_scope_end();
        return;
    }
    gt_tape *tape = gt_tape_begin(NULL);
    for (int g = 0; g < c->ngrad; g++) gt_tape_watch(tape, src[g]);
    run_op(c, in, out, &nout);
    gt_tensor *loss = NULL;
    for (int i = 0; i < nout && i < c->nw; i++) {
        gt_tensor *term = gt_reduce_sum(gt_mul(out[i], w[i]), GT_ALL, false);
        loss = loss ? gt_add(loss, term) : term;
    }
    gt_tape_end(tape);
    gt_tensor *grads[MAX_IO] = {0};
    const char *fwd_err = gt_error();
    if (!loss) {
        note_failure(c);
        GTT_CHECK(false, "%s (line %d): building sum(w*y) under the tape failed: %s", c->id,
                  c->line, fwd_err ? fwd_err : "(no error set)");
    } else if (!gt_tape_gradient(tape, 1, (const gt_tensor *const *)&loss, NULL, c->ngrad, src,
                                 GT_UNCONNECTED_NONE, grads)) {
        note_failure(c);
        GTT_CHECK(false, "%s (line %d): gt_tape_gradient failed: %s", c->id, c->line,
                  gt_error() ? gt_error() : "(no error set)");
    } else {
        for (int g = 0; g < c->ngrad; g++) {
            const refdata_tensor *r = &c->grad[g];
            snprintf(what, sizeof what, "grad %s", r->name);
            if (r->is_none) {
                if (grads[g]) note_failure(c);
                GTT_CHECK(grads[g] == NULL, "%s (line %d): %s: TensorFlow gives None, gradtape "
                          "a tensor", c->id, c->line, what);
            } else if (!grads[g]) {
                note_failure(c);
                GTT_CHECK(false, "%s (line %d): %s is NULL (unconnected), TensorFlow gives a "
                          "tensor: %s", c->id, c->line, what,
                          gt_tape_explain(tape, src[g]) ? gt_tape_explain(tape, src[g]) : "");
            } else {
                compare(c, what, grads[g], r, tolerance(c, r, src_in[g]));
            }
        }
    }
    gt_tape_free(tape);
    gt_error_clear();
    gt_scope_end();
}

int main(int argc, char **argv) {
    const char *only = argc > 1 ? argv[1] : NULL;
    refdata_file f;
    char err[512];
    bool loaded = refdata_load(GT_TEST_DATA_DIR "/ops_ref.txt", &f, err, sizeof err);
    GTT_CHECK(loaded, "%s", err);
    if (!loaded) return gtt_finish();
    printf("ops_ref.txt: %d cases (%s)\n", f.ncases, f.versions);
    int ran = 0;
    for (int i = 0; i < f.ncases; i++) {
        if (only && !strstr(f.cases[i].id, only)) continue;
        run_case(&f.cases[i]);
        ran++;
    }
    printf("%d cases run, %d failed\n", ran, cases_failed);
    if (cases_failed) printf("failed cases:\n%s", failed_ids);
    if (getenv("GT_REF_STATS"))
        for (int i = 0; i < nstats; i++)
            printf("  %-42s worst error / tolerance %.3g\n", stats[i].op, stats[i].worst);
    refdata_free(&f);
    return gtt_finish();
}
