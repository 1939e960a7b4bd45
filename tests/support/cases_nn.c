/* Gradient checks (first and second order, float64) for softmax, log_softmax, their fused
 * gradient ops and the three cross-entropies, over several axes, ranks and a size-0 batch. */
#include "core/internal.h"
#include "gtt.h"

typedef struct axcase {
    int rank;
    int64_t shape[3];
    int axis;
} axcase;

static const axcase axcases[] = {
    {2, {3, 4, 0}, -1}, {2, {3, 4, 0}, 0}, {3, {2, 3, 4}, 1}, {1, {5, 0, 0}, 0},
    {2, {0, 3, 0}, -1}, {3, {2, 3, 2}, -1}, {2, {3, 1, 0}, 1},
};
#define NAX (sizeof axcases / sizeof *axcases)

static gt_tensor *f_softmax(gt_tensor *const *x, void *u) { return gt_softmax(x[0], *(int *)u); }
static gt_tensor *f_log_softmax(gt_tensor *const *x, void *u) {
    return gt_log_softmax(x[0], *(int *)u);
}

static void run_axes(const char *name, gtt_fn f) {
    for (size_t i = 0; i < NAX; i++) {
        const axcase *a = &axcases[i];
        gt_scope_begin();
        gt_tensor *x = gtt_randn(a->rank, a->shape, 1.5, 0.0, 100 + i);
        int axis = a->axis;
        gtt_gradcheck(name, f, &axis, 1, &x, NULL);
        gt_scope_end();
    }
}

static void c_softmax(void) { run_axes("softmax", f_softmax); }
static void c_log_softmax(void) { run_axes("log_softmax", f_log_softmax); }

/* The fused gradient ops, applied directly as f(dy, y) (any y checks the algebra). */
static const gt__op *op_named(const char *name) {
    for (int i = 0; i < gt__op_count(); i++)
        if (!strcmp(gt__op_at(i)->name, name)) return gt__op_at(i);
    return NULL;
}
typedef struct gop {
    const char *name;
    int axis;
} gop;
static gt_tensor *f_grad_op(gt_tensor *const *x, void *u) {
    const gop *g = u;
    const gt__op *op = op_named(g->name);
    int attr = g->axis; /* the ops' attribute block is one int: the axis */
    return op ? gt__apply2(op, x[0], x[1], &attr) : NULL;
}
static void run_grad_op(const char *name) {
    for (size_t i = 0; i < NAX; i++) {
        const axcase *a = &axcases[i];
        gt_scope_begin();
        gt_tensor *x[2] = {gtt_randn(a->rank, a->shape, 1.0, 0.0, 200 + i),
                           gtt_rand_uniform(a->rank, a->shape, -1.5, 0.5, 300 + i)};
        gop g = {name, a->axis};
        gtt_gradcheck(name, f_grad_op, &g, 2, x, NULL);
        gt_scope_end();
    }
}
static void c_softmax_grad(void) { run_grad_op("softmax_grad"); }
static void c_log_softmax_grad(void) { run_grad_op("log_softmax_grad"); }

/* Cross-entropy: labels must sum to 1 along the axis for TensorFlow's logits gradient
 * (softmax - labels) to be the derivative of the loss, so they are a softmax themselves.
 * Both inputs are checked: the labels' gradient -log_softmax is exact for any labels. */
static gt_tensor *f_xent(gt_tensor *const *x, void *u) {
    return gt_softmax_cross_entropy_with_logits(x[0], x[1], *(int *)u);
}
static void c_xent(void) {
    for (size_t i = 0; i < NAX; i++) {
        const axcase *a = &axcases[i];
        gt_scope_begin();
        gt_tensor *labels = gt_softmax(gtt_randn(a->rank, a->shape, 1.0, 0.0, 400 + i), a->axis);
        gt_tensor *x[2] = {labels, gtt_randn(a->rank, a->shape, 1.5, 0.0, 500 + i)};
        int axis = a->axis;
        gtt_gradcheck("softmax_cross_entropy_with_logits", f_xent, &axis, 2, x, NULL);
        gt_scope_end();
    }
}

/* Sparse: integer labels are not differentiated (gtt_gradcheck skips non-f64 inputs). */
static gt_tensor *f_sparse(gt_tensor *const *x, void *u) {
    (void)u;
    return gt_sparse_softmax_cross_entropy_with_logits(x[0], x[1]);
}
static void c_sparse(void) {
    static const struct {
        int rank;
        int64_t shape[3];
        gt_dtype ldt;
    } cs[] = {{2, {4, 5, 0}, GT_I32}, {3, {2, 3, 4}, GT_I64}, {1, {5, 0, 0}, GT_I32},
              {2, {0, 5, 0}, GT_I64}, {2, {3, 1, 0}, GT_I32}};
    for (size_t i = 0; i < sizeof cs / sizeof *cs; i++) {
        gt_scope_begin();
        int64_t classes = cs[i].shape[cs[i].rank - 1];
        gt_rng r = gt_rng_new(600 + i);
        gt_tensor *labels = gt_random_uniform(cs[i].rank - 1, cs[i].shape, 0, (double)classes,
                                              cs[i].ldt, &r);
        gt_tensor *x[2] = {labels, gtt_randn(cs[i].rank, cs[i].shape, 1.5, 0.0, 700 + i)};
        gtt_gradcheck("sparse_softmax_cross_entropy_with_logits", f_sparse, NULL, 2, x, NULL);
        gt_scope_end();
    }
}

static gt_tensor *f_sigxent(gt_tensor *const *x, void *u) {
    (void)u;
    return gt_sigmoid_cross_entropy_with_logits(x[0], x[1]);
}
static void c_sigxent(void) {
    static const int64_t shp[][2] = {{2, 3}, {4, 0}, {0, 0}, {0, 3}};
    static const int rk[] = {2, 1, 0, 2};
    for (size_t i = 0; i < sizeof rk / sizeof *rk; i++) {
        gt_scope_begin();
        gt_tensor *x[2] = {gtt_rand_uniform(rk[i], shp[i], 0, 1, 800 + i),
                           gtt_randn(rk[i], shp[i], 3.0, 0.0, 900 + i)};
        gtt_gradcheck("sigmoid_cross_entropy_with_logits", f_sigxent, NULL, 2, x, NULL);
        gt_scope_end();
    }
}

const gtt_case gtt_cases_nn[] = {
    {"softmax", c_softmax},
    {"log_softmax", c_log_softmax},
    {"softmax_grad", c_softmax_grad},
    {"log_softmax_grad", c_log_softmax_grad},
    {"softmax_cross_entropy_with_logits", c_xent},
    {"sparse_softmax_cross_entropy_with_logits", c_sparse},
    {"sigmoid_cross_entropy_with_logits", c_sigxent},
    {NULL, NULL},
};
