/* Gradient checks for where, cast, identity, and the read of a variable. */
#include "gtt.h"

static gt_tensor *f_where(gt_tensor *const *x, void *u) {
    (void)u;
    return gt_where(gt_greater(x[0], gt_zeros_like(x[0])), gt_mul(x[0], x[1]), gt_sin(x[1]));
}
static gt_tensor *f_cast(gt_tensor *const *x, void *u) {
    (void)u;
    /* The checker works in float64, where a round trip through float32 would round away
     * more than its tolerance; f64 -> f64 still runs the cast op and its rule. The f32 <->
     * f64 paths are checked by value in test_tape. */
    return gt_mul(gt_cast(x[0], GT_F64), x[0]);
}
static gt_tensor *f_identity(gt_tensor *const *x, void *u) {
    (void)u;
    return gt_mul(gt_identity(x[0]), x[0]);
}

static void c_where(void) {
    gt_scope_begin();
    gt_tensor *x[2] = {gtt_randn(GT_SHAPE(3, 4), 1, 0, 5), gtt_randn(GT_SHAPE(4), 1, 0, 6)};
    gtt_gradcheck("where", f_where, NULL, 2, x, NULL);
    gt_scope_end();
}
static void c_cast(void) {
    gt_scope_begin();
    gt_tensor *x[1] = {gtt_randn(GT_SHAPE(2, 3), 1, 0, 7)};
    gtt_gradcheck("cast", f_cast, NULL, 1, x, NULL);
    gt_scope_end();
}
static void c_identity(void) {
    gt_scope_begin();
    gt_tensor *x[1] = {gtt_randn(GT_SHAPE(5), 1, 0, 8)};
    gtt_gradcheck("identity", f_identity, NULL, 1, x, NULL);
    gt_scope_end();
}

const gtt_case gtt_cases_misc[] = {
    {"where", c_where}, {"cast", c_cast}, {"identity", c_identity}, {NULL, NULL}};

/* read_variable: first and second derivatives of v^3 w.r.t. a variable through nested
 * tapes, against the closed forms 3v^2 and 6v (exact in float64 up to rounding). */
static void c_read(void) {
    gt_scope_begin();
    gt_tensor *x0 = gtt_randn(GT_SHAPE(3), 1, 0, 9);
    gt_tensor *v = gt_variable(x0, "v");
    gt_tape *outer = gt_tape_begin(NULL);
    gt_tape *inner = gt_tape_begin(NULL);
    gt_tensor *y = gt_reduce_sum(gt_mul(gt_mul(v, v), v), GT_ALL, false);
    gt_tape_end(inner);
    gt_tensor *g = gt_gradient(inner, y, v);
    gt_tensor *gs = gt_reduce_sum(g, GT_ALL, false);
    gt_tape_end(outer);
    gt_tensor *h = gt_gradient(outer, gs, v);
    GTT_OK(g != NULL && h != NULL);
    for (int64_t i = 0; g && h && i < 3; i++) {
        double xi = gt_tensor_get(x0, i);
        GTT_CLOSE(gt_tensor_get(g, i), 3 * xi * xi, 1e-12, 1e-12);
        GTT_CLOSE(gt_tensor_get(h, i), 6 * xi, 1e-12, 1e-12);
    }
    gt_tape_free(inner);
    gt_tape_free(outer);
    gt_variable_free(v);
    gt_scope_end();
}

const gtt_case gtt_cases_autodiff[] = {{"read_variable", c_read}, {NULL, NULL}};
