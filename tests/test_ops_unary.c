/* Forward values of the elementwise unary ops against long-double evaluations of the same
 * formulas, TensorFlow's gradient rules at the kinks (relu'(0) = 0, relu6' at 0 and 6,
 * elu'/selu' at 0 from the output, abs'(0), sign's zero gradient, ...), integer dtypes,
 * extreme inputs, size 0, the threaded path, and every error message. */
#include "gtt.h"

#include <float.h>
#include <stdlib.h>

#define NPTS 17
static const double pts[NPTS] = {-20, -7,   -3,  -1,  -0.5, -1e-3, -1e-9, 0, 1e-9,
                                 1e-3, 0.25, 0.5, 1,   2.5,  3,     6.5,  20};

typedef long double (*ref_fn)(long double x);

static long double r_neg(long double x) { return -x; }
static long double r_abs(long double x) { return fabsl(x); }
static long double r_sign(long double x) { return x > 0 ? 1 : x < 0 ? -1 : 0; }
static long double r_square(long double x) { return x * x; }
static long double r_sqrt(long double x) { return sqrtl(fabsl(x)); }
static long double r_rsqrt(long double x) { return 1 / sqrtl(fabsl(x)); }
static long double r_exp(long double x) { return expl(x); }
static long double r_log(long double x) { return logl(fabsl(x)); }
static long double r_log1p(long double x) { return log1pl(x); }
static long double r_expm1(long double x) { return expm1l(x); }
static long double r_sin(long double x) { return sinl(x); }
static long double r_cos(long double x) { return cosl(x); }
static long double r_tanh(long double x) { return tanhl(x); }
static long double r_sigmoid(long double x) { return 1 / (1 + expl(-x)); }
static long double r_relu(long double x) { return x > 0 ? x : 0; }
static long double r_relu6(long double x) { return x < 0 ? 0 : x > 6 ? 6 : x; }
/* tf.nn.leaky_relu's alpha is a float32 attribute, also for float64 tensors */
static long double r_leaky(long double x) { return x > 0 ? x : (long double)0.2f * x; }
static long double r_elu(long double x) { return x > 0 ? x : 0.7L * expm1l(x); }
static long double r_selu(long double x) {
    return x > 0 ? 1.0507009873554804934193349852946L * x
                 : 1.7580993408473768599402175208123L * expm1l(x);
}
/* TensorFlow 2.21's formulas, with its float32-rounded constants (see kernels/unary.h) */
static long double r_gelu(long double x) { return 0.5L * x * erfcl(-x * (long double)0.70710677f); }
static long double r_gelu_tanh(long double x) {
    return 0.5L * x * (1 + tanhl(0.7978845608028654L * (x + (long double)0.044715f * x * x * x)));
}
static long double r_softplus(long double x) { return x > 0 ? x + log1pl(expl(-x)) : log1pl(expl(x)); }
static long double r_silu(long double x) { return x * r_sigmoid(x); }
static long double r_softsign(long double x) { return x / (1 + fabsl(x)); }

static gt_tensor *leaky02(const gt_tensor *x) { return gt_leaky_relu(x, 0.2); }
static gt_tensor *elu07(const gt_tensor *x) { return gt_elu(x, 0.7); }
static gt_tensor *gelu_e(const gt_tensor *x) { return gt_gelu(x, false); }
static gt_tensor *gelu_t(const gt_tensor *x) { return gt_gelu(x, true); }

typedef struct fcase {
    const char *name;
    gt_tensor *(*f)(const gt_tensor *);
    ref_fn ref;
    int domain;   /* 0: all points, 1: |x| (sqrt, rsqrt, log of |x|, 0 excluded), 2: x > -1 */
    double ulps;  /* allowed relative error in units of the dtype's epsilon */
    double xulps; /* allowed absolute error in units of eps*|x| (cancellation in 1 + erf) */
} fcase;

/* Tolerances: libm's functions and gt__expf/gt__tanhf are within ~1-2 ulp and the formulas
 * add one rounding per operation, so 4-8 eps covers every kind. gelu's erfc(-C0 x) is steep
 * for negative x: the rounding of its argument u is amplified to a relative error of about
 * 2u^2 eps, which stays below a few eps * |x| in absolute terms (TensorFlow evaluates the
 * same formula the same way). */
static const fcase fcases[] = {
    {"neg", gt_neg, r_neg, 0, 0, 0},
    {"abs", gt_abs, r_abs, 0, 0, 0},
    {"sign", gt_sign, r_sign, 0, 0, 0},
    {"square", gt_square, r_square, 0, 1, 0},
    {"sqrt", gt_sqrt, r_sqrt, 1, 1, 0},
    {"rsqrt", gt_rsqrt, r_rsqrt, 1, 2, 0},
    {"exp", gt_exp, r_exp, 0, 4, 0},
    {"log", gt_log, r_log, 1, 4, 0},
    {"log1p", gt_log1p, r_log1p, 2, 4, 0},
    {"expm1", gt_expm1, r_expm1, 0, 4, 0},
    {"sin", gt_sin, r_sin, 0, 4, 0},
    {"cos", gt_cos, r_cos, 0, 4, 0},
    {"tanh", gt_tanh, r_tanh, 0, 4, 0},
    {"sigmoid", gt_sigmoid, r_sigmoid, 0, 4, 0},
    {"relu", gt_relu, r_relu, 0, 0, 0},
    {"relu6", gt_relu6, r_relu6, 0, 0, 0},
    {"leaky_relu", leaky02, r_leaky, 0, 1, 0},
    {"elu", elu07, r_elu, 0, 4, 0},
    {"selu", gt_selu, r_selu, 0, 4, 0},
    {"gelu", gelu_e, r_gelu, 0, 8, 4},
    {"gelu_tanh", gelu_t, r_gelu_tanh, 0, 8, 4},
    {"softplus", gt_softplus, r_softplus, 0, 8, 0},
    {"silu", gt_silu, r_silu, 0, 8, 0},
    {"softsign", gt_softsign, r_softsign, 0, 4, 0},
};

static void check_forward(const fcase *c, gt_dtype dt) {
    double xs[NPTS];
    int n = 0;
    for (int i = 0; i < NPTS; i++) {
        double x = pts[i];
        if (c->domain == 1 && x == 0) continue;
        if (c->domain == 1) x = fabs(x);
        if (c->domain == 2 && x <= -1) continue;
        if (dt == GT_F32) x = (float)x;
        xs[n++] = x;
    }
    gt_scope_begin();
    gt_tensor *x64 = gt_tensor_new(GT_F64, 1, (int64_t[]){n}, xs);
    gt_tensor *y = c->f(gt_cast(x64, dt));
    GTT_CHECK(y && gt_tensor_dtype(y) == dt, "%s %s: %s", c->name, gt_dtype_name(dt),
              gt_error() ? gt_error() : "wrong dtype");
    double eps = dt == GT_F32 ? FLT_EPSILON : DBL_EPSILON;
    for (int i = 0; y && i < n; i++) {
        long double want = c->ref(xs[i]);
        if (dt == GT_F32) want = (float)want; /* the exact result rounded to the dtype */
        double got = gt_tensor_get(y, i);
        double tol = c->ulps * eps * fabs((double)want) + c->xulps * eps * fabs(xs[i]) +
                     (dt == GT_F32 ? FLT_TRUE_MIN : DBL_TRUE_MIN);
        GTT_CHECK(fabs(got - (double)want) <= tol, "%s %s(%.9g) = %.17g, want %.17g",
                  gt_dtype_name(dt), c->name, xs[i], got, (double)want);
    }
    gt_scope_end();
}

/* d(sum f(x))/dx at the given points, via a tape. */
static gt_tensor *grad_at(gt_tensor *(*f)(const gt_tensor *), gt_dtype dt, int n,
                          const double *xs) {
    gt_tensor *x = gt_cast(gt_tensor_new(GT_F64, 1, (int64_t[]){n}, xs), dt);
    gt_tape *tp = gt_tape_begin(NULL);
    gt_tape_watch(tp, x);
    gt_tensor *y = f(x);
    gt_tape_end(tp);
    gt_tensor *g = gt_gradient(tp, y, x);
    gt_tape_free(tp);
    return g;
}

static void expect_grad(const char *what, gt_tensor *(*f)(const gt_tensor *), gt_dtype dt, int n,
                        const double *xs, const double *want, double rtol) {
    gt_scope_begin();
    gt_tensor *g = grad_at(f, dt, n, xs);
    char buf[128];
    snprintf(buf, sizeof buf, "%s (%s)", what, gt_dtype_name(dt));
    gtt_tensor_close(buf, g, want, n, 0, rtol);
    gt_scope_end();
}

static gt_tensor *elu05(const gt_tensor *x) { return gt_elu(x, 0.5); }
static gt_tensor *elu1(const gt_tensor *x) { return gt_elu(x, 1.0); }

static void test_kink_rules(gt_dtype dt) {
    /* rtol: the values below are exact in both dtypes except where an exp is involved, which
     * is compared with 4 ulp of float32 (covers float64 too). */
    const double r = 4 * FLT_EPSILON;
    const double e1 = exp(-1.0), scale = 1.0507009873554804934, sa = 1.7580993408473768599;
    expect_grad("relu' at -1, 0, 2", gt_relu, dt, 3, (double[]){-1, 0, 2}, (double[]){0, 0, 1}, 0);
    expect_grad("relu6' at -1, 0, 3, 6, 7", gt_relu6, dt, 5, (double[]){-1, 0, 3, 6, 7},
                (double[]){0, 0, 1, 0, 0}, 0);
    expect_grad("leaky_relu' at -1, 0, 1 (alpha at 0)", leaky02, dt, 3, (double[]){-1, 0, 1},
                (double[]){(float)0.2, (float)0.2, 1}, 0);
    expect_grad("elu' at -1, 0, 1", elu1, dt, 3, (double[]){-1, 0, 1}, (double[]){e1, 1, 1}, r);
    expect_grad("elu(alpha 0.5)' at -1, 0, 1 (Keras: alpha at 0)", elu05, dt, 3,
                (double[]){-1, 0, 1}, (double[]){0.5 * e1, 0.5, 1}, r);
    expect_grad("selu' at -1, 0, 1 (scale at 0)", gt_selu, dt, 3, (double[]){-1, 0, 1},
                (double[]){sa * e1, scale, scale}, r);
    expect_grad("abs' at -2, 0, 3", gt_abs, dt, 3, (double[]){-2, 0, 3}, (double[]){-1, 0, 1}, 0);
    expect_grad("sign' (zeros)", gt_sign, dt, 3, (double[]){-2, 0, 3}, (double[]){0, 0, 0}, 0);
    expect_grad("sqrt' at 0, 4 (inf at 0)", gt_sqrt, dt, 2, (double[]){0, 4},
                (double[]){INFINITY, 0.25}, 0);
    expect_grad("rsqrt' at 4", gt_rsqrt, dt, 1, (double[]){4}, (double[]){-1.0 / 16}, 0);
    expect_grad("log' at 0.5, 0 (inf at 0)", gt_log, dt, 2, (double[]){0.5, 0},
                (double[]){2, INFINITY}, 0);
    /* softplus' = sigmoid, finite at the extremes. */
    expect_grad("softplus' at -100, 0, 100", gt_softplus, dt, 3, (double[]){-100, 0, 100},
                (double[]){dt == GT_F32 ? 0 : exp(-100.0), 0.5, 1}, r);
    expect_grad("sigmoid' at -1000, 0, 1000", gt_sigmoid, dt, 3, (double[]){-1000, 0, 1000},
                (double[]){0, 0.25, 0}, 0);
    expect_grad("tanh' at 0, 100", gt_tanh, dt, 2, (double[]){0, 100}, (double[]){1, 0}, 0);
    expect_grad("softsign' at 0, -1", gt_softsign, dt, 2, (double[]){0, -1},
                (double[]){1, 0.25}, 0);
    expect_grad("silu' at 0", gt_silu, dt, 1, (double[]){0}, (double[]){0.5}, 0);
    expect_grad("gelu' at 0", gelu_e, dt, 1, (double[]){0}, (double[]){0.5}, 0);
    expect_grad("gelu_tanh' at 0", gelu_t, dt, 1, (double[]){0}, (double[]){0.5}, 0);
}

/* Extreme inputs stay finite and accurate. */
static void test_extremes(gt_dtype dt) {
    gt_scope_begin();
    double xs[] = {-1000, -100, -30, 30, 100, 1000};
    gt_tensor *x = gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(6), xs), dt);
    gt_tensor *sp = gt_softplus(x), *sg = gt_sigmoid(x), *si = gt_silu(x);
    bool f32 = dt == GT_F32;
    /* exp(-100) = 3.7e-44 is a float32 subnormal: compare to within one subnormal step. */
    /* Below TensorFlow's cut-off (log(eps) + 2: -13.9 for float32, -34.0 for float64)
     * softplus is exp(x); above its negation, x. */
    double e30 = f32 ? (double)expf(-30.0f) : log1p(exp(-30.0));
    double want_sp[] = {0, f32 ? (double)expf(-100.0f) : exp(-100.0), e30,
                        f32 ? 30 : 30 + log1p(exp(-30.0)), 100, 1000};
    double want_sg[] = {0, f32 ? (double)expf(-100.0f) : exp(-100.0),
                        f32 ? (double)expf(-30.0f) : 1 / (1 + exp(30.0)),
                        f32 ? 1 : 1 / (1 + exp(-30.0)), 1, 1};
    double atol = f32 ? FLT_TRUE_MIN : DBL_TRUE_MIN, rtol = f32 ? 4 * FLT_EPSILON : 4 * DBL_EPSILON;
    gtt_tensor_close("softplus at extremes", sp, want_sp, 6, atol, rtol);
    gtt_tensor_close("sigmoid at extremes", sg, want_sg, 6, atol, rtol);
    GTT_CHECK(si && gt_tensor_get(si, 0) == 0 && gt_tensor_get(si, 5) == 1000, "silu extremes");
    gt_scope_end();
}

/* tf.nn.gelu's docstring values for [-3, -1, 0, 1, 3] (TensorFlow's float32 results,
 * printed to 8 digits). The docstring's -0.00404951 at x = -3 comes from the older
 * 0.5x(1 + erf) formula, whose 1 + erf cancels 8 bits there; TensorFlow 2.21 (and gradtape)
 * use erfc and give -0.0040497, so that point gets atol 2e-7 on top of the printed digits.
 * float64: TensorFlow 2.21's own values (tests/data/ops_ref.txt), which differ from the
 * mathematical gelu in the 7th digit because of the float32-rounded constant; matched to
 * 1e-14 relative (a few ulp through erfc). */
static void test_gelu_doc(void) {
    gt_scope_begin();
    gt_tensor *x = gt_tensor_new(GT_F32, GT_SHAPE(5), (float[]){-3, -1, 0, 1, 3});
    double exact[] = {-0.00404951, -0.15865529, 0, 0.8413447, 2.9959507};
    double approx[] = {-0.00363752, -0.15880796, 0, 0.841192, 2.9963627};
    gtt_tensor_close("gelu exact f32 (TF doc)", gt_gelu(x, false), exact, 5, 2e-7, 1e-7);
    gtt_tensor_close("gelu tanh f32 (TF doc)", gt_gelu(x, true), approx, 5, 2e-7, 1e-7);
    gt_tensor *x64 = gt_cast(x, GT_F64);
    double exact64[] = {-0.004049694777521031, -0.15865525807260966, 0, 0.8413447419273903,
                        2.995950305222479};
    gtt_tensor_close("gelu exact f64 (TF 2.21)", gt_gelu(x64, false), exact64, 5, 0, 1e-14);
    gt_scope_end();
}

/* Integers: neg/abs/sign/square, wrapping at the minimum as TensorFlow's do. */
static void test_integers(void) {
    gt_scope_begin();
    int32_t v32[] = {INT32_MIN, -7, 0, 5, 46341};
    gt_tensor *a = gt_tensor_new(GT_I32, GT_SHAPE(5), v32);
    double neg[] = {INT32_MIN, 7, 0, -5, -46341}, abs_[] = {INT32_MIN, 7, 0, 5, 46341};
    double sgn[] = {-1, -1, 0, 1, 1}, sq[] = {0, 49, 0, 25, (double)(int32_t)(46341u * 46341u)};
    gtt_tensor_close("neg i32", gt_neg(a), neg, 5, 0, 0);
    gtt_tensor_close("abs i32", gt_abs(a), abs_, 5, 0, 0);
    gtt_tensor_close("sign i32", gt_sign(a), sgn, 5, 0, 0);
    gtt_tensor_close("square i32", gt_square(a), sq, 5, 0, 0);
    GTT_CHECK(gt_tensor_dtype(gt_square(a)) == GT_I32, "square keeps int32");
    int64_t v64[] = {-3000000000LL, 0, 3000000000LL};
    gt_tensor *b = gt_tensor_new(GT_I64, GT_SHAPE(3), v64);
    const int64_t *sqb = gt_tensor_data(gt_square(b));
    GTT_CHECK(sqb && sqb[0] == 9000000000000000000LL && sqb[1] == 0, "square i64");
    const int64_t *ab = gt_tensor_data(gt_abs(b));
    GTT_CHECK(ab && ab[0] == 3000000000LL, "abs i64");
    const int64_t *nb = gt_tensor_data(gt_neg(b));
    GTT_CHECK(nb && nb[0] == 3000000000LL && nb[2] == -3000000000LL, "neg i64");
    gt_scope_end();
}

static void test_sign_nan_and_zero(void) {
    gt_scope_begin();
    gt_tensor *x = gt_tensor_new(GT_F64, GT_SHAPE(3), (double[]){NAN, -0.0, 0.0});
    gt_tensor *s = gt_sign(x);
    GTT_CHECK(s && isnan(gt_tensor_get(s, 0)) && gt_tensor_get(s, 1) == 0 && gt_tensor_get(s, 2) == 0,
              "sign(nan) = nan, sign(+-0) = 0");
    gt_tensor *r = gt_relu(x);
    GTT_CHECK(r && isnan(gt_tensor_get(r, 0)), "relu propagates NaN");
    gt_scope_end();
}

/* Second derivatives TensorFlow lacks (softsign) or composes (gelu), through nested tapes. */
static void test_second_order_values(void) {
    gt_scope_begin();
    gt_tensor *x = gt_tensor_new(GT_F64, GT_SHAPE(2), (double[]){0.5, -2});
    gt_tape *outer = gt_tape_begin(NULL);
    gt_tape_watch(outer, x);
    gt_tape *inner = gt_tape_begin(NULL);
    gt_tape_watch(inner, x);
    gt_tensor *y = gt_softsign(x);
    gt_tape_end(inner);
    gt_tensor *g = gt_gradient(inner, y, x);
    gt_tape_end(outer);
    gt_tensor *h = gt_gradient(outer, g, x);
    /* softsign'' = -2 sign(x) / (1 + |x|)^3; closed form, so 1e-14 relative. */
    double want[] = {-2 / (1.5 * 1.5 * 1.5), 2.0 / 27};
    gtt_tensor_close("softsign''", h, want, 2, 0, 1e-14);
    gt_tape_free(inner);
    gt_tape_free(outer);
    gt_scope_end();
}

/* Large tensors take the threaded path; elementwise results cannot depend on it. */
static void test_threads(void) {
    gt_scope_begin();
    int64_t n = 200003;
    gt_tensor *x = gt_random_normal(1, &n, 0, 3, GT_F32, NULL);
    int nt = gt_get_num_threads();
    gt_set_num_threads(1);
    gt_tensor *a = gt_sigmoid(x), *ra = gt_relu(x);
    gt_set_num_threads(4);
    gt_tensor *b = gt_sigmoid(x), *rb = gt_relu(x);
    gt_set_num_threads(nt);
    GTT_CHECK(gt_tensor_equal(a, b), "sigmoid: same bits for 1 and 4 threads");
    GTT_CHECK(gt_tensor_equal(ra, rb), "relu: same bits for 1 and 4 threads");
    /* and each element equals the single-element computation */
    int bad = 0;
    for (int64_t i = 0; i < n; i += 9973) {
        gt_tensor *xi = gt_scalar_of(GT_F32, gt_tensor_get(x, i));
        bad += gt_tensor_get(gt_sigmoid(xi), 0) != gt_tensor_get(a, i);
    }
    GTT_CHECK(bad == 0, "threaded sigmoid matches the scalar path (%d differ)", bad);
    gt_scope_end();
}

static void test_size0_and_shapes(void) {
    gt_scope_begin();
    gt_tensor *z = gt_zeros(GT_F32, GT_SHAPE(0, 3));
    gt_tensor *y = gt_gelu(z, true);
    GTT_CHECK(y && gt_tensor_size(y) == 0 && gt_tensor_rank(y) == 2 && gt_tensor_dim(y, 1) == 3,
              "gelu of [0,3]");
    gt_tensor *s = gt_exp(gt_scalar(0.0));
    GTT_CHECK(s && gt_tensor_rank(s) == 0 && gt_item(s) == 1, "exp of a scalar");
    gt_tensor *v = gt_variable(gt_tensor_new(GT_F32, GT_SHAPE(2), (float[]){-1, 2}), "v");
    gt_tensor *rv = gt_relu(v);
    GTT_CHECK(rv && gt_tensor_get(rv, 0) == 0 && gt_tensor_get(rv, 1) == 2, "relu of a variable");
    gt_variable_free(v);
    gt_scope_end();
}

static void test_errors(void) {
    gt_scope_begin();
    gt_tensor *i = gt_tensor_new(GT_I32, GT_SHAPE(2), (int32_t[]){1, 2});
    gt_tensor *b = gt_tensor_new(GT_BOOL, GT_SHAPE(2), (bool[]){true, false});
    GTT_CHECK(gt_sqrt(i) == NULL, "sqrt of int32 fails");
    GTT_ERROR_HAS("gt_sqrt: input has dtype int32 (shape [2]) but gt_sqrt takes float32 or float64");
    GTT_CHECK(gt_relu(gt_cast(i, GT_I64)) == NULL, "relu of int64 fails");
    GTT_ERROR_HAS("gt_relu: input has dtype int64");
    GTT_CHECK(gt_neg(b) == NULL, "neg of bool fails");
    GTT_ERROR_HAS("gt_neg: input has dtype bool (shape [2]) but gt_neg takes float32, float64, int32 or int64");
    GTT_CHECK(gt_gelu(i, true) == NULL, "gelu of int fails");
    GTT_ERROR_HAS("gt_gelu: input has dtype int32");
    GTT_CHECK(gt_leaky_relu(b, 0.2) == NULL, "leaky_relu of bool fails");
    GTT_ERROR_HAS("gt_leaky_relu");
    GTT_CHECK(gt_exp(NULL) == NULL, "NULL in, NULL out");
    GTT_ERROR_HAS("exp: an input is NULL");
    /* a NULL after an error keeps the first error */
    gt_sqrt(i);
    gt_tanh(NULL);
    GTT_ERROR_HAS("gt_sqrt");
    gt_scope_end();
}

int main(void) {
    for (size_t k = 0; k < sizeof fcases / sizeof *fcases; k++) {
        check_forward(&fcases[k], GT_F32);
        check_forward(&fcases[k], GT_F64);
    }
    test_kink_rules(GT_F32);
    test_kink_rules(GT_F64);
    test_extremes(GT_F32);
    test_extremes(GT_F64);
    test_gelu_doc();
    test_integers();
    test_sign_nan_and_zero();
    test_second_order_values();
    test_threads();
    test_size0_and_shapes();
    test_errors();
    return gtt_finish();
}
