/* Forward values, dtypes, size-0 shapes, gradients with known closed forms and every error
 * message of the shape ops. Shape ops only move elements, so every value check is exact
 * (tolerance 0): expected values are written out by hand or computed from index formulas. */
#include "gtt.h"

#include <stdlib.h>

#define S(...) GT_SHAPE(__VA_ARGS__)

/* t has dtype dt, the given shape and exactly the elements want[] (tolerance 0: copies are
 * bit-exact). */
static void expect(const char *what, const gt_tensor *t, gt_dtype dt, int rank,
                   const int64_t *shape, const double *want) {
    if (!t) {
        GTT_CHECK(0, "%s: NULL (%s)", what, gt_error() ? gt_error() : "");
        gt_error_clear();
        return;
    }
    GTT_CHECK(gt_tensor_dtype(t) == dt, "%s: dtype %s", what, gt_dtype_name(gt_tensor_dtype(t)));
    bool same = gt_tensor_rank(t) == rank;
    for (int i = 0; same && i < rank; i++)
        same = gt_tensor_shape(t)[i] == shape[i];
    GTT_CHECK(same, "%s: wrong shape (rank %d)", what, gt_tensor_rank(t));
    if (same && want) {
        int64_t n = 1;
        for (int i = 0; i < rank; i++)
            n *= shape[i];
        gtt_tensor_close(what, t, want, n, 0, 0);
    }
}

/* 0, 1, 2, ... as a tensor of dtype dt (bool: i % 2). */
static gt_tensor *iota(gt_dtype dt, int rank, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= shape[i];
    char *buf = malloc((size_t)(n ? n : 1) * 8);
    for (int64_t i = 0; i < n; i++) {
        switch (dt) {
        case GT_F32:
            ((float *)buf)[i] = (float)i;
            break;
        case GT_F64:
            ((double *)buf)[i] = (double)i;
            break;
        case GT_I32:
            ((int32_t *)buf)[i] = (int32_t)i;
            break;
        case GT_I64:
            ((int64_t *)buf)[i] = i;
            break;
        case GT_BOOL:
            ((bool *)buf)[i] = i % 2;
            break;
        }
    }
    gt_tensor *t = gt_tensor_new(dt, rank, shape, buf);
    free(buf);
    return t;
}

static const gt_dtype all_dtypes[] = {GT_F32, GT_F64, GT_I32, GT_I64, GT_BOOL};

/* ---- reshape / expand_dims / squeeze ------------------------------------------------------ */

static void test_reshape(void) {
    gt_tensor *x = gt_tensor_new(GT_F32, S(2, 3), (float[]){1, 2, 3, 4, 5, 6});
    gt_tensor *y = gt_reshape(x, S(3, -1));
    expect("reshape [3,-1]", y, GT_F32, S(3, 2), (double[]){1, 2, 3, 4, 5, 6});
    GTT_CHECK(y && gt_tensor_data(y) == gt_tensor_data(x), "reshape must alias, not copy");
    expect("reshape to rank 1", gt_reshape(x, S(-1)), GT_F32, S(6), (double[]){1, 2, 3, 4, 5, 6});
    expect("reshape scalar", gt_reshape(gt_scalar(7), S(1, 1)), GT_F32, S(1, 1), (double[]){7});
    expect("reshape to scalar", gt_reshape(gt_tensor_new(GT_I64, S(1), (int64_t[]){9}), 0, NULL),
           GT_I64, 0, NULL, (double[]){9});
    /* Size 0, TensorFlow's rule: when the requested shape has a 0, zero dimensions are left
     * out of both products, so -1 is inferred from the rest ([0,3] -> [3,0,-1] is [3,0,1],
     * [2,0,3] -> [-1,2,0] is [3,2,0], TF 2.21's value); without a 0 in the request, -1 is 0. */
    gt_tensor *e = gt_zeros(GT_BOOL, S(0, 3));
    expect("reshape empty", gt_reshape(e, S(3, 0, -1)), GT_BOOL, S(3, 0, 1), NULL);
    expect("reshape empty 2", gt_reshape(e, S(-1, 5)), GT_BOOL, S(0, 5), NULL);
    expect("reshape empty 3", gt_reshape(gt_zeros(GT_F32, S(2, 0, 3)), S(-1, 2, 0)), GT_F32,
           S(3, 2, 0), NULL);
    expect("reshape empty 4", gt_reshape(gt_zeros(GT_F32, S(2, 0, 3)), S(-1, 4, 0)), GT_F32,
           S(1, 4, 0), NULL);

    GTT_CHECK(!gt_reshape(x, S(4, 2)), "6 elements into [4,2]");
    GTT_ERROR_HAS("gt_reshape: cannot reshape a tensor with 6 elements (shape [2,3]) to [4,2]");
    GTT_CHECK(!gt_reshape(x, S(-1, 4)), "6 not a multiple of 4");
    GTT_ERROR_HAS("6 is not a multiple of 4");
    GTT_CHECK(!gt_reshape(x, S(-1, -1)), "two -1");
    GTT_ERROR_HAS("more than one -1");
    GTT_CHECK(!gt_reshape(x, S(-2, -3)), "negative dim");
    GTT_ERROR_HAS("dimension 0 of shape [-2,-3] is negative");
    GTT_CHECK(!gt_reshape(x, S(0, -1)), "0 with -1 on a non-empty input");
    GTT_ERROR_HAS("to [0,-1], which has 0 elements");
    GTT_CHECK(!gt_reshape(x, 9, (const int64_t[9]){1}), "rank 9");
    GTT_ERROR_HAS("gt_reshape: rank 9 is not supported");
    GTT_CHECK(!gt_reshape(x, 2, NULL), "NULL shape");
    GTT_ERROR_HAS("gt_reshape: shape is NULL");
    /* NULL input: no error of its own over an earlier one. */
    GTT_CHECK(!gt_reshape(NULL, S(1)), "NULL input");
    GTT_ERROR_HAS("gt_reshape: an input is NULL");
}

static void test_expand_squeeze(void) {
    gt_tensor *x = gt_tensor_new(GT_I32, S(2, 3), (int32_t[]){1, 2, 3, 4, 5, 6});
    const double v[] = {1, 2, 3, 4, 5, 6};
    expect("expand_dims 0", gt_expand_dims(x, 0), GT_I32, S(1, 2, 3), v);
    expect("expand_dims 1", gt_expand_dims(x, 1), GT_I32, S(2, 1, 3), v);
    expect("expand_dims -1", gt_expand_dims(x, -1), GT_I32, S(2, 3, 1), v);
    expect("expand_dims 2", gt_expand_dims(x, 2), GT_I32, S(2, 3, 1), v);
    expect("expand_dims -3", gt_expand_dims(x, -3), GT_I32, S(1, 2, 3), v);
    expect("expand_dims scalar", gt_expand_dims(gt_scalar(2), 0), GT_F32, S(1), (double[]){2});
    expect("expand_dims empty", gt_expand_dims(gt_zeros(GT_F64, S(0)), 0), GT_F64, S(1, 0), NULL);
    GTT_CHECK(!gt_expand_dims(x, 3), "axis 3 of rank 2");
    GTT_ERROR_HAS("gt_expand_dims: axis 3 is out of range for a tensor of rank 3");
    GTT_CHECK(!gt_expand_dims(gt_zeros(GT_F32, S(1, 1, 1, 1, 1, 1, 1, 1)), 0), "rank 9");
    GTT_ERROR_HAS("already has rank 8");

    gt_tensor *s = gt_reshape(x, S(1, 2, 1, 3, 1));
    expect("squeeze all", gt_squeeze(s, GT_ALL), GT_I32, S(2, 3), v);
    expect("squeeze 2", gt_squeeze(s, GT_AXES(2)), GT_I32, S(1, 2, 3, 1), v);
    expect("squeeze 0,-1", gt_squeeze(s, GT_AXES(0, -1)), GT_I32, S(2, 1, 3), v);
    expect("squeeze to scalar", gt_squeeze(gt_ones(GT_BOOL, S(1, 1)), GT_ALL), GT_BOOL, 0, NULL,
           (double[]){1});
    expect("squeeze keeps 0", gt_squeeze(gt_zeros(GT_F32, S(1, 0, 1)), GT_ALL), GT_F32, S(0), NULL);
    GTT_CHECK(!gt_squeeze(s, GT_AXES(1)), "squeeze a size-2 axis");
    GTT_ERROR_HAS("gt_squeeze: cannot squeeze axis 1 of shape [1,2,1,3,1]: its size is 2, not 1");
    GTT_CHECK(!gt_squeeze(s, GT_AXES(5)), "axis 5");
    GTT_ERROR_HAS("gt_squeeze: axis 5 is out of range");
    GTT_CHECK(!gt_squeeze(s, 2, NULL), "NULL axes");
    GTT_ERROR_HAS("gt_squeeze: invalid axis list");
}

/* ---- transpose ----------------------------------------------------------------------------- */

/* Checks gt_transpose(x, perm) against the index formula out[i] = x[perm-mapped index]. */
static void check_transpose(gt_dtype dt, int rank, const int64_t *shape, const int *perm) {
    gt_scope_begin();
    gt_tensor *x = iota(dt, rank, shape);
    gt_tensor *y = gt_transpose(x, perm);
    int64_t os[8], xs[8], n = 1;
    int p[8];
    for (int i = 0; i < rank; i++)
        p[i] = perm ? perm[i] : rank - 1 - i;
    for (int i = rank - 1; i >= 0; i--)
        xs[i] = n, n *= shape[i];
    for (int i = 0; i < rank; i++)
        os[i] = shape[p[i]];
    double *want = malloc(sizeof(double) * (size_t)(n ? n : 1));
    for (int64_t o = 0; o < n; o++) {
        int64_t rem = o, src = 0;
        for (int i = rank - 1; i >= 0; i--) {
            src += rem % os[i] * xs[p[i]];
            rem /= os[i];
        }
        want[o] = dt == GT_BOOL ? (double)(src % 2) : (double)src;
    }
    char what[64];
    snprintf(what, sizeof what, "transpose %s rank %d", gt_dtype_name(dt), rank);
    expect(what, y, dt, rank, os, want);
    free(want);
    gt_scope_end();
}

static void test_transpose(void) {
    gt_tensor *x = gt_tensor_new(GT_F64, S(2, 3), (double[]){1, 2, 3, 4, 5, 6});
    expect("transpose 2-D", gt_transpose(x, NULL), GT_F64, S(3, 2), (double[]){1, 4, 2, 5, 3, 6});
    expect("transpose identity", gt_transpose(x, (int[]){0, 1}), GT_F64, S(2, 3),
           (double[]){1, 2, 3, 4, 5, 6});
    for (size_t d = 0; d < 5; d++) {
        check_transpose(all_dtypes[d], S(3, 4), NULL);
        check_transpose(all_dtypes[d], S(2, 3, 4), (int[]){1, 2, 0});
        /* Large enough for the tiled path and the parallel split (> 32768 elements). */
        check_transpose(all_dtypes[d], S(203, 190), NULL);
        check_transpose(all_dtypes[d], S(3, 70, 190), (int[]){0, 2, 1});
    }
    check_transpose(GT_F32, S(2, 1, 3, 2, 1), (int[]){4, 3, 0, 2, 1});
    check_transpose(GT_F32, S(2, 0, 3), (int[]){2, 0, 1});
    check_transpose(GT_I64, 0, NULL, NULL);

    GTT_CHECK(!gt_transpose(x, (int[]){0, 0}), "repeated axis");
    GTT_ERROR_HAS("gt_transpose: perm [0,0] is not a permutation of 0..1 for the input of shape "
                  "[2,3] (repeated axis 0)");
    GTT_CHECK(!gt_transpose(x, (int[]){0, 2}), "axis 2");
    GTT_ERROR_HAS("perm [0,2] is not a permutation of 0..1");
    GTT_CHECK(!gt_transpose(x, (int[]){-1, 0}), "negative");
    GTT_ERROR_HAS("out-of-range axis -1");
}

/* ---- concat / stack / split ------------------------------------------------------------------ */

static void test_concat_stack(void) {
    gt_tensor *a = gt_tensor_new(GT_F32, S(2, 2), (float[]){1, 2, 3, 4});
    gt_tensor *b = gt_tensor_new(GT_F32, S(1, 2), (float[]){5, 6});
    gt_tensor *c = gt_tensor_new(GT_F32, S(2, 1), (float[]){7, 8});
    gt_tensor *e = gt_zeros(GT_F32, S(0, 2));
    expect("concat axis 0", gt_concat(3, (const gt_tensor *[]){a, e, b}, 0), GT_F32, S(3, 2),
           (double[]){1, 2, 3, 4, 5, 6});
    expect("concat axis -1", gt_concat(2, (const gt_tensor *[]){a, c}, -1), GT_F32, S(2, 3),
           (double[]){1, 2, 7, 3, 4, 8});
    expect("concat one", gt_concat(1, (const gt_tensor *[]){c}, 1), GT_F32, S(2, 1),
           (double[]){7, 8});
    expect("concat empty", gt_concat(2, (const gt_tensor *[]){e, e}, 0), GT_F32, S(0, 2), NULL);
    for (size_t d = 0; d < 5; d++) {
        gt_tensor *x = iota(all_dtypes[d], S(2, 3)), *y = iota(all_dtypes[d], S(2, 1));
        bool bo = all_dtypes[d] == GT_BOOL;
        double want[] = {0, 1, 2, 0, 3, 4, 5, 1};
        if (bo)
            want[2] = 0, want[4] = 1, want[5] = 0, want[6] = 1; /* x = i % 2 */
        expect("concat dtypes", gt_concat(2, (const gt_tensor *[]){x, y}, 1), all_dtypes[d],
               S(2, 4), want);
    }
    GTT_CHECK(!gt_concat(2, (const gt_tensor *[]){a, gt_cast(b, GT_F64)}, 0), "dtypes differ");
    GTT_ERROR_HAS("gt_concat: tensor 1 has dtype float64 but tensor 0 has float32");
    GTT_CHECK(!gt_concat(2, (const gt_tensor *[]){a, b}, 1), "shapes differ");
    GTT_ERROR_HAS("gt_concat: tensor 1 has shape [1,2] but tensor 0 has shape [2,2]; shapes must "
                  "match except along the concat axis");
    GTT_CHECK(!gt_concat(2, (const gt_tensor *[]){a, gt_ones(GT_F32, S(2))}, 0), "ranks differ");
    GTT_ERROR_HAS("tensor 1 has shape [2]");
    GTT_CHECK(!gt_concat(2, (const gt_tensor *[]){a, b}, 2), "axis 2");
    GTT_ERROR_HAS("gt_concat: axis 2 is out of range");
    GTT_CHECK(!gt_concat(1, (const gt_tensor *[]){gt_scalar(1)}, 0), "scalars");
    GTT_ERROR_HAS("gt_concat: cannot concatenate scalars");
    GTT_CHECK(!gt_concat(0, NULL, 0), "no inputs");
    GTT_ERROR_HAS("gt_concat: needs a list of at least one tensor");

    gt_tensor *p = gt_tensor_new(GT_I64, S(3), (int64_t[]){1, 2, 3});
    gt_tensor *q = gt_tensor_new(GT_I64, S(3), (int64_t[]){4, 5, 6});
    expect("stack 0", gt_stack(2, (const gt_tensor *[]){p, q}, 0), GT_I64, S(2, 3),
           (double[]){1, 2, 3, 4, 5, 6});
    expect("stack 1", gt_stack(2, (const gt_tensor *[]){p, q}, 1), GT_I64, S(3, 2),
           (double[]){1, 4, 2, 5, 3, 6});
    expect("stack -1", gt_stack(2, (const gt_tensor *[]){p, q}, -1), GT_I64, S(3, 2),
           (double[]){1, 4, 2, 5, 3, 6});
    expect("stack scalars",
           gt_stack(3, (const gt_tensor *[]){gt_scalar(1), gt_scalar(2), gt_scalar(3)}, 0), GT_F32,
           S(3), (double[]){1, 2, 3});
    expect("stack empty", gt_stack(2, (const gt_tensor *[]){e, e}, 1), GT_F32, S(0, 2, 2), NULL);
    GTT_CHECK(!gt_stack(2, (const gt_tensor *[]){p, gt_ones(GT_I64, S(2))}, 0), "shapes differ");
    GTT_ERROR_HAS(
        "gt_stack: tensor 1 has shape [2] but tensor 0 has shape [3]; all shapes must be equal");
    GTT_CHECK(!gt_stack(2, (const gt_tensor *[]){p, q}, 2), "axis 2");
    GTT_ERROR_HAS("gt_stack: axis 2 is out of range for a tensor of rank 2");
    GTT_CHECK(!gt_stack(2, (const gt_tensor *[]){p, gt_cast(q, GT_I32)}, 0), "dtypes");
    GTT_ERROR_HAS("gt_stack: tensor 1 has dtype int32 but tensor 0 has int64");
}

static void test_split(void) {
    gt_tensor *x = gt_tensor_new(GT_I32, S(2, 4), (int32_t[]){1, 2, 3, 4, 5, 6, 7, 8});
    gt_tensor *o[3];
    GTT_OK(gt_split(x, 2, NULL, 1, o));
    expect("split equal 0", o[0], GT_I32, S(2, 2), (double[]){1, 2, 5, 6});
    expect("split equal 1", o[1], GT_I32, S(2, 2), (double[]){3, 4, 7, 8});
    GTT_OK(gt_split(x, 3, (const int64_t[]){1, -1, 0}, -1, o));
    expect("split sizes 0", o[0], GT_I32, S(2, 1), (double[]){1, 5});
    expect("split sizes 1", o[1], GT_I32, S(2, 3), (double[]){2, 3, 4, 6, 7, 8});
    expect("split sizes 2", o[2], GT_I32, S(2, 0), NULL);
    GTT_OK(gt_split(x, 2, NULL, 0, o));
    expect("split axis 0", o[1], GT_I32, S(1, 4), (double[]){5, 6, 7, 8});

    GTT_CHECK(!gt_split(x, 3, NULL, 1, o) && !o[0] && !o[2], "4 into 3 parts");
    GTT_ERROR_HAS(
        "gt_split: axis 1 of shape [2,4] has size 4, which does not divide into 3 equal parts");
    GTT_CHECK(!gt_split(x, 2, (const int64_t[]){1, 2}, 1, o), "sizes sum to 3");
    GTT_ERROR_HAS("gt_split: sizes [1,2] must add up to 4");
    GTT_CHECK(!gt_split(x, 2, (const int64_t[]){5, -1}, 1, o), "5 > 4");
    GTT_ERROR_HAS("sizes [5,-1] must add up to 4");
    GTT_CHECK(!gt_split(x, 2, (const int64_t[]){-1, -1}, 1, o), "two -1");
    GTT_ERROR_HAS("gt_split: sizes[0] and sizes[1] are both -1");
    GTT_CHECK(!gt_split(x, 2, (const int64_t[]){-2, 6}, 1, o), "negative");
    GTT_ERROR_HAS("gt_split: sizes[0] = -2 is negative");
    GTT_CHECK(!gt_split(x, 0, NULL, 1, o), "n = 0");
    GTT_ERROR_HAS("gt_split: needs n >= 1 parts");
    GTT_CHECK(!gt_split(x, 2, NULL, 2, o), "axis 2");
    GTT_ERROR_HAS("gt_split: axis 2 is out of range");
}

/* ---- slice / pad / tile / broadcast_to ----------------------------------------------------------
 */

static void test_slice_pad(void) {
    gt_tensor *x = gt_tensor_new(GT_F64, S(3, 4), (double[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
    expect("slice", gt_slice(x, (const int64_t[]){1, 1}, (const int64_t[]){2, 2}), GT_F64, S(2, 2),
           (double[]){5, 6, 9, 10});
    expect("slice -1", gt_slice(x, (const int64_t[]){2, 1}, (const int64_t[]){-1, -1}), GT_F64,
           S(1, 3), (double[]){9, 10, 11});
    expect("slice rows", gt_slice(x, (const int64_t[]){1, 0}, (const int64_t[]){1, 4}), GT_F64,
           S(1, 4), (double[]){4, 5, 6, 7});
    expect("slice empty", gt_slice(x, (const int64_t[]){3, 0}, (const int64_t[]){0, -1}), GT_F64,
           S(0, 4), NULL);
    expect("slice scalar", gt_slice(gt_scalar(4), NULL, NULL), GT_F32, 0, NULL, (double[]){4});
    expect("slice bool", gt_slice(iota(GT_BOOL, S(5)), (const int64_t[]){1}, (const int64_t[]){3}),
           GT_BOOL, S(3), (double[]){1, 0, 1});
    GTT_CHECK(!gt_slice(x, (const int64_t[]){4, 0}, (const int64_t[]){1, 1}), "begin 4");
    GTT_ERROR_HAS("gt_slice: begin[0] = 4 is outside [0, 3] for the input of shape [3,4]");
    GTT_CHECK(!gt_slice(x, (const int64_t[]){-1, 0}, (const int64_t[]){1, 1}), "begin -1");
    GTT_ERROR_HAS("begin[0] = -1 is outside [0, 3]");
    GTT_CHECK(!gt_slice(x, (const int64_t[]){0, 2}, (const int64_t[]){1, 3}), "size past end");
    GTT_ERROR_HAS("gt_slice: size[1] = 3 is outside [0, 2] for begin[1] = 2");
    GTT_CHECK(!gt_slice(x, (const int64_t[]){0, 0}, (const int64_t[]){-2, 1}), "size -2");
    GTT_ERROR_HAS("size[0] = -2 is outside [0, 3]");
    GTT_CHECK(!gt_slice(x, NULL, NULL), "NULL begin");
    GTT_ERROR_HAS("gt_slice: begin and size need 2 values each");

    gt_tensor *y = gt_tensor_new(GT_I32, S(2, 2), (int32_t[]){1, 2, 3, 4});
    expect("pad", gt_pad(y, (const int64_t[]){1, 0, 0, 2}, 9), GT_I32, S(3, 4),
           (double[]){9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9});
    expect("pad f32", gt_pad(gt_cast(y, GT_F32), (const int64_t[]){0, 1, 1, 1}, -0.5), GT_F32,
           S(3, 4), (double[]){-0.5, 1, 2, -0.5, -0.5, 3, 4, -0.5, -0.5, -0.5, -0.5, -0.5});
    expect("pad none", gt_pad(y, (const int64_t[]){0, 0, 0, 0}, 1), GT_I32, S(2, 2),
           (double[]){1, 2, 3, 4});
    expect("pad bool", gt_pad(gt_ones(GT_BOOL, S(1)), (const int64_t[]){1, 1}, 0), GT_BOOL, S(3),
           (double[]){0, 1, 0});
    expect("pad empty", gt_pad(gt_zeros(GT_I64, S(0, 2)), (const int64_t[]){1, 0, 0, 1}, 7), GT_I64,
           S(1, 3), (double[]){7, 7, 7});
    expect("pad scalar", gt_pad(gt_scalar(3), NULL, 0), GT_F32, 0, NULL, (double[]){3});
    GTT_CHECK(!gt_pad(y, (const int64_t[]){0, 0, -1, 0}, 0), "negative padding");
    GTT_ERROR_HAS("gt_pad: paddings for axis 1 are (-1, 0); paddings must be non-negative");
    GTT_CHECK(!gt_pad(y, NULL, 0), "NULL paddings");
    GTT_ERROR_HAS("gt_pad: paddings needs 4 values");
}

static void test_tile_broadcast(void) {
    gt_tensor *x = gt_tensor_new(GT_I32, S(2, 2), (int32_t[]){1, 2, 3, 4});
    expect("tile", gt_tile(x, (const int64_t[]){2, 3}), GT_I32, S(4, 6),
           (double[]){1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4});
    expect("tile col",
           gt_tile(gt_tensor_new(GT_F64, S(2, 1), (double[]){5, 6}), (const int64_t[]){1, 3}),
           GT_F64, S(2, 3), (double[]){5, 5, 5, 6, 6, 6});
    expect("tile 0", gt_tile(x, (const int64_t[]){0, 2}), GT_I32, S(0, 4), NULL);
    expect("tile bool", gt_tile(iota(GT_BOOL, S(2)), (const int64_t[]){2}), GT_BOOL, S(4),
           (double[]){0, 1, 0, 1});
    GTT_CHECK(!gt_tile(x, (const int64_t[]){1, -1}), "negative multiple");
    GTT_ERROR_HAS("gt_tile: multiples[1] = -1 is negative (input shape [2,2])");
    GTT_CHECK(!gt_tile(x, (const int64_t[]){INT64_MAX / 4, 1}), "overflow");
    GTT_ERROR_HAS("overflows");

    gt_tensor *r = gt_tensor_new(GT_F32, S(3), (float[]){1, 2, 3});
    expect("broadcast row", gt_broadcast_to(r, S(2, 3)), GT_F32, S(2, 3),
           (double[]){1, 2, 3, 1, 2, 3});
    expect("broadcast col", gt_broadcast_to(gt_reshape(r, S(3, 1)), S(3, 2)), GT_F32, S(3, 2),
           (double[]){1, 1, 2, 2, 3, 3});
    expect("broadcast scalar", gt_broadcast_to(gt_scalar_of(GT_BOOL, 1), S(2)), GT_BOOL, S(2),
           (double[]){1, 1});
    expect("broadcast to 0", gt_broadcast_to(r, S(0, 3)), GT_F32, S(0, 3), NULL);
    expect("broadcast same", gt_broadcast_to(r, S(3)), GT_F32, S(3), (double[]){1, 2, 3});
    GTT_CHECK(!gt_broadcast_to(r, S(2, 4)), "3 vs 4");
    GTT_ERROR_HAS("gt_broadcast_to: cannot broadcast shape [3] to [2,4]");
    GTT_CHECK(!gt_broadcast_to(gt_zeros(GT_F32, S(1, 3)), S(3)), "rank down");
    GTT_ERROR_HAS("the target needs at least the input's rank");
    GTT_CHECK(!gt_broadcast_to(r, S(-1, 3)), "negative target");
    GTT_ERROR_HAS("gt_broadcast_to: dimension 0 of shape [-1,3] is negative");
}

/* ---- gather / one_hot --------------------------------------------------------------------------
 */

static void test_gather(void) {
    gt_tensor *p = gt_tensor_new(GT_F32, S(3, 2), (float[]){1, 2, 3, 4, 5, 6});
    gt_tensor *i1 = gt_tensor_new(GT_I32, S(4), (int32_t[]){2, 0, 2, 1});
    expect("gather rows", gt_gather(p, i1, 0), GT_F32, S(4, 2), (double[]){5, 6, 1, 2, 5, 6, 3, 4});
    gt_tensor *i2 = gt_tensor_new(GT_I64, S(2, 2), (int64_t[]){1, 1, 0, 1});
    expect("gather axis 1", gt_gather(p, i2, 1), GT_F32, S(3, 2, 2),
           (double[]){2, 2, 1, 2, 4, 4, 3, 4, 6, 6, 5, 6});
    expect("gather axis -1 scalar index", gt_gather(p, gt_scalar_of(GT_I32, 1), -1), GT_F32, S(3),
           (double[]){2, 4, 6});
    expect("gather empty indices", gt_gather(p, gt_zeros(GT_I32, S(0)), 0), GT_F32, S(0, 2), NULL);
    for (size_t d = 0; d < 5; d++)
        expect("gather dtypes", gt_gather(iota(all_dtypes[d], S(4)), i1, 0), all_dtypes[d], S(4),
               all_dtypes[d] == GT_BOOL ? (double[]){0, 0, 0, 1} : (double[]){2, 0, 2, 1});
    /* A 3-D middle-axis gather: out[a, j, c] = p3[a, idx[j], c], from the index formula. */
    {
        gt_tensor *p3 = iota(GT_I64, S(2, 5, 3));
        gt_tensor *ix = gt_tensor_new(GT_I32, S(3), (int32_t[]){4, 0, 4});
        double want[18];
        for (int a = 0; a < 2; a++)
            for (int j = 0; j < 3; j++)
                for (int c = 0; c < 3; c++)
                    want[(a * 3 + j) * 3 + c] = a * 15 + (j == 1 ? 0 : 4) * 3 + c;
        expect("gather 3-D", gt_gather(p3, ix, 1), GT_I64, S(2, 3, 3), want);
    }

    GTT_CHECK(!gt_gather(p, gt_tensor_new(GT_I32, S(2, 2), (int32_t[]){0, 1, 3, 0}), 0), "index 3");
    GTT_ERROR_HAS("gt_gather: indices[1,0] = 3 is not in [0, 3) (params shape [3,2], axis 0)");
    GTT_CHECK(!gt_gather(p, gt_tensor_new(GT_I64, S(2), (int64_t[]){0, -1}), 1), "index -1");
    GTT_ERROR_HAS("gt_gather: indices[1] = -1 is not in [0, 2)");
    GTT_CHECK(!gt_gather(p, gt_ones(GT_F32, S(2)), 0), "float indices");
    GTT_ERROR_HAS("gt_gather: indices have dtype float32; they must be int32 or int64");
    GTT_CHECK(!gt_gather(p, i1, 2), "axis 2");
    GTT_ERROR_HAS("gt_gather: axis 2 is out of range");
    GTT_CHECK(!gt_gather(gt_scalar(1), i1, 0), "scalar params");
    GTT_ERROR_HAS("gt_gather: params is a scalar");
    GTT_CHECK(!gt_gather(gt_zeros(GT_F32, S(0, 2)), gt_zeros(GT_I32, S(1)), 0), "empty params");
    GTT_ERROR_HAS("indices[0] = 0 is not in [0, 0)");
    GTT_CHECK(!gt_gather(gt_zeros(GT_F32, S(1, 1, 1, 1, 1)), gt_zeros(GT_I32, S(1, 1, 1, 1, 1)), 0),
              "rank 9 result");
    GTT_ERROR_HAS("the result would have rank 9");
}

/* The gradient w.r.t. params is a scatter-add: duplicates sum, unpicked rows are 0. */
static void test_gather_grad(void) {
    gt_tensor *p = gt_tensor_new(GT_F64, S(3, 2), (double[]){1, 2, 3, 4, 5, 6});
    gt_tensor *idx = gt_tensor_new(GT_I32, S(4), (int32_t[]){2, 0, 2, 2});
    gt_tensor *w = gt_tensor_new(GT_F64, S(4, 2), (double[]){1, 2, 3, 4, 5, 6, 7, 8});
    gt_tape *t = gt_tape_begin(NULL);
    gt_tape_watch(t, p);
    gt_tensor *y = gt_gather(p, idx, 0);
    gt_tape_end(t);
    gt_tensor *g = NULL;
    GTT_OK(gt_tape_gradient(t, 1, (const gt_tensor *[]){y}, (const gt_tensor *[]){w}, 1,
                            (const gt_tensor *[]){p}, GT_UNCONNECTED_NONE, &g));
    /* row 0 <- w[1]; row 1 untouched; row 2 <- w[0] + w[2] + w[3]. */
    expect("gather grad duplicates", g, GT_F64, S(3, 2), (double[]){3, 4, 0, 0, 13, 16});
    gt_tape_free(t);

    /* float32 along axis 1 with 2-D indices; ones as the output gradient. */
    gt_tensor *q = gt_ones(GT_F32, S(2, 3));
    gt_tape *t2 = gt_tape_begin(NULL);
    gt_tape_watch(t2, q);
    gt_tensor *y2 = gt_gather(q, gt_tensor_new(GT_I64, S(2, 2), (int64_t[]){1, 1, 1, 0}), 1);
    gt_tape_end(t2);
    expect("gather grad axis 1", gt_gradient(t2, y2, q), GT_F32, S(2, 3),
           (double[]){1, 3, 0, 1, 3, 0});
    gt_tape_free(t2);

    /* Integer indices get no gradient (they are never recorded). */
    gt_tensor *fi = gt_tensor_new(GT_I32, S(1), (int32_t[]){1});
    gt_tape *t3 = gt_tape_begin(NULL);
    gt_tape_watch(t3, p);
    gt_tensor *y3 = gt_gather(p, fi, 0);
    gt_tape_end(t3);
    gt_tensor *g3[2];
    GTT_OK(gt_tape_gradient(t3, 1, (const gt_tensor *[]){y3}, NULL, 2, (const gt_tensor *[]){p, fi},
                            GT_UNCONNECTED_NONE, g3));
    expect("gather grad single", g3[0], GT_F64, S(3, 2), (double[]){0, 0, 1, 1, 0, 0});
    GTT_CHECK(g3[1] == NULL, "indices have no gradient");
    gt_tape_free(t3);
}

/* The scatter-add sums duplicates in a fixed order, so the gradient is bitwise the same for
 * any thread count (big enough to take the parallel path: 3 x 96 x 700 > 32768 elements). */
static void test_gather_grad_threads(void) {
    gt_rng rng = gt_rng_new(5);
    gt_tensor *p = gt_random_normal(S(3, 8, 700), 0, 1, GT_F32, &rng);
    gt_tensor *idx = gt_random_uniform(S(96), 0, 8, GT_I64, &rng);
    gt_tensor *w = gt_random_normal(S(3, 96, 700), 0, 1, GT_F32, &rng);
    gt_tensor *g[2];
    int saved = gt_get_num_threads();
    for (int k = 0; k < 2; k++) {
        gt_set_num_threads(k ? 2 : 1);
        gt_tape *t = gt_tape_begin(NULL);
        gt_tape_watch(t, p);
        gt_tensor *y = gt_gather(p, idx, 1);
        gt_tape_end(t);
        g[k] = NULL;
        GTT_OK(gt_tape_gradient(t, 1, (const gt_tensor *[]){y}, (const gt_tensor *[]){w}, 1,
                                (const gt_tensor *[]){p}, GT_UNCONNECTED_NONE, &g[k]));
        gt_tape_free(t);
    }
    gt_set_num_threads(saved);
    GTT_CHECK(gt_tensor_equal(g[0], g[1]), "gather gradient differs between 1 and 2 threads");
    /* Spot check one element against a direct sum in the same (increasing j) order. */
    const int64_t *ix = gt_tensor_data(idx);
    const float *wd = gt_tensor_data(w);
    float want = 0;
    for (int j = 0; j < 96; j++)
        if (ix[j] == 3)
            want += wd[(2 * 96 + j) * 700 + 11];
    GTT_CHECK(g[0] && gt_tensor_get(g[0], (2 * 8 + 3) * 700 + 11) == (double)want,
              "gather gradient element (2,3,11)");
}

static void test_one_hot(void) {
    gt_tensor *i = gt_tensor_new(GT_I32, S(4), (int32_t[]){0, 2, -1, 3});
    expect("one_hot f32", gt_one_hot(i, 3, 1, 0, GT_F32), GT_F32, S(4, 3),
           (double[]){1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0});
    expect("one_hot on/off i64", gt_one_hot(i, 3, 5, -2, GT_I64), GT_I64, S(4, 3),
           (double[]){5, -2, -2, -2, -2, 5, -2, -2, -2, -2, -2, -2});
    expect("one_hot bool 2-D",
           gt_one_hot(gt_tensor_new(GT_I64, S(2, 1), (int64_t[]){1, 0}), 2, 1, 0, GT_BOOL), GT_BOOL,
           S(2, 1, 2), (double[]){0, 1, 1, 0});
    expect("one_hot f64 scalar", gt_one_hot(gt_scalar_of(GT_I32, 1), 2, 0.25, 0.5, GT_F64), GT_F64,
           S(2), (double[]){0.5, 0.25});
    expect("one_hot i32", gt_one_hot(i, 4, 1, 0, GT_I32), GT_I32, S(4, 4),
           (double[]){1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    expect("one_hot depth 0", gt_one_hot(i, 0, 1, 0, GT_F32), GT_F32, S(4, 0), NULL);
    expect("one_hot empty", gt_one_hot(gt_zeros(GT_I32, S(0)), 3, 1, 0, GT_F32), GT_F32, S(0, 3),
           NULL);
    GTT_CHECK(!gt_one_hot(i, -1, 1, 0, GT_F32), "depth -1");
    GTT_ERROR_HAS("gt_one_hot: depth is -1; it must be >= 0");
    GTT_CHECK(!gt_one_hot(gt_ones(GT_F32, S(2)), 3, 1, 0, GT_F32), "float indices");
    GTT_ERROR_HAS("gt_one_hot: indices have dtype float32");
    /* Not differentiable: the tape has nothing to give (the input is integer anyway). */
    gt_tape *t = gt_tape_begin(NULL);
    gt_tensor *o = gt_one_hot(i, 3, 1, 0, GT_F32);
    gt_tape_end(t);
    GTT_CHECK(o && gt_tape_size(t) == 0, "one_hot of integer indices is not recorded");
    gt_tape_free(t);
}

/* ---- gradients with closed forms (the finite-difference checks live in cases_shape.c) ------- */

static void test_grads(void) {
    gt_tensor *x = gt_tensor_new(GT_F64, S(2, 2), (double[]){1, 2, 3, 4});
    gt_tensor *v = gt_tensor_new(GT_F64, S(2), (double[]){1, 2});
    gt_tape *t = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    gt_tape_watch(t, x);
    gt_tape_watch(t, v);
    gt_tensor *tiled = gt_tile(x, (const int64_t[]){3, 2});
    gt_tensor *padded = gt_pad(x, (const int64_t[]){1, 0, 2, 1}, 4);
    gt_tensor *sl = gt_slice(x, (const int64_t[]){0, 1}, (const int64_t[]){2, 1});
    gt_tensor *bc = gt_broadcast_to(v, S(3, 2));
    gt_tensor *tr = gt_transpose(x, NULL);
    gt_tensor *rs = gt_reshape(x, S(4));
    gt_tape_end(t);
    expect("tile grad = 6 per element", gt_gradient(t, tiled, x), GT_F64, S(2, 2),
           (double[]){6, 6, 6, 6});
    expect("pad grad = 1", gt_gradient(t, padded, x), GT_F64, S(2, 2), (double[]){1, 1, 1, 1});
    expect("slice grad", gt_gradient(t, sl, x), GT_F64, S(2, 2), (double[]){0, 1, 0, 1});
    expect("broadcast grad = 3", gt_gradient(t, bc, v), GT_F64, S(2), (double[]){3, 3});
    gt_tensor *gtr = NULL;
    GTT_OK(gt_tape_gradient(
        t, 1, (const gt_tensor *[]){tr},
        (const gt_tensor *[]){gt_tensor_new(GT_F64, S(2, 2), (double[]){1, 2, 3, 4})}, 1,
        (const gt_tensor *[]){x}, GT_UNCONNECTED_NONE, &gtr));
    expect("transpose grad", gtr, GT_F64, S(2, 2), (double[]){1, 3, 2, 4});
    expect("reshape grad", gt_gradient(t, rs, x), GT_F64, S(2, 2), (double[]){1, 1, 1, 1});
    gt_tape_free(t);

    /* Variables flow through the alias ops and concat. */
    gt_tensor *var = gt_variable(gt_tensor_new(GT_F32, S(2), (float[]){1, 2}), "v");
    gt_tape *t2 = gt_tape_begin(NULL);
    gt_tensor *c =
        gt_concat(2, (const gt_tensor *[]){var, gt_squeeze(gt_reshape(var, S(1, 2)), GT_ALL)}, 0);
    gt_tape_end(t2);
    expect("variable concat", c, GT_F32, S(4), (double[]){1, 2, 1, 2});
    expect("variable concat grad", gt_gradient(t2, c, var), GT_F32, S(2), (double[]){2, 2});
    gt_tape_free(t2);
    gt_tape *t3 = gt_tape_begin(NULL);
    gt_tensor *c3 =
        gt_stack(2, (const gt_tensor *[]){var, gt_squeeze(gt_expand_dims(var, 0), GT_ALL)}, 0);
    gt_tape_end(t3);
    expect("variable stack grad", gt_gradient(t3, c3, var), GT_F32, S(2), (double[]){2, 2});
    gt_tape_free(t3);
    gt_variable_free(var);
}

/* ---- Jacobians: the gradient rules are batchable (they take gy with a leading row axis) --- */

static gt_tensor *gidx;
static gt_tensor *j_reshape(gt_tensor *x) {
    return gt_reshape(x, S(3, -1));
}
static gt_tensor *j_expand(gt_tensor *x) {
    return gt_expand_dims(x, 1);
}
static gt_tensor *j_squeeze(gt_tensor *x) {
    return gt_squeeze(gt_reshape(x, S(2, 1, 3)), GT_AXES(1));
}
static gt_tensor *j_transpose(gt_tensor *x) {
    return gt_transpose(x, NULL);
}
static gt_tensor *j_concat(gt_tensor *x) {
    return gt_concat(2, (const gt_tensor *[]){x, gt_mul(x, x)}, 1);
}
static gt_tensor *j_stack(gt_tensor *x) {
    return gt_stack(2, (const gt_tensor *[]){gt_mul(x, x), x}, 1);
}
static gt_tensor *j_slice(gt_tensor *x) {
    return gt_slice(x, (const int64_t[]){1, 1}, (const int64_t[]){1, -1});
}
static gt_tensor *j_pad(gt_tensor *x) {
    return gt_pad(x, (const int64_t[]){1, 0, 0, 2}, 3);
}
static gt_tensor *j_tile(gt_tensor *x) {
    return gt_tile(x, (const int64_t[]){2, 2});
}
static gt_tensor *j_tile_many(gt_tensor *x) {
    return gt_tile(gt_reshape(x, S(1, 2, 1, 3, 1)), (const int64_t[]){2, 2, 2, 1, 2});
}
static gt_tensor *j_bcast(gt_tensor *x) {
    return gt_broadcast_to(gt_slice(x, (const int64_t[]){0, 0}, (const int64_t[]){1, -1}),
                           S(2, 2, 3));
}
static gt_tensor *j_gather(gt_tensor *x) {
    return gt_gather(x, gidx, 1);
}

/* Jacobians of y = f(x)^2 and of the gradient of sum(y) (which runs the rules' own rules),
 * vectorised (one batched sweep) against one sweep per row. */
static void check_jacobian(const char *name, gt_tensor *(*f)(gt_tensor *)) {
    gt_scope_begin();
    gt_tensor *x = gt_tensor_new(GT_F64, S(2, 3), (double[]){0.5, -1, 2, 1.5, -0.25, 3});
    gt_tape *t = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    gt_tape_watch(t, x);
    gt_tape *in = gt_tape_begin(NULL);
    gt_tape_watch(in, x);
    gt_tensor *fx = f(x), *y = gt_mul(fx, fx);
    gt_tape_end(in);
    gt_tensor *gx = gt_gradient(in, y, x);
    gt_tape_free(in);
    gt_tape_end(t);
    const gt_tensor *targets[2] = {y, gx};
    for (int k = 0; k < 2; k++) {
        gt_tensor *jv = NULL, *js = NULL;
        GTT_OK(gt_tape_jacobian_ex(t, targets[k], 1, (const gt_tensor *[]){x}, GT_UNCONNECTED_ZERO,
                                   true, &jv));
        GTT_OK(gt_tape_jacobian_ex(t, targets[k], 1, (const gt_tensor *[]){x}, GT_UNCONNECTED_ZERO,
                                   false, &js));
        bool ok = jv && js && gt_tensor_rank(jv) == gt_tensor_rank(js) &&
                  gt_tensor_size(jv) == gt_tensor_size(js);
        /* Same products and sums, possibly grouped differently by the batched reductions:
         * a few ulps at most on values of order 10. */
        for (int64_t i = 0; ok && i < gt_tensor_size(jv); i++)
            ok = fabs(gt_tensor_get(jv, i) - gt_tensor_get(js, i)) <= 1e-12;
        GTT_CHECK(ok, "%s: %s Jacobian vectorised != row by row", name, k ? "gradient" : "output");
        gt_error_clear();
    }
    gt_tape_free(t);
    gt_scope_end();
}

static void test_jacobians(void) {
    gidx = gt_keep(gt_tensor_new(GT_I32, S(2, 2), (int32_t[]){2, 0, 2, 2}));
    check_jacobian("reshape", j_reshape);
    check_jacobian("expand_dims", j_expand);
    check_jacobian("squeeze", j_squeeze);
    check_jacobian("transpose", j_transpose);
    check_jacobian("concat", j_concat);
    check_jacobian("stack", j_stack);
    check_jacobian("slice", j_slice);
    check_jacobian("pad", j_pad);
    check_jacobian("tile", j_tile);
    check_jacobian("tile (folded axes)", j_tile_many);
    check_jacobian("broadcast_to", j_bcast);
    check_jacobian("gather", j_gather);
    /* A closed form: d tile(x)/dx for x [2] tiled twice is [[1,0],[0,1],[1,0],[0,1]]. */
    gt_tensor *v = gt_tensor_new(GT_F64, S(2), (double[]){1, 2});
    gt_tape *t = gt_tape_begin(NULL);
    gt_tape_watch(t, v);
    gt_tensor *tv = gt_tile(v, (const int64_t[]){2});
    gt_tape_end(t);
    expect("tile jacobian", gt_tape_jacobian(t, tv, v), GT_F64, S(4, 2),
           (double[]){1, 0, 0, 1, 1, 0, 0, 1});
    gt_tape_free(t);
}

int main(void) {
    test_reshape();
    test_expand_squeeze();
    test_transpose();
    test_concat_stack();
    test_split();
    test_slice_pad();
    test_tile_broadcast();
    test_gather();
    test_gather_grad();
    test_gather_grad_threads();
    test_one_hot();
    test_grads();
    test_jacobians();
    return gtt_finish();
}
