/* Gradient checks for the reductions: every fast path (all axes, last axis, first axis), a
 * middle axis, two separated axes (two passes), keepdims, negative axes, scalars and size-0
 * shapes; reduce_prod also at exact zeros. */
#include "gtt.h"

typedef struct rcfg {
    int rank;
    int64_t shape[3];
    int naxes; /* -1: GT_ALL */
    int axes[3];
    bool keepdims;
} rcfg;

static const rcfg cfgs[] = {
    {3, {2, 3, 4}, -1, {0}, false},    /* all axes */
    {3, {2, 3, 4}, -1, {0}, true},     /* all axes, keepdims */
    {2, {5, 6}, 1, {0}, false},        /* first axis: column sums */
    {2, {5, 6}, 1, {-1}, true},        /* last axis: row sums, keepdims */
    {3, {2, 3, 4}, 1, {1}, false},     /* middle axis */
    {3, {2, 3, 4}, 2, {0, -1}, false}, /* separated axes: two passes */
    {3, {2, 3, 4}, 2, {2, 1}, true},   /* unordered axes */
    {1, {7}, 1, {0}, false},           /* vector */
    {0, {0}, -1, {0}, false},          /* scalar: identity */
    {2, {0, 3}, 1, {0}, false},        /* empty reduced axis: output [3] */
    {2, {3, 0}, 1, {0}, false},        /* empty kept axis: output [0] */
    {3, {2, 0, 3}, 1, {1}, true},      /* empty middle axis */
};
#define NCFG (sizeof cfgs / sizeof *cfgs)

typedef gt_tensor *(*red_fn)(const gt_tensor *, int, const int *, bool);

typedef struct rcall {
    red_fn fn;
    const rcfg *c;
} rcall;

static gt_tensor *f_red(gt_tensor *const *x, void *u) {
    const rcall *k = u;
    if (k->c->naxes < 0) return k->fn(x[0], GT_ALL, k->c->keepdims);
    return k->fn(x[0], k->c->naxes, k->c->axes, k->c->keepdims);
}

/* Inputs uniform in [lo, hi); for max/min the values are continuous, so ties (kinks) have
 * probability zero and the finite differences see a smooth function. */
static void sweep(const char *name, red_fn fn, double lo, double hi) {
    for (size_t i = 0; i < NCFG; i++) {
        gt_scope_begin();
        rcall k = {fn, &cfgs[i]};
        gt_tensor *x = gtt_rand_uniform(cfgs[i].rank, cfgs[i].shape, lo, hi, 300 + i);
        gtt_gradcheck(name, f_red, &k, 1, &x, NULL);
        gt_scope_end();
    }
}

static void c_sum(void) { sweep("reduce_sum", gt_reduce_sum, -2, 2); }
static void c_mean(void) { sweep("reduce_mean", gt_reduce_mean, -2, 2); }
static void c_max(void) { sweep("reduce_max", gt_reduce_max, -2, 2); }
static void c_min(void) { sweep("reduce_min", gt_reduce_min, -2, 2); }
static void c_lse(void) { sweep("reduce_logsumexp", gt_reduce_logsumexp, -3, 3); }

static void c_prod(void) {
    /* Magnitudes in [0.5, 1.5] with both signs keep products of 24 values well scaled. */
    for (size_t i = 0; i < NCFG; i++) {
        gt_scope_begin();
        rcall k = {gt_reduce_prod, &cfgs[i]};
        gt_tensor *m = gtt_rand_uniform(cfgs[i].rank, cfgs[i].shape, 0.5, 1.5, 400 + i);
        gt_tensor *s = gt_sign(gtt_rand_uniform(cfgs[i].rank, cfgs[i].shape, -1, 1, 500 + i));
        gt_tensor *x = gt_mul(m, s);
        gtt_gradcheck("reduce_prod", f_red, &k, 1, &x, NULL);
        gt_scope_end();
    }
    /* Exact zeros. prod is multilinear, so central differences are exact in each single
     * variable even at a zero. One zero per row: first and second order. */
    static const rcfg rows = {2, {3, 4}, 1, {1}, false};
    rcall k = {gt_reduce_prod, &rows};
    gt_scope_begin();
    const double one0[] = {0.0, 1.5, -0.7, 1.2, 0.8, 0.0, 1.1, -1.3, 1.4, 0.9, -0.6, 0.0};
    gt_tensor *x1 = gt_tensor_new(GT_F64, 2, rows.shape, one0);
    gtt_gradcheck("reduce_prod", f_red, &k, 1, &x1, NULL);
    /* Two and three zeros in a row: the first derivative is exact (all zeros but the product
     * of the others). first_only: between two zeros of one group the exact second derivative
     * is the product of the rest, which neither this rule nor TensorFlow's gives (TF's
     * cumprod gradient divides by the zero); documented in the op. */
    const double two0[] = {0.0, 1.5, 0.0, 1.2, 0.0, 0.0, 1.1, 0.0, 1.4, 0.9, -0.6, 0.7};
    gt_tensor *x2 = gt_tensor_new(GT_F64, 2, rows.shape, two0);
    gtt_gradcheck("reduce_prod", f_red, &k, 1, &x2, &(gtt_grad_opts){.first_only = true});
    gt_scope_end();
}

const gtt_case gtt_cases_reduce[] = {
    {"reduce_sum", c_sum},   {"reduce_mean", c_mean}, {"reduce_max", c_max},
    {"reduce_min", c_min},   {"reduce_prod", c_prod}, {"reduce_logsumexp", c_lse},
    {NULL, NULL}};
