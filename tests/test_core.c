/* Tensors, scopes, errors, printing and random numbers. */
#include "gtt.h"

#include <stdlib.h>

static void test_create_and_inspect(void) {
    gt_scope_begin();
    float v[6] = {1, 2, 3, 4, 5, 6};
    gt_tensor *t = gt_tensor_new(GT_F32, GT_SHAPE(2, 3), v);
    GTT_CHECK(gt_tensor_rank(t) == 2 && gt_tensor_dim(t, 0) == 2 && gt_tensor_dim(t, -1) == 3, "shape");
    GTT_CHECK(gt_tensor_size(t) == 6 && gt_tensor_dtype(t) == GT_F32, "size/dtype");
    GTT_CHECK(gt_tensor_get(t, 4) == 5, "element");
    GTT_CHECK(isnan(gt_item(t)), "gt_item on 6 elements");
    GTT_ERROR_HAS("gt_item: tensor of shape [2,3] has 6 elements");
    GTT_CHECK(gt_tensor_dim(t, 2) == -1, "bad axis");
    GTT_ERROR_HAS("axis 2 is out of range for a tensor of rank 2");
    gt_tensor *z = gt_zeros(GT_I64, GT_SHAPE(3)), *o = gt_ones(GT_BOOL, GT_SHAPE(2));
    GTT_CHECK(gt_tensor_get(z, 2) == 0 && gt_tensor_get(o, 1) == 1, "zeros/ones");
    gt_tensor *r = gt_range(1, 2, 0.25, GT_F64);
    GTT_CHECK(gt_tensor_size(r) == 4 && gt_tensor_get(r, 3) == 1.75, "range");
    gt_tensor *e = gt_eye(3, GT_I32);
    GTT_CHECK(gt_tensor_get(e, 4) == 1 && gt_tensor_get(e, 5) == 0, "eye");
    GTT_CHECK(gt_item(gt_fill(GT_F64, 0, NULL, 2.5)) == 2.5, "fill scalar");
    GTT_CHECK(strcmp(gt_dtype_name(GT_I64), "int64") == 0 && gt_dtype_size(GT_BOOL) == 1, "dtype info");
    GTT_CHECK(gt_tensor_size(gt_zeros(GT_F32, GT_SHAPE(0, 5))) == 0, "size-0 tensor");
    gt_scope_end();
}

static void test_bad_shapes(void) {
    int64_t big[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    GTT_CHECK(gt_zeros(GT_F32, 9, big) == NULL, "rank 9");
    GTT_ERROR_HAS("rank 9 is not supported (tensors have rank 0 to 8)");
    GTT_CHECK(gt_zeros(GT_F32, GT_SHAPE(2, -1)) == NULL, "negative dim");
    GTT_ERROR_HAS("dimension 1 of shape [2,-1] is negative");
    GTT_CHECK(gt_zeros(GT_F32, GT_SHAPE(1LL << 40, 1LL << 40)) == NULL, "overflow");
    GTT_ERROR_HAS("too many elements");
    GTT_CHECK(gt_zeros((gt_dtype)42, GT_SHAPE(2)) == NULL, "bad dtype");
    GTT_ERROR_HAS("invalid dtype 42");
    GTT_CHECK(gt_range(0, 1, 0, GT_F32) == NULL, "range delta 0");
    GTT_ERROR_HAS("delta must be finite and non-zero");
    GTT_CHECK(gt_random_uniform(GT_SHAPE(2), 3, 3, GT_I32, NULL) == NULL, "int uniform empty");
    GTT_ERROR_HAS("maxval > minval");
}

static int handler_calls;
static void on_error(const char *msg, void *user) {
    (void)msg;
    *(int *)user += 1;
}

static void test_errors(void) {
    gt_error_clear();
    GTT_CHECK(gt_ok() && gt_error() == NULL, "clean");
    gt_set_error_handler(on_error, &handler_calls);
    gt_scope_begin();
    gt_tensor *a = gt_add(gt_zeros(GT_F32, GT_SHAPE(2)), gt_zeros(GT_F32, GT_SHAPE(3)));
    gt_tensor *b = gt_mul(a, a);
    GTT_CHECK(!a && !b && handler_calls == 1, "handler called once, first error kept");
    GTT_ERROR_HAS("not broadcastable");
    gt_scope_end();
    gt_set_error_handler(NULL, NULL);
    gt_scope_end(); /* root scope: an error, not a crash */
    GTT_ERROR_HAS("no scope is open");
}

static void test_scopes(void) {
    gt_mem_stats s0 = gt_mem_stats_get();
    gt_scope_begin();
    gt_tensor *kept = NULL;
    gt_scope_begin();
    gt_zeros(GT_F32, GT_SHAPE(1000));
    kept = gt_keep(gt_ones(GT_F32, GT_SHAPE(1000)));
    gt_scope_end();
    GTT_CHECK(gt_tensor_get(kept, 999) == 1, "kept tensor survives its scope");
    gt_tensor *held = gt_retain(gt_ones(GT_F32, GT_SHAPE(10)));
    gt_scope_end();
    GTT_CHECK(gt_tensor_get(held, 9) == 1, "retained tensor survives");
    gt_release(held);
    gt_mem_stats s1 = gt_mem_stats_get();
    GTT_CHECK(s1.bytes_live == s0.bytes_live, "all released: %lld vs %lld",
              (long long)s1.bytes_live, (long long)s0.bytes_live);
}

static void expect_print(const gt_tensor *t, const char *want) {
    char buf[512];
    gt_tensor_format(t, buf, sizeof buf);
    GTT_CHECK(!strcmp(buf, want), "printed\n%s\nwant\n%s", buf, want);
}

/* NumPy's printing (each `want` was produced by NumPy 2.4 printing the same array). */
static void test_printing(void) {
    gt_scope_begin();
    expect_print(gt_scalar(6.0), "6.0");
    expect_print(gt_scalar(0.1), "0.1");
    expect_print(gt_tensor_new(GT_F32, GT_SHAPE(3), (float[]){1, 2.5f, -3}), "[ 1.   2.5 -3. ]");
    expect_print(gt_tensor_new(GT_F32, GT_SHAPE(2, 2), (float[]){1, 2, 3, 4}), "[[1. 2.]\n [3. 4.]]");
    expect_print(gt_tensor_new(GT_I32, GT_SHAPE(3), (int32_t[]){1, -20, 300}), "[  1 -20 300]");
    expect_print(gt_tensor_new(GT_BOOL, GT_SHAPE(2), (bool[]){true, false}), "[ True False]");
    expect_print(gt_tensor_new(GT_F64, GT_SHAPE(2), (double[]){1e-5, 1}), "[1.e-05 1.e+00]");
    expect_print(gt_tensor_new(GT_F32, GT_SHAPE(2, 1, 2), (float[]){1, 2, 3, 4}),
                 "[[[1. 2.]]\n\n [[3. 4.]]]");
    expect_print(gt_zeros(GT_F32, GT_SHAPE(0)), "[]");
    expect_print(gt_tensor_new(GT_F32, GT_SHAPE(2), (float[]){0.123456789f, -0.5f}),
                 "[ 0.12345679 -0.5       ]");
    gt_scope_end();
}

static void test_rng(void) {
    gt_scope_begin();
    gt_rng a = gt_rng_new(42), b = gt_rng_new(42), c = gt_rng_new(43);
    gt_tensor *x = gt_random_normal(GT_SHAPE(100000), 0, 1, GT_F32, &a);
    gt_tensor *y = gt_random_normal(GT_SHAPE(100000), 0, 1, GT_F32, &b);
    gt_tensor *z = gt_random_normal(GT_SHAPE(100000), 0, 1, GT_F32, &c);
    GTT_CHECK(gt_tensor_equal(x, y), "same seed, same numbers");
    GTT_CHECK(!gt_tensor_equal(x, z), "different seed, different numbers");
    /* Mean and variance of 1e5 N(0,1) samples: standard errors 0.0032 and 0.0045; 5 sigma. */
    double m = gt_item(gt_reduce_mean(x, GT_ALL, false));
    double v = gt_item(gt_reduce_mean(gt_square(x), GT_ALL, false)) - m * m;
    GTT_CLOSE(m, 0.0, 0.016, 0);
    GTT_CLOSE(v, 1.0, 0.023, 0);
    gt_tensor *u = gt_random_uniform(GT_SHAPE(100000), -2, 3, GT_F64, &a);
    GTT_CHECK(gt_item(gt_reduce_min(u, GT_ALL, false)) >= -2 && gt_item(gt_reduce_max(u, GT_ALL, false)) < 3,
              "uniform bounds");
    gt_tensor *tn = gt_truncated_normal(GT_SHAPE(100000), 1, 0.5, GT_F32, &a);
    GTT_CHECK(gt_item(gt_reduce_min(tn, GT_ALL, false)) >= 0 && gt_item(gt_reduce_max(tn, GT_ALL, false)) <= 2,
              "truncated within 2 stddev");
    /* The standard deviation of a unit normal truncated at +-2 is 0.87962566. */
    double tm = gt_item(gt_reduce_mean(tn, GT_ALL, false));
    double tv = gt_item(gt_reduce_mean(gt_square(gt_sub_s(tn, tm)), GT_ALL, false));
    GTT_CLOSE(sqrt(tv), 0.5 * 0.87962566103423978, 0.004, 0);
    gt_tensor *k = gt_random_uniform(GT_SHAPE(10000), 0, 2, GT_I32, &a);
    double km = gt_item(gt_reduce_mean(gt_cast(k, GT_F64), GT_ALL, false));
    GTT_CHECK(gt_item(gt_reduce_min(k, GT_ALL, false)) == 0 && gt_item(gt_reduce_max(k, GT_ALL, false)) == 1,
              "int uniform in [0, 2)");
    GTT_CLOSE(km, 0.5, 0.025, 0); /* 5 standard errors of a Bernoulli mean over 1e4 */
    /* The same draw with 1 and 2 threads is bitwise identical. */
    int nt = gt_get_num_threads();
    gt_set_num_threads(1);
    gt_rng r1 = gt_rng_new(7);
    gt_tensor *s1 = gt_truncated_normal(GT_SHAPE(300000), 0, 1, GT_F32, &r1);
    gt_set_num_threads(2);
    gt_rng r2 = gt_rng_new(7);
    gt_tensor *s2 = gt_truncated_normal(GT_SHAPE(300000), 0, 1, GT_F32, &r2);
    gt_set_num_threads(nt);
    GTT_CHECK(gt_tensor_equal(s1, s2), "thread count changed the stream");
    gt_scope_end();
}

int main(void) {
    test_create_and_inspect();
    test_bad_shapes();
    test_errors();
    test_scopes();
    test_printing();
    test_rng();
    return gtt_finish();
}
