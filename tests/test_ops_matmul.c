/* matmul: against a naive long-double triple loop for odd sizes and every transpose flag
 * (f32 and f64), batched products with broadcast batch axes, size-0 dimensions, gradient
 * values and shapes, determinism across thread counts, and the error messages. */
#include "gtt.h"

#include <math.h>
#include <stdlib.h>

/* Compares c (shape batch x [m,n]) with the naive product of a and b, where a/b are given as
 * rank/shape and flat double data and batch axes broadcast. Each element's error bound is
 * tol * sum_k |a_ik b_kj| (the standard bound for a k-term dot product is ~k*eps times it;
 * tol is given per dtype by the caller). */
static void check_product(const char *what, const gt_tensor *c, const gt_tensor *a,
                          const gt_tensor *b, bool ta, bool tb, double tol) {
    if (!c) {
        GTT_CHECK(0, "%s: NULL (%s)", what, gt_error() ? gt_error() : "");
        gt_error_clear();
        return;
    }
    int ra = gt_tensor_rank(a), rb = gt_tensor_rank(b), rc = gt_tensor_rank(c);
    const int64_t *sa = gt_tensor_shape(a), *sb = gt_tensor_shape(b), *sc = gt_tensor_shape(c);
    int64_t m = sc[rc - 2], n = sc[rc - 1], k = ta ? sa[ra - 2] : sa[ra - 1];
    int64_t na = gt_tensor_size(a), nb = gt_tensor_size(b), nc = gt_tensor_size(c);
    double *A = malloc(sizeof(double) * (size_t)(na + 1)),
           *B = malloc(sizeof(double) * (size_t)(nb + 1));
    double *C = malloc(sizeof(double) * (size_t)(nc + 1));
    gt_tensor_to_f64(a, A, na);
    gt_tensor_to_f64(b, B, nb);
    gt_tensor_to_f64(c, C, nc);
    int bad = 0;
    int64_t nbatch = m > 0 && n > 0 ? nc / (m * n) : 0;
    for (int64_t t = 0; t < nbatch; t++) {
        /* Batch offsets by broadcasting, right-aligned. */
        int64_t oa = 0, ob = 0, rem = t, stra = m * k, strb = k * n;
        for (int i = rc - 3; i >= 0; i--) {
            int64_t idx = rem % sc[i];
            rem /= sc[i];
            int ia = i - (rc - ra), ib = i - (rc - rb);
            if (ia >= 0) {
                if (sa[ia] != 1)
                    oa += idx * stra;
                stra *= sa[ia];
            }
            if (ib >= 0) {
                if (sb[ib] != 1)
                    ob += idx * strb;
                strb *= sb[ib];
            }
        }
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                long double s = 0, mag = 0;
                for (int64_t p = 0; p < k; p++) {
                    long double x = A[oa + (ta ? p * m + i : i * k + p)];
                    long double y = B[ob + (tb ? j * k + p : p * n + j)];
                    s += x * y;
                    mag += fabsl(x * y);
                }
                double got = C[t * m * n + i * n + j];
                if (fabsl(got - s) > tol * mag + 1e-300L) {
                    if (bad++ < 3)
                        fprintf(stderr, "  %s[%lld,%lld,%lld] = %.10g, want %.10Lg\n", what,
                                (long long)t, (long long)i, (long long)j, got, s);
                }
            }
    }
    GTT_CHECK(bad == 0, "%s: %d elements off", what, bad);
    free(A);
    free(B);
    free(C);
}

/* f32: kernels may use FMA and blocked accumulation; error <= ~k*2^-24*sum|ab|, and k <= 300
 * here, so 2e-5 relative to the magnitude sum is a safe upper bound. f64: same with 2^-53,
 * 1e-13 for k <= 300. */
static const double TOL_F32 = 2e-5, TOL_F64 = 1e-13;

static void test_against_naive(void) {
    const int64_t sizes[][3] = {{1, 1, 1},     {7, 13, 5},     {3, 1, 17},  {33, 17, 65},
                                {70, 130, 90}, {129, 67, 300}, {5, 257, 3}, {64, 64, 64}};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int64_t m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
        for (int f = 0; f < 4; f++) {
            bool ta = f & 1, tb = f & 2;
            for (int dt = 0; dt < 2; dt++) {
                gt_scope_begin();
                gt_rng r = gt_rng_new(100 + s * 8 + (size_t)f);
                gt_dtype d = dt ? GT_F32 : GT_F64;
                gt_tensor *a = ta ? gt_random_normal(GT_SHAPE(k, m), 0, 1, d, &r)
                                  : gt_random_normal(GT_SHAPE(m, k), 0, 1, d, &r);
                gt_tensor *b = tb ? gt_random_normal(GT_SHAPE(n, k), 0, 1, d, &r)
                                  : gt_random_normal(GT_SHAPE(k, n), 0, 1, d, &r);
                gt_tensor *c = gt_matmul(a, b, ta, tb);
                char what[96];
                snprintf(what, sizeof what, "%lldx%lldx%lld ta=%d tb=%d %s", (long long)m,
                         (long long)n, (long long)k, ta, tb, dt ? "f32" : "f64");
                GTT_CHECK(c && gt_tensor_dim(c, 0) == m && gt_tensor_dim(c, 1) == n &&
                              gt_tensor_dtype(c) == d,
                          "%s: shape/dtype", what);
                check_product(what, c, a, b, ta, tb, dt ? TOL_F32 : TOL_F64);
                gt_scope_end();
            }
        }
    }
}

static void test_batched(void) {
    gt_scope_begin();
    gt_rng r = gt_rng_new(5);
    /* The brief's case: [2,1,3,4] x [5,4,2] -> [2,5,3,2]. */
    gt_tensor *a = gt_random_normal(GT_SHAPE(2, 1, 3, 4), 0, 1, GT_F64, &r);
    gt_tensor *b = gt_random_normal(GT_SHAPE(5, 4, 2), 0, 1, GT_F64, &r);
    gt_tensor *c = gt_matmul(a, b, false, false);
    GTT_CHECK(c && gt_tensor_rank(c) == 4 && gt_tensor_dim(c, 0) == 2 && gt_tensor_dim(c, 1) == 5 &&
                  gt_tensor_dim(c, 2) == 3 && gt_tensor_dim(c, 3) == 2,
              "shape [2,5,3,2]");
    check_product("[2,1,3,4]x[5,4,2]", c, a, b, false, false, TOL_F64);
    /* With transposes: [2,1,4,3]^T x [5,2,4]^T. */
    gt_tensor *at = gt_random_normal(GT_SHAPE(2, 1, 4, 3), 0, 1, GT_F32, &r);
    gt_tensor *bt = gt_random_normal(GT_SHAPE(5, 2, 4), 0, 1, GT_F32, &r);
    check_product("batched TT f32", gt_matmul(at, bt, true, true), at, bt, true, true, TOL_F32);
    /* Rank-2 a against a batch of b; batch of a with rank-2 b (the folded path), both flags. */
    gt_tensor *a2 = gt_random_normal(GT_SHAPE(3, 4), 0, 1, GT_F32, &r);
    gt_tensor *b3 = gt_random_normal(GT_SHAPE(6, 4, 5), 0, 1, GT_F32, &r);
    check_product("[3,4]x[6,4,5]", gt_matmul(a2, b3, false, false), a2, b3, false, false, TOL_F32);
    gt_tensor *a3 = gt_random_normal(GT_SHAPE(2, 3, 7, 4), 0, 1, GT_F32, &r);
    gt_tensor *b2 = gt_random_normal(GT_SHAPE(5, 4), 0, 1, GT_F32, &r);
    check_product("[2,3,7,4]x[5,4]^T", gt_matmul(a3, b2, false, true), a3, b2, false, true,
                  TOL_F32);
    gt_tensor *a4 = gt_random_normal(GT_SHAPE(2, 4, 7), 0, 1, GT_F64, &r);
    gt_tensor *b4 = gt_random_normal(GT_SHAPE(1, 1, 4, 5), 0, 1, GT_F64, &r);
    check_product("[2,4,7]^Tx[1,1,4,5]", gt_matmul(a4, b4, true, false), a4, b4, true, false,
                  TOL_F64);
    /* Many small products (one per thread). */
    gt_tensor *a5 = gt_random_normal(GT_SHAPE(512, 8, 9), 0, 1, GT_F32, &r);
    gt_tensor *b5 = gt_random_normal(GT_SHAPE(512, 9, 10), 0, 1, GT_F32, &r);
    check_product("512 small", gt_matmul(a5, b5, false, false), a5, b5, false, false, TOL_F32);
    gt_scope_end();
}

static void test_size0(void) {
    gt_scope_begin();
    /* k = 0: an empty sum, zeros (NumPy/TF). */
    gt_tensor *c =
        gt_matmul(gt_ones(GT_F32, GT_SHAPE(3, 0)), gt_ones(GT_F32, GT_SHAPE(0, 2)), false, false);
    gtt_tensor_close("k=0", c, (const double[]){0, 0, 0, 0, 0, 0}, 6, 0, 0);
    gt_tensor *c2 = gt_matmul(gt_ones(GT_F64, GT_SHAPE(2, 0, 3)),
                              gt_ones(GT_F64, GT_SHAPE(2, 4, 0)), true, true);
    GTT_CHECK(c2 && gt_tensor_dim(c2, 0) == 2 && gt_tensor_dim(c2, 1) == 3 &&
                  gt_tensor_dim(c2, 2) == 4,
              "batched k=0 shape");
    GTT_CHECK(c2 && gt_item(gt_reduce_sum(gt_abs(c2), GT_ALL, false)) == 0, "batched k=0 zeros");
    gt_tensor *m0 =
        gt_matmul(gt_ones(GT_F32, GT_SHAPE(0, 4)), gt_ones(GT_F32, GT_SHAPE(4, 2)), false, false);
    GTT_CHECK(m0 && gt_tensor_dim(m0, 0) == 0 && gt_tensor_dim(m0, 1) == 2, "m=0");
    gt_tensor *b0 = gt_matmul(gt_ones(GT_F32, GT_SHAPE(0, 2, 3)),
                              gt_ones(GT_F32, GT_SHAPE(1, 3, 2)), false, false);
    GTT_CHECK(b0 && gt_tensor_size(b0) == 0 && gt_tensor_dim(b0, 0) == 0, "empty batch");
    /* Gradients through k = 0 are zeros of the input shapes. */
    gt_tensor *a = gt_ones(GT_F64, GT_SHAPE(3, 0)), *b = gt_ones(GT_F64, GT_SHAPE(0, 2));
    gt_tape *tp = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    gt_tape_watch(tp, a);
    gt_tape_watch(tp, b);
    gt_tensor *y = gt_matmul(a, b, false, false);
    gt_tape_end(tp);
    gt_tensor *ga = gt_gradient(tp, y, a), *gb = gt_gradient(tp, y, b);
    GTT_CHECK(ga && gt_tensor_dim(ga, 0) == 3 && gt_tensor_dim(ga, 1) == 0, "ga shape");
    GTT_CHECK(gb && gt_tensor_dim(gb, 0) == 0 && gt_tensor_dim(gb, 1) == 2, "gb shape");
    gt_tape_free(tp);
    gt_scope_end();
}

/* d sum(a @ b) / da = ones @ b^T: row sums of b; / db = a^T @ ones: column sums of a. */
static void test_gradient_values(void) {
    gt_scope_begin();
    gt_tensor *a = gt_tensor_new(GT_F32, GT_SHAPE(2, 3), (const float[]){1, 2, 3, 4, 5, 6});
    gt_tensor *b = gt_tensor_new(GT_F32, GT_SHAPE(3, 2), (const float[]){1, -1, 2, 0.5f, -3, 4});
    gt_tape *tp = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    gt_tape_watch(tp, a);
    gt_tape_watch(tp, b);
    gt_tensor *y = gt_matmul(a, b, false, false);
    gt_tape_end(tp);
    /* Small integers and halves: exact in float32. */
    gtt_tensor_close("ga", gt_gradient(tp, y, a), (const double[]){0, 2.5, 1, 0, 2.5, 1}, 6, 0, 0);
    gtt_tensor_close("gb", gt_gradient(tp, y, b), (const double[]){5, 5, 7, 7, 9, 9}, 6, 0, 0);
    gt_tape_free(tp);
    /* Broadcast batch: gradients come back in the inputs' own shapes. */
    gt_rng r = gt_rng_new(9);
    gt_tensor *p = gt_random_normal(GT_SHAPE(2, 1, 3, 4), 0, 1, GT_F64, &r);
    gt_tensor *q = gt_random_normal(GT_SHAPE(5, 4, 2), 0, 1, GT_F64, &r);
    tp = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    gt_tape_watch(tp, p);
    gt_tape_watch(tp, q);
    y = gt_matmul(p, q, false, false);
    gt_tape_end(tp);
    gt_tensor *gp = gt_gradient(tp, y, p), *gq = gt_gradient(tp, y, q);
    GTT_CHECK(gp && gt_tensor_rank(gp) == 4 && gt_tensor_dim(gp, 1) == 1 &&
                  gt_tensor_dim(gp, 3) == 4,
              "gp has a's shape");
    GTT_CHECK(gq && gt_tensor_rank(gq) == 3 && gt_tensor_dim(gq, 0) == 5, "gq has b's shape");
    /* gq[s] = sum over the 2 batches of a[i]^T @ ones: column sums of a, summed over batch. */
    double want[40];
    for (int s = 0; s < 5; s++)
        for (int kk = 0; kk < 4; kk++) {
            double cs = 0;
            for (int bi = 0; bi < 2; bi++)
                for (int i = 0; i < 3; i++)
                    cs += gt_tensor_get(p, bi * 12 + i * 4 + kk);
            want[s * 8 + kk * 2] = want[s * 8 + kk * 2 + 1] = cs;
        }
    gtt_tensor_close("gq values", gq, want, 40, 1e-14, 1e-14); /* sums of 6 f64 values */
    gt_tape_free(tp);
    gt_scope_end();
}

static void test_determinism(void) {
    gt_scope_begin();
    gt_rng r = gt_rng_new(11);
    gt_tensor *a = gt_random_normal(GT_SHAPE(300, 16, 20), 0, 1, GT_F32, &r);
    gt_tensor *b = gt_random_normal(GT_SHAPE(300, 20, 12), 0, 1, GT_F32, &r);
    gt_tensor *a2 = gt_random_normal(GT_SHAPE(256, 300), 0, 1, GT_F32, &r);
    gt_tensor *b2 = gt_random_normal(GT_SHAPE(300, 200), 0, 1, GT_F32, &r);
    int nt0 = gt_get_num_threads();
    gt_tensor *ref1 = NULL, *ref2 = NULL;
    for (int t = 1; t <= 8; t *= 2) {
        gt_set_num_threads(t);
        gt_tensor *c1 = gt_matmul(a, b, false, false), *c2 = gt_matmul(a2, b2, false, false);
        if (!ref1) {
            ref1 = c1;
            ref2 = c2;
            continue;
        }
        GTT_CHECK(gt_tensor_equal(ref1, c1), "batched: %d threads differ", t);
        GTT_CHECK(gt_tensor_equal(ref2, c2), "large: %d threads differ", t);
    }
    gt_set_num_threads(nt0);
    gt_scope_end();
}

static void test_errors(void) {
    gt_scope_begin();
    gt_tensor *a = gt_zeros(GT_F32, GT_SHAPE(32, 10)), *b = gt_zeros(GT_F32, GT_SHAPE(5, 2));
    GTT_CHECK(!gt_matmul(a, b, false, false), "inner");
    GTT_ERROR_HAS("gt_matmul: inner dimensions differ: [32,10] x [5,2] (10 != 5)");
    GTT_CHECK(!gt_matmul(a, b, true, true), "inner transposed");
    GTT_ERROR_HAS("gt_matmul: inner dimensions differ: [32,10] (transposed) x [5,2] (transposed) "
                  "(32 != 2)");
    GTT_CHECK(!gt_matmul(gt_zeros(GT_F32, GT_SHAPE(3)), a, false, false), "rank 1");
    GTT_ERROR_HAS("gt_matmul: a has rank 1 (shape [3]); matmul needs rank >= 2");
    GTT_CHECK(!gt_matmul(a, gt_zeros(GT_F32, GT_SHAPE(10)), false, false), "rank 1 b");
    GTT_ERROR_HAS("use gt_expand_dims(b, 0)");
    GTT_CHECK(!gt_matmul(a, gt_zeros(GT_F64, GT_SHAPE(10, 2)), false, false), "dtypes");
    GTT_ERROR_HAS("gt_matmul: operands have different dtypes (float32 and float64)");
    GTT_CHECK(!gt_matmul(gt_zeros(GT_I32, GT_SHAPE(2, 2)), gt_zeros(GT_I32, GT_SHAPE(2, 2)), false,
                         false),
              "int");
    GTT_ERROR_HAS("gt_matmul: dtype int32 is not supported");
    GTT_CHECK(!gt_matmul(gt_zeros(GT_F32, GT_SHAPE(2, 3, 4)), gt_zeros(GT_F32, GT_SHAPE(3, 4, 2)),
                         false, false),
              "batch");
    GTT_ERROR_HAS("gt_matmul: batch dimensions [2] of a and [3] of b do not broadcast (2 vs 3)");
    GTT_CHECK(!gt_matmul(NULL, b, false, false), "NULL");
    GTT_ERROR_HAS("NULL");
    gt_scope_end();
}

static gt_tensor *mmb_fused(gt_tensor *const *x, void *u) {
    return gt_matmul_bias_act(x[0], x[1], x[2], *(const int *)u);
}

static gt_tensor *mmb_composed(gt_tensor *const *x, void *u) {
    gt_tensor *o = gt_add(gt_matmul(x[0], x[1], false, false), x[2]);
    return *(const int *)u ? gt_relu(o) : o;
}

/* gt_matmul_bias_act equals matmul + add + relu bitwise, forward and all three gradients: the
 * same GEMM, the same float arithmetic in the epilogue, and the composition's gradient rule.
 * The Fashion-MNIST MLP's layers (batch 128, above the threading threshold) and odd sizes, at
 * 2 threads; and its errors. */
static void test_bias_act(void) {
    static const int64_t cs[][3] = {{128, 784, 256}, {128, 256, 128}, {128, 128, 10}, {7, 5, 3}};
    const int nt = gt_get_num_threads();
    gt_set_num_threads(2);
    for (size_t i = 0; i < sizeof cs / sizeof *cs; i++)
        for (int relu = 0; relu < 2; relu++) {
            gt_scope_begin();
            gt_tensor *x =
                gt_cast(gtt_randn(2, (int64_t[]){cs[i][0], cs[i][1]}, 1, 0, 70 + i), GT_F32);
            gt_tensor *w =
                gt_cast(gtt_randn(2, (int64_t[]){cs[i][1], cs[i][2]}, 0.1, 0, 80 + i), GT_F32);
            gt_tensor *b = gt_cast(gtt_randn(1, &cs[i][2], 0.5, 0, 90 + i), GT_F32);
            gt_tensor *in[3] = {x, w, b};
            char what[48];
            snprintf(what, sizeof what, "case %zu, relu %d", i, relu);
            gtt_check_fused(what, mmb_fused, mmb_composed, &relu, 3, in);
            gt_scope_end();
        }
    gt_set_num_threads(nt);
    gt_scope_begin();
    gt_tensor *x = gt_zeros(GT_F32, GT_SHAPE(2, 3)), *w = gt_zeros(GT_F32, GT_SHAPE(3, 4));
    GTT_CHECK(!gt_matmul_bias_act(x, w, gt_zeros(GT_F32, GT_SHAPE(3)), true), "bias [3] accepted");
    GTT_ERROR_HAS("bias has shape [3] and dtype float32 but must be [4] of float32");
    gt_error_clear();
    GTT_CHECK(!gt_matmul_bias_act(x, w, gt_zeros(GT_F64, GT_SHAPE(4)), true), "f64 bias accepted");
    GTT_ERROR_HAS("must be [4] of float32");
    gt_error_clear();
    GTT_CHECK(!gt_matmul_bias_act(gt_zeros(GT_F32, GT_SHAPE(1, 2, 3)), w,
                                  gt_zeros(GT_F32, GT_SHAPE(4)), false),
              "rank-3 x accepted");
    GTT_ERROR_HAS("must be matrices");
    gt_error_clear();
    GTT_CHECK(!gt_matmul_bias_act(x, gt_zeros(GT_F32, GT_SHAPE(2, 4)),
                                  gt_zeros(GT_F32, GT_SHAPE(4)), false),
              "inner mismatch accepted");
    GTT_ERROR_HAS("inner dimensions differ");
    gt_error_clear();
    GTT_CHECK(!gt_matmul_bias_act(x, w, NULL, false), "NULL bias accepted");
    gt_error_clear();
    gt_scope_end();
}

int main(void) {
    test_against_naive();
    test_bias_act();
    test_batched();
    test_size0();
    test_gradient_values();
    test_determinism();
    test_errors();
    return gtt_finish();
}
