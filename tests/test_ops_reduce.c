/* Reductions and argmax/argmin: forward values against a naive long-double reference over
 * every subset of axes, f32 and f64; TensorFlow's tie and edge rules (max/min ties share the
 * gradient, prod at zeros, logsumexp stability and infinities, mean of empty = NaN, argmax
 * first index); integer reductions; determinism across thread counts; error messages. */
#include "gtt.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

enum { K_SUM, K_MEAN, K_MAX, K_MIN, K_PROD, K_LSE, K_N };
static const char *const knames[K_N] = {"sum", "mean", "max", "min", "prod", "logsumexp"};
typedef gt_tensor *(*red_fn)(const gt_tensor *, int, const int *, bool);
static const red_fn kfns[K_N] = {gt_reduce_sum,  gt_reduce_mean, gt_reduce_max,
                                 gt_reduce_min,  gt_reduce_prod, gt_reduce_logsumexp};

/* The reduction of x (shape/rank) over mask, in long double, by walking every input index. */
static void naive(int kind, const double *x, int rank, const int64_t *shape, const bool *mask,
                  long double *out, int64_t nout) {
    int64_t n = 1, cnt = 1;
    for (int i = 0; i < rank; i++) n *= shape[i], cnt *= mask[i] ? shape[i] : 1;
    long double *m = calloc((size_t)(nout ? nout : 1), sizeof *m);
    for (int64_t j = 0; j < nout; j++) {
        out[j] = kind == K_PROD ? 1.0L : kind == K_MAX ? -INFINITY : kind == K_MIN ? INFINITY : 0.0L;
        m[j] = -INFINITY;
    }
    for (int pass = 0; pass < (kind == K_LSE ? 2 : 1); pass++) {
        for (int64_t e = 0; e < n; e++) {
            int64_t rem = e, o = 0, stride = 1;
            for (int i = rank - 1; i >= 0; i--) {
                int64_t idx = rem % shape[i];
                rem /= shape[i];
                if (!mask[i]) {
                    o += idx * stride;
                    stride *= shape[i];
                }
            }
            long double v = x[e];
            switch (kind) {
            case K_SUM: case K_MEAN: out[o] += v; break;
            case K_PROD: out[o] *= v; break;
            case K_MAX: if (v > out[o]) out[o] = v; break;
            case K_MIN: if (v < out[o]) out[o] = v; break;
            case K_LSE:
                if (pass == 0 && v > m[o]) m[o] = v;
                if (pass == 1) out[o] += expl(v - m[o]);
                break;
            }
        }
    }
    for (int64_t j = 0; j < nout; j++) {
        if (kind == K_MEAN) out[j] /= (long double)cnt;
        if (kind == K_LSE) out[j] = logl(out[j]) + m[j];
    }
    free(m);
}

/* Every subset of the axes of [3,5,7] (and keepdims both ways), every kind, f32 and f64. */
static void test_forward_all_subsets(void) {
    const int64_t shape[3] = {3, 5, 7};
    double x[105];
    gt_rng r = gt_rng_new(7);
    gt_scope_begin();
    gt_tensor *xt = gt_random_uniform(3, shape, 0.6, 1.4, GT_F64, &r);
    gt_tensor_to_f64(xt, x, 105);
    for (int dt = 0; dt < 2; dt++) {
        gt_tensor *xin = dt ? gt_cast(xt, GT_F32) : xt;
        double xv[105];
        gt_tensor_to_f64(xin, xv, 105); /* the f32-rounded values are the reference's input */
        for (int kind = 0; kind < K_N; kind++) {
            for (int sub = 0; sub < 8; sub++) {
                for (int kd = 0; kd < 2; kd++) {
                    bool mask[3];
                    int axes[3], na = 0;
                    int64_t nout = 1;
                    for (int i = 0; i < 3; i++) {
                        mask[i] = (sub >> i) & 1;
                        /* negative spelling for axis 2 exercises normalisation */
                        if (mask[i]) axes[na++] = i == 2 ? -1 : i;
                        else nout *= shape[i];
                    }
                    long double want[105];
                    naive(kind, xv, 3, shape, mask, want, nout);
                    gt_tensor *y = kfns[kind](xin, na, axes, kd);
                    char what[96];
                    snprintf(what, sizeof what, "%s %s axes=%d keepdims=%d",
                             knames[kind], dt ? "f32" : "f64", sub, kd);
                    if (!y) {
                        GTT_CHECK(0, "%s: %s", what, gt_error());
                        gt_error_clear();
                        continue;
                    }
                    GTT_CHECK(gt_tensor_rank(y) == (kd ? 3 : 3 - na), "%s: rank %d", what,
                              gt_tensor_rank(y));
                    double w[105];
                    for (int64_t j = 0; j < nout; j++) w[j] = (double)want[j];
                    /* f64: a pairwise tree over <= 105 values is within a few ulps of the
                     * exact result (products of up to 105 factors in [0.6,1.4] too); 1e-13
                     * leaves a wide margin. f32: values are ~1 and reductions of <= 105 terms
                     * in float lose a few ulps (2^-24 ~ 6e-8 each); 2e-6 relative covers it. */
                    gtt_tensor_close(what, y, w, nout, 0, dt ? 2e-6 : 1e-13);
                }
            }
        }
    }
    gt_scope_end();
}

/* No axes given (an empty list, not GT_ALL): nothing is reduced, as in TF with axis=[]. */
static void test_empty_axis_list(void) {
    gt_scope_begin();
    gt_tensor *x = gt_tensor_new(GT_F32, GT_SHAPE(2, 2), (const float[]){1, 2, 3, 4});
    static const int none[1] = {0};
    gt_tensor *y = gt_reduce_sum(x, 0, none, false);
    GTT_OK(y && gt_tensor_equal(x, y));
    gt_tensor *s = gt_reduce_sum(gt_scalar(5.0), GT_ALL, false);
    GTT_CLOSE(gt_item(s), 5.0, 0, 0);
    gt_scope_end();
}

/* Pairwise summation: ten million float32 0.1s. A sequential float loop drifts by ~1e-2
 * relative here; the tree stays within a few ulps of the exact float sum. */
static void test_accuracy(void) {
    gt_scope_begin();
    int64_t n = 10000000;
    gt_tensor *x = gt_fill(GT_F32, 1, &n, 0.1);
    double exact = (double)n * (double)0.1f;
    GTT_CLOSE(gt_item(gt_reduce_sum(x, GT_ALL, false)), exact, 0, 1e-6); /* tree depth ~24 */
    GTT_CLOSE(gt_item(gt_reduce_mean(x, GT_ALL, false)), (double)0.1f, 0, 1e-6);
    /* Tall column sums take the chunked column path. */
    gt_tensor *c = gt_fill(GT_F32, GT_SHAPE(200000, 3), 0.1);
    gt_tensor *cs = gt_reduce_sum(c, GT_AXES(0), false);
    for (int j = 0; j < 3; j++) GTT_CLOSE(gt_tensor_get(cs, j), 200000 * (double)0.1f, 0, 1e-6);
    gt_scope_end();
}

/* The same bits whatever the thread count, on every path (rows, long rows, columns, tall
 * columns, all axes, middle axis). */
static void test_determinism(void) {
    gt_scope_begin();
    gt_rng r = gt_rng_new(3);
    struct {
        int rank;
        int64_t shape[3];
        int naxes;
        int axes[2];
    } cs[] = {
        {2, {64, 50000}, 1, {1}},  {1, {3000001}, -1, {0}}, {2, {128, 256}, 1, {0}},
        {2, {300000, 5}, 1, {0}},  {3, {40, 500, 30}, 1, {1}}, {3, {30, 200, 40}, 2, {0, 2}},
    };
    int nt0 = gt_get_num_threads();
    for (size_t i = 0; i < sizeof cs / sizeof *cs; i++) {
        gt_tensor *x = gt_random_normal(cs[i].rank, cs[i].shape, 0, 1, GT_F32, &r);
        for (int kind = 0; kind < K_N; kind++) {
            if (kind == K_PROD) continue; /* products of millions of normals under/overflow */
            gt_tensor *ref = NULL;
            for (int t = 1; t <= 8; t *= 2) {
                gt_set_num_threads(t);
                gt_tensor *y = cs[i].naxes < 0 ? kfns[kind](x, GT_ALL, false)
                                               : kfns[kind](x, cs[i].naxes, cs[i].axes, false);
                if (!ref) ref = y;
                else GTT_CHECK(gt_tensor_equal(ref, y), "case %zu %s: %d threads differ", i,
                               knames[kind], t);
            }
        }
    }
    gt_set_num_threads(nt0);
    gt_scope_end();
}

/* The gradient of sum(w * op(x)) with respect to x, as a tape computes it. */
static gt_tensor *grad_of(red_fn fn, gt_tensor *x, int naxes, const int *axes, bool kd) {
    gt_tape *tp = gt_tape_begin(NULL);
    gt_tape_watch(tp, x);
    gt_tensor *y = naxes < 0 ? fn(x, GT_ALL, kd) : fn(x, naxes, axes, kd);
    gt_tape_end(tp);
    gt_tensor *g = gt_gradient(tp, y, x);
    gt_tape_free(tp);
    return g;
}

static void test_ties_and_zeros(void) {
    gt_scope_begin();
    /* reduce_max ties share equally: [0.6, 0.6, 0.3] -> [0.5, 0.5, 0] (tf-semantics §6). */
    gt_tensor *x = gt_tensor_new(GT_F32, GT_SHAPE(3), (const float[]){0.6f, 0.6f, 0.3f});
    gtt_tensor_close("max tie", grad_of(gt_reduce_max, x, -1, NULL, false),
                     (const double[]){0.5, 0.5, 0}, 3, 0, 0);
    gt_tensor *x3 = gt_tensor_new(GT_F64, GT_SHAPE(2, 3), (const double[]){2, 2, 2, -1, 5, -1});
    gtt_tensor_close("min tie rows", grad_of(gt_reduce_min, x3, 1, (const int[]){1}, false),
                     (const double[]){1.0 / 3, 1.0 / 3, 1.0 / 3, 0.5, 0, 0.5}, 6, 1e-15, 0);
    gtt_tensor_close("max tie cols", grad_of(gt_reduce_max, x3, 1, (const int[]){0}, true),
                     (const double[]){1, 0, 1, 0, 1, 0}, 6, 0, 0);
    /* prod: no zero, one zero, two zeros (exact values: products of small integers). */
    gt_tensor *p0 = gt_tensor_new(GT_F32, GT_SHAPE(3), (const float[]){2, 4, 3});
    gt_tensor *p1 = gt_tensor_new(GT_F32, GT_SHAPE(3), (const float[]){2, 0, 3});
    gt_tensor *p2 = gt_tensor_new(GT_F32, GT_SHAPE(3), (const float[]){0, 0, 3});
    gtt_tensor_close("prod grad", grad_of(gt_reduce_prod, p0, -1, NULL, false),
                     (const double[]){12, 6, 8}, 3, 0, 0);
    gtt_tensor_close("prod grad one zero", grad_of(gt_reduce_prod, p1, -1, NULL, false),
                     (const double[]){0, 6, 0}, 3, 0, 0);
    gtt_tensor_close("prod grad two zeros", grad_of(gt_reduce_prod, p2, -1, NULL, false),
                     (const double[]){0, 0, 0}, 3, 0, 0);
    GTT_CLOSE(gt_item(gt_reduce_prod(p1, GT_ALL, false)), 0.0, 0, 0);
    /* Mixed groups: per-row zero counts 0, 1, 2. */
    gt_tensor *pm = gt_tensor_new(GT_F64, GT_SHAPE(3, 3),
                                  (const double[]){2, 4, 3, 2, 0, 3, 0, 5, 0});
    gtt_tensor_close("prod grad rows", grad_of(gt_reduce_prod, pm, 1, (const int[]){1}, false),
                     (const double[]){12, 6, 8, 0, 6, 0, 0, 0, 0}, 9, 0, 0);
    gt_scope_end();
}

static void test_logsumexp_edges(void) {
    gt_scope_begin();
    /* Stability: exp(1000) overflows, the shifted form does not. */
    gt_tensor *big = gt_tensor_new(GT_F32, GT_SHAPE(2), (const float[]){1000, 1000});
    GTT_CLOSE(gt_item(gt_reduce_logsumexp(big, GT_ALL, false)), 1000 + log(2.0), 0, 1e-7);
    gtt_tensor_close("lse grad", grad_of(gt_reduce_logsumexp, big, -1, NULL, false),
                     (const double[]){0.5, 0.5}, 2, 0, 0);
    gt_tensor *neg = gt_tensor_new(GT_F64, GT_SHAPE(2), (const double[]){-INFINITY, -INFINITY});
    GTT_CLOSE(gt_item(gt_reduce_logsumexp(neg, GT_ALL, false)), -INFINITY, 0, 0);
    gt_tensor *pos = gt_tensor_new(GT_F64, GT_SHAPE(2), (const double[]){INFINITY, 1});
    GTT_CLOSE(gt_item(gt_reduce_logsumexp(pos, GT_ALL, false)), INFINITY, 0, 0);
    gt_tensor *mix = gt_tensor_new(GT_F64, GT_SHAPE(3), (const double[]){-INFINITY, 0, 0});
    GTT_CLOSE(gt_item(gt_reduce_logsumexp(mix, GT_ALL, false)), log(2.0), 0, 1e-15);
    gt_tensor *e = gt_zeros(GT_F32, GT_SHAPE(0));
    GTT_CLOSE(gt_item(gt_reduce_logsumexp(e, GT_ALL, false)), -INFINITY, 0, 0);
    gt_scope_end();
}

/* Reductions of empty groups give the identity (TF's Eigen reducers); mean gives 0/0 = NaN. */
static void test_empty(void) {
    gt_scope_begin();
    gt_tensor *e = gt_zeros(GT_F32, GT_SHAPE(3, 0));
    const int ax[1] = {1};
    double want[K_N] = {0, NAN, -INFINITY, INFINITY, 1, -INFINITY};
    for (int k = 0; k < K_N; k++) {
        gt_tensor *y = kfns[k](e, 1, ax, false);
        GTT_CHECK(y && gt_tensor_rank(y) == 1 && gt_tensor_dim(y, 0) == 3, "empty %s", knames[k]);
        double w3[3] = {want[k], want[k], want[k]};
        gtt_tensor_close(knames[k], y, w3, 3, 0, 0);
        /* The gradient of an empty input is empty (and computing it must not fail). */
        gt_tensor *g = grad_of(kfns[k], e, 1, ax, false);
        GTT_CHECK(g && gt_tensor_size(g) == 0 && gt_tensor_dim(g, 1) == 0, "empty grad %s: %s",
                  knames[k], gt_error() ? gt_error() : "");
        gt_error_clear();
    }
    /* Empty kept axis: empty output. */
    gt_tensor *y = gt_reduce_sum(gt_zeros(GT_F64, GT_SHAPE(0, 4)), GT_AXES(1), true);
    GTT_CHECK(y && gt_tensor_dim(y, 0) == 0 && gt_tensor_dim(y, 1) == 1, "shape [0,1]");
    gt_scope_end();
}

static void test_nan(void) {
    gt_scope_begin();
    /* TF's reduce_max/min propagate NaN. */
    gt_tensor *x = gt_tensor_new(GT_F32, GT_SHAPE(3), (const float[]){1, NAN, 3});
    GTT_CHECK(isnan(gt_item(gt_reduce_max(x, GT_ALL, false))), "max NaN");
    GTT_CHECK(isnan(gt_item(gt_reduce_min(x, GT_ALL, false))), "min NaN");
    GTT_CHECK(isnan(gt_item(gt_reduce_sum(x, GT_ALL, false))), "sum NaN");
    gt_scope_end();
}

static void test_integers(void) {
    gt_scope_begin();
    gt_tensor *a = gt_tensor_new(GT_I32, GT_SHAPE(2, 3), (const int32_t[]){1, -2, 3, 4, 5, -6});
    gtt_tensor_close("i32 sum", gt_reduce_sum(a, GT_AXES(1), false), (const double[]){2, 3}, 2, 0, 0);
    gtt_tensor_close("i32 prod", gt_reduce_prod(a, GT_AXES(0), false),
                     (const double[]){4, -10, -18}, 3, 0, 0);
    gtt_tensor_close("i32 max", gt_reduce_max(a, GT_ALL, false), (const double[]){5}, 1, 0, 0);
    gtt_tensor_close("i32 min", gt_reduce_min(a, GT_AXES(1), false), (const double[]){-2, -6}, 2, 0, 0);
    /* Integer mean truncates toward zero: 2/3 -> 0, 3/3 -> 1, and (-1-2)/2 -> -1. */
    gtt_tensor_close("i32 mean", gt_reduce_mean(a, GT_AXES(1), false), (const double[]){0, 1}, 2, 0, 0);
    gt_tensor *nm = gt_tensor_new(GT_I64, GT_SHAPE(2), (const int64_t[]){-1, -2});
    gtt_tensor_close("i64 mean", gt_reduce_mean(nm, GT_ALL, false), (const double[]){-1}, 1, 0, 0);
    GTT_CHECK(gt_tensor_dtype(gt_reduce_sum(nm, GT_ALL, false)) == GT_I64, "i64 stays i64");
    /* Wrap-around like TF's int32 (no undefined behaviour: the sanitizer build checks). */
    gt_tensor *w = gt_tensor_new(GT_I32, GT_SHAPE(2), (const int32_t[]){INT32_MAX, 1});
    GTT_CLOSE(gt_item(gt_reduce_sum(w, GT_ALL, false)), (double)INT32_MIN, 0, 0);
    gt_tensor *big = gt_fill(GT_I64, GT_SHAPE(100000), 3);
    GTT_CLOSE(gt_item(gt_reduce_sum(big, GT_ALL, false)), 300000, 0, 0);
    gt_tensor *e = gt_zeros(GT_I32, GT_SHAPE(0));
    GTT_CLOSE(gt_item(gt_reduce_max(e, GT_ALL, false)), (double)INT32_MIN, 0, 0);
    GTT_CLOSE(gt_item(gt_reduce_prod(e, GT_ALL, false)), 1, 0, 0);
    gt_scope_end();
}

static void test_argmax(void) {
    gt_scope_begin();
    gt_tensor *x = gt_tensor_new(GT_F32, GT_SHAPE(2, 4), (const float[]){1, 3, 3, 0, 7, -1, 7, -1});
    gt_tensor *am = gt_argmax(x, 1, GT_I64);
    GTT_CHECK(am && gt_tensor_dtype(am) == GT_I64, "argmax dtype");
    gtt_tensor_close("argmax rows (first of ties)", am, (const double[]){1, 0}, 2, 0, 0);
    gtt_tensor_close("argmin rows", gt_argmin(x, -1, GT_I32), (const double[]){3, 1}, 2, 0, 0);
    GTT_CHECK(gt_tensor_dtype(gt_argmin(x, -1, GT_I32)) == GT_I32, "argmin dtype");
    gtt_tensor_close("argmax cols", gt_argmax(x, 0, GT_I32), (const double[]){1, 0, 1, 0}, 4, 0, 0);
    gtt_tensor_close("argmin cols", gt_argmin(x, 0, GT_I64), (const double[]){0, 1, 0, 1}, 4, 0, 0);
    gt_tensor *xi = gt_tensor_new(GT_I64, GT_SHAPE(5), (const int64_t[]){-5, 9, 2, 9, -5});
    GTT_CLOSE(gt_item(gt_argmax(xi, 0, GT_I32)), 1, 0, 0);
    GTT_CLOSE(gt_item(gt_argmin(xi, 0, GT_I32)), 0, 0, 0);
    gt_tensor *ninf = gt_tensor_new(GT_F64, GT_SHAPE(2), (const double[]){-INFINITY, -INFINITY});
    GTT_CLOSE(gt_item(gt_argmax(ninf, 0, GT_I64)), 0, 0, 0);
    /* Wide columns (more than one tile of the column kernel) and an empty kept axis. */
    gt_tensor *wide = gt_zeros(GT_F32, GT_SHAPE(3, 300));
    gt_tensor *wa = gt_argmax(wide, 0, GT_I32);
    GTT_CHECK(wa && gt_tensor_size(wa) == 300 && gt_item(gt_reduce_sum(wa, GT_ALL, false)) == 0,
              "all ties -> index 0");
    gt_tensor *ek = gt_argmax(gt_zeros(GT_F32, GT_SHAPE(0, 3)), 1, GT_I64);
    GTT_CHECK(ek && gt_tensor_size(ek) == 0, "argmax over [0,3] axis 1 is empty");
    /* Not differentiable: no gradient flows through it. */
    gt_tensor *v = gt_tensor_new(GT_F64, GT_SHAPE(3), (const double[]){1, 2, 3});
    gt_tape *tp = gt_tape_begin(NULL);
    gt_tape_watch(tp, v);
    gt_tensor *y = gt_cast(gt_argmax(v, 0, GT_I64), GT_F64);
    gt_tape_end(tp);
    GTT_CHECK(gt_gradient(tp, y, v) == NULL && gt_ok(), "argmax has no gradient");
    gt_tape_free(tp);
    gt_scope_end();
}

static void test_variable_input(void) {
    gt_scope_begin();
    gt_tensor *v = gt_variable(gt_tensor_new(GT_F32, GT_SHAPE(2, 2), (const float[]){1, 2, 3, 4}), "v");
    gt_tape *tp = gt_tape_begin(NULL);
    gt_tensor *y = gt_reduce_mean(v, GT_AXES(0), false);
    gt_tape_end(tp);
    gtt_tensor_close("mean of variable", y, (const double[]){2, 3}, 2, 0, 0);
    gtt_tensor_close("its gradient", gt_gradient(tp, y, v), (const double[]){.5, .5, .5, .5}, 4, 0, 0);
    gt_tape_free(tp);
    gt_variable_free(v);
    gt_scope_end();
}

static void test_errors(void) {
    gt_scope_begin();
    gt_tensor *x = gt_zeros(GT_F32, GT_SHAPE(2, 3));
    GTT_CHECK(!gt_reduce_sum(x, GT_AXES(1, -1), false), "duplicate");
    GTT_ERROR_HAS("gt_reduce_sum: axes [1,-1] name axis 1 twice");
    GTT_CHECK(!gt_reduce_max(x, GT_AXES(2), false), "out of range");
    GTT_ERROR_HAS("gt_reduce_max: axis 2 is out of range for a tensor of rank 2");
    GTT_CHECK(!gt_reduce_mean(x, GT_AXES(-3), false), "out of range");
    GTT_ERROR_HAS("gt_reduce_mean: axis -3 is out of range");
    int many[9] = {0};
    GTT_CHECK(!gt_reduce_prod(x, 9, many, false), "too many");
    GTT_ERROR_HAS("gt_reduce_prod: 9 axes given");
    gt_tensor *b = gt_tensor_new(GT_BOOL, GT_SHAPE(2), (const bool[]){true, false});
    GTT_CHECK(!gt_reduce_sum(b, GT_ALL, false), "bool");
    GTT_ERROR_HAS("gt_reduce_sum: dtype bool is not supported");
    gt_tensor *i = gt_zeros(GT_I32, GT_SHAPE(2));
    GTT_CHECK(!gt_reduce_logsumexp(i, GT_ALL, false), "int lse");
    GTT_ERROR_HAS("gt_reduce_logsumexp: dtype int32 is not supported (use float32 or float64;");
    GTT_CHECK(!gt_reduce_min(x, GT_AXES(0, 1, 0), false), "dup");
    GTT_ERROR_HAS("gt_reduce_min: axes [0,1,0] name axis 0 twice");
    GTT_CHECK(!gt_argmax(gt_zeros(GT_F32, GT_SHAPE(3, 0)), 1, GT_I64), "empty axis");
    GTT_ERROR_HAS("gt_argmax: axis 1 of shape [3,0] is empty");
    GTT_CHECK(!gt_argmin(x, 0, GT_F32), "index dtype");
    GTT_ERROR_HAS("gt_argmin: index dtype must be GT_I32 or GT_I64, got float32");
    GTT_CHECK(!gt_argmax(gt_scalar(1.0), 0, GT_I64), "scalar");
    GTT_ERROR_HAS("gt_argmax: the input is a scalar");
    GTT_CHECK(!gt_argmin(x, -3, GT_I64), "argmin axis");
    GTT_ERROR_HAS("gt_argmin: axis -3 is out of range");
    GTT_CHECK(!gt_argmax(b, 0, GT_I64), "argmax bool");
    GTT_ERROR_HAS("gt_argmax: dtype bool is not supported");
    /* A NULL input returns NULL and keeps the first error. */
    GTT_CHECK(!gt_reduce_sum(x, GT_AXES(5), false), "first error");
    GTT_CHECK(!gt_reduce_mean(NULL, GT_ALL, false), "NULL in");
    GTT_ERROR_HAS("gt_reduce_sum: axis 5");
    GTT_CHECK(!gt_reduce_sum(NULL, GT_ALL, false), "NULL in");
    GTT_ERROR_HAS("NULL");
    gt_scope_end();
}

int main(void) {
    test_forward_all_subsets();
    test_empty_axis_list();
    test_accuracy();
    test_determinism();
    test_ties_and_zeros();
    test_logsumexp_edges();
    test_empty();
    test_nan();
    test_integers();
    test_argmax();
    test_variable_input();
    test_errors();
    return gtt_finish();
}
