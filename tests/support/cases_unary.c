/* Gradient checks (first and second order, float64) for the elementwise unary ops and the
 * fused gradient ops they use (relu_grad, sigmoid_grad, ...), which are internal and reached
 * through the registry. Inputs stay away from kinks (0 for relu/abs/elu/softsign, 0 and 6
 * for relu6) so central differences are meaningful. */
#include "core/internal.h"
#include "gtt.h"
#include "kernels/unary.h"

#include <stdlib.h>

/* Values with |v| in [lo, hi) and random signs (or all positive), seeded. */
static gt_tensor *away(int rank, const int64_t *shape, double lo, double hi, bool signs,
                       uint64_t seed) {
    gt_tensor *u = gtt_rand_uniform(rank, shape, lo, hi, seed);
    gt_tensor *s = gtt_rand_uniform(rank, shape, -1, 1, seed + 1000);
    int64_t n = gt_tensor_size(u);
    double *v = malloc(sizeof(double) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) {
        v[i] = gt_tensor_get(u, i);
        if (signs && gt_tensor_get(s, i) < 0) v[i] = -v[i];
    }
    gt_tensor *t = gt_tensor_new(GT_F64, rank, shape, v);
    free(v);
    return t;
}

/* The shapes every unary op is checked on: a matrix, a vector, a scalar and a size-0 tensor. */
static const int64_t shp[][2] = {{2, 3}, {4, 0}, {0, 0}, {0, 3}};
static const int rk[] = {2, 1, 0, 2};

typedef struct ucase {
    const char *name;
    gt_tensor *(*f1)(const gt_tensor *);
    gt_tensor *(*fa)(const gt_tensor *, double);
    double alpha;
    double lo, hi;
    bool signs;
} ucase;

static gt_tensor *call(gt_tensor *const *x, void *u) {
    const ucase *c = u;
    return c->f1 ? c->f1(x[0]) : c->fa(x[0], c->alpha);
}

static void run_ucase(const ucase *c) {
    for (size_t s = 0; s < sizeof rk / sizeof *rk; s++) {
        gt_scope_begin();
        gt_tensor *x = away(rk[s], shp[s], c->lo, c->hi, c->signs, 7 + s);
        gtt_gradcheck(c->name, call, (void *)c, 1, &x, NULL);
        gt_scope_end();
    }
}

#define U1(fn, nm, lo, hi, sg)                                                                     \
    static void c_##fn(void) {                                                                     \
        ucase c = {nm, gt_##fn, NULL, 0, lo, hi, sg};                                              \
        run_ucase(&c);                                                                             \
    }

U1(neg, "neg", 0.1, 2, true)
U1(abs, "abs", 0.2, 2, true)
U1(sign, "sign", 0.2, 2, true)
U1(square, "square", 0.1, 2, true)
U1(sqrt, "sqrt", 0.5, 2, false)
U1(rsqrt, "rsqrt", 0.5, 2, false)
U1(exp, "exp", 0.0, 1.5, true)
U1(log, "log", 0.5, 2, false)
U1(expm1, "expm1", 0.0, 1.5, true)
U1(sin, "sin", 0.0, 3, true)
U1(cos, "cos", 0.0, 3, true)
U1(tanh, "tanh", 0.0, 2, true)
U1(sigmoid, "sigmoid", 0.0, 3, true)
U1(relu, "relu", 0.2, 2, true)
U1(selu, "selu", 0.2, 2, true)
U1(softplus, "softplus", 0.0, 3, true)
U1(silu, "silu", 0.0, 3, true)
U1(softsign, "softsign", 0.2, 2, true)

/* log1p on (-0.5, 2): shift the positive draw. */
static gt_tensor *log1p_shifted(const gt_tensor *x) { return gt_log1p(gt_sub_s(x, 0.5)); }
static void c_log1p(void) {
    ucase c = {"log1p", log1p_shifted, NULL, 0, 0.0, 2.5, false};
    run_ucase(&c);
}

/* relu6 away from both kinks: |x| in [0.2, 5.8) plus a shifted draw in (6.2, 8). */
static gt_tensor *relu6_both(gt_tensor *const *x, void *u) {
    (void)u;
    return gt_add(gt_relu6(x[0]), gt_relu6(x[1]));
}
static void c_relu6(void) {
    for (size_t s = 0; s < sizeof rk / sizeof *rk; s++) {
        gt_scope_begin();
        gt_tensor *x[2] = {away(rk[s], shp[s], 0.2, 5.8, true, 3 + s),
                           away(rk[s], shp[s], 6.2, 8, false, 5 + s)};
        gtt_gradcheck("relu6", relu6_both, NULL, 2, x, NULL);
        gt_scope_end();
    }
}

static void c_leaky(void) {
    ucase c = {"leaky_relu", NULL, gt_leaky_relu, 0.2, 0.2, 2, true};
    run_ucase(&c);
    c.alpha = -1.5; /* any slope, even a negative one */
    run_ucase(&c);
}

static void c_elu(void) {
    ucase c = {"elu", NULL, gt_elu, 1.0, 0.2, 2, true};
    run_ucase(&c);
    c.alpha = 0.5;
    run_ucase(&c);
}

static gt_tensor *gelu_exact(const gt_tensor *x) { return gt_gelu(x, false); }
static gt_tensor *gelu_tanh(const gt_tensor *x) { return gt_gelu(x, true); }
static void c_gelu(void) {
    ucase c = {"gelu", gelu_exact, NULL, 0, 0.0, 3, true};
    run_ucase(&c);
    c.f1 = gelu_tanh;
    run_ucase(&c);
}

/* ---- the fused gradient ops, applied directly: f(dy, v) ------------------------------------ */

typedef struct gcase {
    const char *name;
    gt__ew_kind kind;
    double alpha;
    double lo, hi; /* |v| range */
    bool signs;
} gcase;

static const gt__op *op_named(const char *name) {
    for (int i = 0; i < gt__op_count(); i++)
        if (!strcmp(gt__op_at(i)->name, name)) return gt__op_at(i);
    return NULL;
}

static gt_tensor *call_grad_op(gt_tensor *const *x, void *u) {
    const gcase *c = u;
    const gt__op *op = op_named(c->name);
    if (!op) return NULL;
    gt__ew_attr a = {c->kind, c->alpha};
    return gt__apply2(op, x[0], x[1], &a);
}

static void run_gcase(const gcase *c) {
    for (size_t s = 0; s < sizeof rk / sizeof *rk; s++) {
        gt_scope_begin();
        gt_tensor *x[2] = {gtt_randn(rk[s], shp[s], 1.0, 0.0, 41 + s),
                           away(rk[s], shp[s], c->lo, c->hi, c->signs, 43 + s)};
        gtt_gradcheck(c->name, call_grad_op, (void *)c, 2, x, NULL);
        gt_scope_end();
    }
}

#define G1(fn, nm, kind, alpha, lo, hi, sg)                                                        \
    static void c_##fn(void) {                                                                     \
        gcase c = {nm, kind, alpha, lo, hi, sg};                                                   \
        run_gcase(&c);                                                                             \
    }

G1(relu_grad, "relu_grad", GT__EW_RELU_GRAD, 0, 0.2, 2, true)
G1(leaky_relu_grad, "leaky_relu_grad", GT__EW_LEAKY_GRAD, 0.3, 0.2, 2, true)
/* elu/selu outputs: y > -alpha on the negative side (elu alpha 0.7, selu -1.758...). */
G1(elu_grad, "elu_grad", GT__EW_ELU_GRAD, 0.7, 0.1, 0.6, true)
G1(selu_grad, "selu_grad", GT__EW_SELU_GRAD, 0, 0.1, 1.5, true)
/* sigmoid/tanh outputs and plain inputs: any value checks the algebra. */
G1(sigmoid_grad, "sigmoid_grad", GT__EW_SIGMOID_GRAD, 0, 0.05, 0.95, false)
G1(tanh_grad, "tanh_grad", GT__EW_TANH_GRAD, 0, 0.0, 0.95, true)
G1(softplus_grad, "softplus_grad", GT__EW_SOFTPLUS_GRAD, 0, 0.0, 3, true)

static void c_relu6_grad(void) {
    gcase c = {"relu6_grad", GT__EW_RELU6_GRAD, 0, 0.2, 5.8, true};
    run_gcase(&c);
    c.lo = 6.2, c.hi = 8, c.signs = false;
    run_gcase(&c);
}

static void c_gelu_grad(void) {
    gcase c = {"gelu_grad", GT__EW_GELU_GRAD, 0, 0.0, 3, true};
    run_gcase(&c);
    c.kind = GT__EW_GELU_TANH_GRAD;
    run_gcase(&c);
}

const gtt_case gtt_cases_unary[] = {
    {"neg", c_neg},
    {"abs", c_abs},
    {"sign", c_sign},
    {"square", c_square},
    {"sqrt", c_sqrt},
    {"rsqrt", c_rsqrt},
    {"exp", c_exp},
    {"log", c_log},
    {"log1p", c_log1p},
    {"expm1", c_expm1},
    {"sin", c_sin},
    {"cos", c_cos},
    {"tanh", c_tanh},
    {"sigmoid", c_sigmoid},
    {"relu", c_relu},
    {"relu6", c_relu6},
    {"leaky_relu", c_leaky},
    {"elu", c_elu},
    {"selu", c_selu},
    {"gelu", c_gelu},
    {"softplus", c_softplus},
    {"silu", c_silu},
    {"softsign", c_softsign},
    {"relu_grad", c_relu_grad},
    {"relu6_grad", c_relu6_grad},
    {"leaky_relu_grad", c_leaky_relu_grad},
    {"elu_grad", c_elu_grad},
    {"selu_grad", c_selu_grad},
    {"sigmoid_grad", c_sigmoid_grad},
    {"tanh_grad", c_tanh_grad},
    {"softplus_grad", c_softplus_grad},
    {"gelu_grad", c_gelu_grad},
    {NULL, NULL},
};
