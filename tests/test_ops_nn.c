/* Softmax, log-softmax and the cross-entropies: forward values against long-double
 * evaluations, TensorFlow's check values and gradient conventions (softmax - labels even when
 * labels do not sum to 1, -log_softmax for the labels), numerical stability at large logits,
 * any axis, size 0, thread-count independence, first-order gradients identical with and
 * without a recording outer tape, and every error message. */
#include "gtt.h"

#include <float.h>
#include <stdlib.h>
#include <time.h>

/* Long-double softmax / log_softmax of x viewed as [outer, n, inner] along the middle axis. */
static void ref_softmax(const double *x, long double *y, int64_t outer, int64_t n, int64_t inner,
                        bool lg) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            long double m = -INFINITY, s = 0;
            for (int64_t k = 0; k < n; k++) m = fmaxl(m, x[(o * n + k) * inner + j]);
            for (int64_t k = 0; k < n; k++) s += expl(x[(o * n + k) * inner + j] - m);
            for (int64_t k = 0; k < n; k++) {
                long double d = x[(o * n + k) * inner + j] - m;
                y[(o * n + k) * inner + j] = lg ? d - logl(s) : expl(d) / s;
            }
        }
}

typedef struct sm_case {
    int rank;
    int64_t shape[3];
    int axis;
} sm_case;

static void test_softmax_values(gt_dtype dt, bool lg) {
    static const sm_case cs[] = {{2, {3, 5}, -1}, {2, {3, 5}, 0},  {3, {2, 3, 4}, 1},
                                 {2, {5, 70}, 0}, {1, {7}, 0},     {3, {2, 3, 4}, -3},
                                 {2, {4, 1}, 1},  {2, {130, 3}, 0}};
    for (size_t c = 0; c < sizeof cs / sizeof *cs; c++) {
        gt_scope_begin();
        const sm_case *k = &cs[c];
        gt_tensor *x = gt_cast(gtt_randn(k->rank, k->shape, 3.0, 0.5, 31 + c), dt);
        int64_t n = gt_tensor_size(x);
        double *xs = malloc(sizeof(double) * (size_t)n);
        long double *want = malloc(sizeof(long double) * (size_t)n);
        gt_tensor_to_f64(x, xs, n);
        int ax = k->axis < 0 ? k->axis + k->rank : k->axis;
        int64_t outer = 1, inner = 1;
        for (int i = 0; i < ax; i++) outer *= k->shape[i];
        for (int i = ax + 1; i < k->rank; i++) inner *= k->shape[i];
        ref_softmax(xs, want, outer, k->shape[ax], inner, lg);
        gt_tensor *y = lg ? gt_log_softmax(x, k->axis) : gt_softmax(x, k->axis);
        /* float32: exp within 1 ulp, the double-accumulated sum exact to float precision, one
         * reciprocal and one product: 4 ulp. float64: the same in double ulps, plus the sum's
         * rounding over <= 130 terms: 32 ulp. Both also inherit the rounding of x - max
         * (eps*|x - max| absolute in the exponent, TensorFlow computes it the same way), where
         * |x - max| <= |log y| + log(n). log_softmax subtracts two terms of similar size, so
         * its error is absolute, relative to |x - max| + log(sum) (bounded by |y| + 5). */
        double eps = dt == GT_F32 ? FLT_EPSILON : DBL_EPSILON, ulps = dt == GT_F32 ? 4 : 32;
        int bad = 0;
        for (int64_t i = 0; y && i < n; i++) {
            double got = gt_tensor_get(y, i), w = (double)want[i];
            double tol = lg ? ulps * eps * (fabs(w) + 5)
                            : eps * fabs(w) * (ulps + fabs(log(w)) + log((double)k->shape[ax]));
            if (!(fabs(got - w) <= tol) && bad++ < 3)
                fprintf(stderr, "  case %zu [%lld]: %.17g want %.17g\n", c, (long long)i, got, w);
        }
        GTT_CHECK(y && bad == 0, "%s %s case %zu: %d elements differ", lg ? "log_softmax" : "softmax",
                  gt_dtype_name(dt), c, bad);
        free(xs);
        free(want);
        gt_scope_end();
    }
}

/* Large logits do not overflow (max subtraction). */
static void test_stability(gt_dtype dt) {
    gt_scope_begin();
    gt_tensor *big = gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(3), (double[]){1000, 1001, 1002}), dt);
    gt_tensor *small = gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(3), (double[]){0, 1, 2}), dt);
    GTT_CHECK(gt_tensor_equal(gt_softmax(big, -1), gt_softmax(small, -1)),
              "softmax of x+1000 equals softmax of x (max subtraction is exact here)");
    gt_tensor *ls = gt_log_softmax(gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(2), (double[]){0, -1000}), dt), 0);
    double want[] = {0, -1000};
    gtt_tensor_close("log_softmax([0, -1000])", ls, want, 2, 0, 0); /* exact: log(1 + 0) = 0 */
    gt_tensor *z = gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(2), (double[]){1, 0}), dt);
    gt_tensor *x = gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(2), (double[]){-500, 500}), dt);
    gt_tensor *l = gt_softmax_cross_entropy_with_logits(z, x, -1);
    GTT_CHECK(l && gt_item(l) == 1000, "xent with 1000 apart logits = 1000 exactly, got %g", gt_item(l));
    gt_scope_end();
}

/* d/dx sum(w * f(x)) through a tape. */
static gt_tensor *grad_of(gt_tensor *(*f)(gt_tensor *, void *), void *u, gt_tensor *x,
                          gt_tensor **val) {
    gt_tape *t = gt_tape_begin(NULL);
    gt_tape_watch(t, x);
    gt_tensor *y = f(x, u);
    gt_tape_end(t);
    if (val) *val = y;
    gt_tensor *g = gt_gradient(t, y, x);
    gt_tape_free(t);
    return g;
}

/* TensorFlow's check values: logits [2, 1, 0.1], labels [1, 0, 0]. */
static gt_tensor *xent_of_logits(gt_tensor *x, void *u) {
    return gt_softmax_cross_entropy_with_logits((gt_tensor *)u, x, -1);
}
static gt_tensor *xent_of_labels(gt_tensor *z, void *u) {
    return gt_softmax_cross_entropy_with_logits(z, (gt_tensor *)u, -1);
}

static void test_xent_values(gt_dtype dt) {
    gt_scope_begin();
    gt_tensor *x = gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(3), (double[]){2, 1, 0.1}), dt);
    gt_tensor *z = gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(3), (double[]){1, 0, 0}), dt);
    gt_tensor *loss;
    gt_tensor *g = grad_of(xent_of_logits, z, x, &loss);
    /* The check values have 8 significant digits: 1e-7 relative (float32 adds ~2 ulp). */
    GTT_CLOSE(gt_item(loss), 0.41703002, 0, 1e-7);
    double want[] = {-0.3409989, 0.2424330, 0.0985659};
    gtt_tensor_close("xent d/dlogits (TF check values)", g, want, 3, 1e-7, 1e-6);
    GTT_CHECK(loss && gt_tensor_rank(loss) == 0, "loss of a vector is a scalar");

    /* Labels that do not sum to 1: TensorFlow's fused kernel gives softmax - labels (not
     * sum(labels)*softmax - labels), and -log_softmax for the labels. */
    gt_tensor *z2 = gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(3), (double[]){0.5, 0.5, 0.5}), dt);
    gt_tensor *gl = grad_of(xent_of_logits, z2, x, NULL);
    gt_tensor *gz = grad_of(xent_of_labels, x, z2, NULL);
    long double m = 2, s = expl(0) + expl(-1.0L) + expl(0.1L - 2), sm[3], lsm[3];
    long double xv[3] = {2, 1, 0.1L};
    if (dt == GT_F32) xv[2] = 0.1f;
    s = expl(xv[0] - m) + expl(xv[1] - m) + expl(xv[2] - m);
    for (int i = 0; i < 3; i++) sm[i] = expl(xv[i] - m) / s, lsm[i] = xv[i] - m - logl(s);
    double wl[3], wz[3];
    for (int i = 0; i < 3; i++) wl[i] = (double)(sm[i] - 0.5L), wz[i] = (double)-lsm[i];
    /* float32: a few ulp of values of order 1. float64: likewise. */
    double tol = dt == GT_F32 ? 4 * FLT_EPSILON : 8 * DBL_EPSILON;
    gtt_tensor_close("xent d/dlogits, labels summing to 1.5", gl, wl, 3, tol, tol);
    gtt_tensor_close("xent d/dlabels = -log_softmax", gz, wz, 3, tol, tol);
    gt_scope_end();
}

/* A class axis other than the last: axis 0 of [3, 2] equals axis -1 of its transpose. */
static void test_xent_axis(void) {
    gt_scope_begin();
    gt_tensor *x = gtt_randn(2, (int64_t[]){3, 2}, 1.0, 0, 5);
    gt_tensor *z = gt_softmax(gtt_randn(2, (int64_t[]){3, 2}, 1.0, 0, 6), 0);
    gt_tensor *l0 = gt_softmax_cross_entropy_with_logits(z, x, 0);
    gt_tensor *l1 = gt_softmax_cross_entropy_with_logits(gt_transpose(z, NULL), gt_transpose(x, NULL), -1);
    GTT_CHECK(l0 && gt_tensor_rank(l0) == 1 && gt_tensor_dim(l0, 0) == 2, "loss shape [2]");
    GTT_CHECK(gt_tensor_equal(l0, l1), "axis 0 equals axis -1 of the transpose (same order of sums)");
    gt_scope_end();
}

/* Sparse labels give exactly the dense result with one-hot labels (same kernel arithmetic). */
static gt_tensor *sparse_of(gt_tensor *x, void *u) {
    return gt_sparse_softmax_cross_entropy_with_logits((gt_tensor *)u, x);
}
static void test_sparse(gt_dtype dt, gt_dtype ldt) {
    gt_scope_begin();
    gt_tensor *x = gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(2, 3), (double[]){2, 1, 0.1, 0.5, 2.5, 0.2}), dt);
    gt_tensor *lab = gt_cast(gt_tensor_new(GT_I64, GT_SHAPE(2), (int64_t[]){0, 1}), ldt);
    gt_tensor *oh = gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(2, 3), (double[]){1, 0, 0, 0, 1, 0}), dt);
    gt_tensor *ls, *ld;
    gt_tensor *gs = grad_of(sparse_of, lab, x, &ls);
    gt_tensor *gd = grad_of(xent_of_logits, oh, x, &ld);
    GTT_CHECK(gt_tensor_equal(ls, ld), "sparse loss == dense loss with one-hot labels");
    GTT_CHECK(gt_tensor_equal(gs, gd), "sparse gradient == dense gradient with one-hot labels");
    GTT_CLOSE(gt_tensor_get(ls, 0), 0.41703002, 0, 1e-7); /* TF check value, 8 digits */
    /* labels get no gradient */
    gt_tape *t = gt_tape_begin(NULL);
    gt_tape_watch(t, x);
    gt_tensor *l = gt_sparse_softmax_cross_entropy_with_logits(lab, x);
    gt_tape_end(t);
    gt_tensor *gl = gt_gradient(t, l, lab);
    GTT_CHECK(gl == NULL, "no gradient for integer labels");
    gt_error_clear();
    gt_tape_free(t);
    gt_scope_end();
}

/* The logits' gradient is the same bits whether or not an outer tape records the backward
 * pass (fused kernel vs. backprop + exact zeros). */
static void test_tape_paths(void) {
    gt_scope_begin();
    gt_tensor *x = gtt_randn(2, (int64_t[]){4, 6}, 2.0, 0, 8);
    gt_tensor *z = gt_softmax(gtt_randn(2, (int64_t[]){4, 6}, 1.0, 0, 9), -1);
    gt_tensor *lab = gt_tensor_new(GT_I32, GT_SHAPE(4), (int32_t[]){5, 0, 3, 3});
    gt_tensor *a = grad_of(xent_of_logits, z, x, NULL);
    gt_tensor *as = grad_of(sparse_of, lab, x, NULL);
    gt_tape *outer = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    gt_tape_watch(outer, x);
    gt_tensor *b = grad_of(xent_of_logits, z, x, NULL);
    gt_tensor *bs = grad_of(sparse_of, lab, x, NULL);
    gt_tape_end(outer);
    GTT_CHECK(a && gt_tensor_equal(a, b), "xent gradient: same bits with a recording outer tape");
    GTT_CHECK(as && gt_tensor_equal(as, bs), "sparse gradient: same bits with a recording outer tape");
    gt_tensor *h = gt_gradient(outer, b, x);
    GTT_CHECK(h != NULL, "second derivative through xent exists: %s", gt_error() ? gt_error() : "");
    gt_tape_free(outer);
    gt_scope_end();
}

/* tf.nn.sigmoid_cross_entropy_with_logits: values, gradients sigmoid(x) - z and -x, and no
 * overflow at |x| = 100 or 1000. */
static gt_tensor *sigx_of_logits(gt_tensor *x, void *u) {
    return gt_sigmoid_cross_entropy_with_logits((gt_tensor *)u, x);
}
static gt_tensor *sigx_of_labels(gt_tensor *z, void *u) {
    return gt_sigmoid_cross_entropy_with_logits(z, (gt_tensor *)u);
}
static void test_sigmoid_xent(gt_dtype dt) {
    gt_scope_begin();
    enum { N = 9 };
    double xs[N] = {-1000, -100, -5, -0.5, 0, 0.5, 5, 100, 1000};
    double zs[N] = {1, 1, 0.3, 0, 1, 0.7, 0, 0, 0.5};
    gt_tensor *x = gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(N), xs), dt);
    gt_tensor *z = gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(N), zs), dt);
    gt_tensor *loss;
    gt_tensor *gx = grad_of(sigx_of_logits, z, x, &loss);
    gt_tensor *gz = grad_of(sigx_of_labels, x, z, NULL);
    double wl[N], wgx[N], wgz[N];
    for (int i = 0; i < N; i++) {
        long double v = dt == GT_F32 ? (float)xs[i] : xs[i], c = dt == GT_F32 ? (float)zs[i] : zs[i];
        wl[i] = (double)(fmaxl(v, 0) - v * c + log1pl(expl(-fabsl(v))));
        wgx[i] = (double)(1 / (1 + expl(-v)) - c);
        wgz[i] = (double)-v;
    }
    /* A few ulp relative to the largest term (|x| up to 1000 minus x*z cancels). */
    double eps = dt == GT_F32 ? FLT_EPSILON : DBL_EPSILON;
    gtt_tensor_close("sigmoid xent loss", loss, wl, N, 4 * eps, 4 * eps);
    gtt_tensor_close("sigmoid xent d/dlogits = sigmoid(x) - z", gx, wgx, N, 4 * eps, 4 * eps);
    gtt_tensor_close("sigmoid xent d/dlabels = -x", gz, wgz, N, 0, 0);
    gt_scope_end();
}

static void test_size0(void) {
    gt_scope_begin();
    gt_tensor *e = gt_zeros(GT_F32, GT_SHAPE(0, 3));
    gt_tensor *s = gt_softmax(e, -1);
    GTT_CHECK(s && gt_tensor_size(s) == 0 && gt_tensor_dim(s, 1) == 3, "softmax of [0,3]");
    gt_tensor *l = gt_softmax_cross_entropy_with_logits(e, e, -1);
    GTT_CHECK(l && gt_tensor_rank(l) == 1 && gt_tensor_dim(l, 0) == 0, "xent of [0,3] has shape [0]");
    /* no classes: the sum over an empty axis is 0 */
    gt_tensor *nc = gt_zeros(GT_F64, GT_SHAPE(2, 0));
    gt_tensor *l2 = gt_softmax_cross_entropy_with_logits(nc, nc, -1);
    double zero2[] = {0, 0};
    gtt_tensor_close("xent with 0 classes", l2, zero2, 2, 0, 0);
    gt_tensor *ls = gt_sparse_softmax_cross_entropy_with_logits(gt_zeros(GT_I32, GT_SHAPE(0)), e);
    GTT_CHECK(ls && gt_tensor_size(ls) == 0, "sparse xent of an empty batch");
    gt_tensor *sx = gt_sigmoid_cross_entropy_with_logits(e, e);
    GTT_CHECK(sx && gt_tensor_size(sx) == 0, "sigmoid xent of [0,3]");
    gt_scope_end();
}

/* Results must not depend on the number of threads. */
static void test_threads(void) {
    gt_scope_begin();
    gt_tensor *x = gtt_randn(2, (int64_t[]){700, 100}, 3.0, 0, 12);
    gt_tensor *z = gt_softmax(gtt_randn(2, (int64_t[]){700, 100}, 1.0, 0, 13), 0);
    int nt = gt_get_num_threads();
    gt_tensor *r[2][4];
    for (int k = 0; k < 2; k++) {
        gt_set_num_threads(k ? 4 : 1);
        r[k][0] = gt_softmax(x, -1);
        r[k][1] = gt_log_softmax(x, 0);
        r[k][2] = gt_softmax_cross_entropy_with_logits(z, x, 0);
        r[k][3] = grad_of(xent_of_logits, z, x, NULL);
    }
    gt_set_num_threads(nt);
    for (int i = 0; i < 4; i++) GTT_CHECK(gt_tensor_equal(r[0][i], r[1][i]), "result %d: 1 vs 4 threads", i);
    gt_scope_end();
}

static void test_errors(void) {
    gt_scope_begin();
    gt_tensor *x = gt_zeros(GT_F32, GT_SHAPE(2, 3));
    gt_tensor *x64 = gt_zeros(GT_F64, GT_SHAPE(2, 3));
    gt_tensor *i = gt_zeros(GT_I32, GT_SHAPE(2, 3));
    GTT_CHECK(!gt_softmax(i, -1), "softmax of int");
    GTT_ERROR_HAS("gt_softmax: the input has dtype int32 (shape [2,3]) but must be float32 or float64");
    GTT_CHECK(!gt_log_softmax(x, 2), "bad axis");
    GTT_ERROR_HAS("gt_log_softmax: axis 2 is out of range for a tensor of rank 2");
    GTT_CHECK(!gt_softmax(gt_scalar(1), 0), "scalar");
    GTT_ERROR_HAS("gt_softmax: the input is a scalar");
    GTT_CHECK(!gt_softmax_cross_entropy_with_logits(gt_zeros(GT_F32, GT_SHAPE(2, 4)), x, -1), "shapes");
    GTT_ERROR_HAS("gt_softmax_cross_entropy_with_logits: labels and logits must have the same shape, got labels [2,4] and logits [2,3]");
    GTT_CHECK(!gt_softmax_cross_entropy_with_logits(x64, x, -1), "dtypes");
    GTT_ERROR_HAS("gt_softmax_cross_entropy_with_logits: labels are float64 but logits are float32");
    GTT_CHECK(!gt_softmax_cross_entropy_with_logits(x, x, -3), "xent axis");
    GTT_ERROR_HAS("gt_softmax_cross_entropy_with_logits: axis -3 is out of range");
    GTT_CHECK(!gt_softmax_cross_entropy_with_logits(i, i, -1), "int labels in dense xent");
    GTT_ERROR_HAS("gt_softmax_cross_entropy_with_logits: labels has dtype int32");
    gt_tensor *lab = gt_tensor_new(GT_I32, GT_SHAPE(2), (int32_t[]){1, 3});
    GTT_CHECK(!gt_sparse_softmax_cross_entropy_with_logits(lab, x), "label out of range");
    GTT_ERROR_HAS("gt_sparse_softmax_cross_entropy_with_logits: label 3 at index [1] is outside the valid range [0, 3)");
    gt_tensor *neg = gt_tensor_new(GT_I64, GT_SHAPE(2, 1), (int64_t[]){0, -1});
    GTT_CHECK(!gt_sparse_softmax_cross_entropy_with_logits(neg, gt_zeros(GT_F32, GT_SHAPE(2, 1, 4))), "negative label");
    GTT_ERROR_HAS("label -1 at index [1,0] is outside the valid range [0, 4)");
    GTT_CHECK(!gt_sparse_softmax_cross_entropy_with_logits(gt_zeros(GT_F32, GT_SHAPE(2)), x), "float labels");
    GTT_ERROR_HAS("gt_sparse_softmax_cross_entropy_with_logits: labels have dtype float32 (shape [2]) but must be int32 or int64");
    GTT_CHECK(!gt_sparse_softmax_cross_entropy_with_logits(gt_zeros(GT_I32, GT_SHAPE(3)), x), "label shape");
    GTT_ERROR_HAS("labels of shape [3] do not match logits of shape [2,3]; labels must have the logits' shape without the last (class) axis, here [2]");
    GTT_CHECK(!gt_sparse_softmax_cross_entropy_with_logits(gt_zeros(GT_I32, GT_SHAPE(0)), gt_scalar(1)), "scalar logits");
    GTT_ERROR_HAS("logits are a scalar");
    GTT_CHECK(!gt_sigmoid_cross_entropy_with_logits(gt_zeros(GT_F32, GT_SHAPE(3)), x), "sigmoid shapes");
    GTT_ERROR_HAS("gt_sigmoid_cross_entropy_with_logits: labels and logits must have the same shape, got labels [3] and logits [2,3]");
    GTT_CHECK(!gt_softmax(NULL, -1), "NULL");
    GTT_ERROR_HAS("softmax: an input is NULL");
    gt_scope_end();
}

/* Not a gate: prints the per-call time of softmax over the last axis of [128, 10]. */
static void report_speed(void) {
    gt_scope_begin();
    gt_tensor *x = gt_cast(gtt_randn(2, (int64_t[]){128, 10}, 1.0, 0, 1), GT_F32);
    struct timespec t0, t1;
    int reps = 20000;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < reps; r++) {
        gt_scope_begin();
        gt_softmax(x, -1);
        gt_scope_end();
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / reps / 1e3;
    printf("softmax [128,10] f32: %.2f us per call\n", us);
    gt_scope_end();
}

int main(void) {
    for (int d = 0; d < 2; d++) {
        gt_dtype dt = d ? GT_F64 : GT_F32;
        test_softmax_values(dt, false);
        test_softmax_values(dt, true);
        test_stability(dt);
        test_xent_values(dt);
        test_sparse(dt, GT_I32);
        test_sparse(dt, GT_I64);
        test_sigmoid_xent(dt);
    }
    test_xent_axis();
    test_tape_paths();
    test_size0();
    test_threads();
    test_errors();
    report_speed();
    return gtt_finish();
}
