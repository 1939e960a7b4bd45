/* Gradient checks for the binary arithmetic ops, including broadcasting and size-0 shapes. */
#include "gtt.h"

static gt_tensor *f_add(gt_tensor *const *x, void *u) { (void)u; return gt_add(x[0], x[1]); }
static gt_tensor *f_sub(gt_tensor *const *x, void *u) { (void)u; return gt_sub(x[0], x[1]); }
static gt_tensor *f_mul(gt_tensor *const *x, void *u) { (void)u; return gt_mul(x[0], x[1]); }
static gt_tensor *f_div(gt_tensor *const *x, void *u) { (void)u; return gt_div(x[0], x[1]); }
static gt_tensor *f_pow(gt_tensor *const *x, void *u) { (void)u; return gt_pow(x[0], x[1]); }
static gt_tensor *f_max(gt_tensor *const *x, void *u) { (void)u; return gt_maximum(x[0], x[1]); }
static gt_tensor *f_min(gt_tensor *const *x, void *u) { (void)u; return gt_minimum(x[0], x[1]); }
static gt_tensor *f_sqd(gt_tensor *const *x, void *u) {
    (void)u;
    return gt_squared_difference(x[0], x[1]);
}

/* Shape pairs: same, row broadcast, column broadcast, both broadcast, scalar, size 0. */
static const int64_t shapes[][2][3] = {
    {{2, 3, 0}, {2, 3, 0}}, {{2, 3, 0}, {3, 0, 0}}, {{2, 1, 0}, {1, 3, 0}},
    {{4, 0, 0}, {0, 0, 0}}, {{0, 3, 0}, {3, 0, 0}}, {{2, 3, 4}, {3, 1, 0}},
};
static const int ranks[][2] = {{2, 2}, {2, 1}, {2, 2}, {1, 0}, {2, 1}, {3, 2}};

/* Runs f on every shape pair; inputs drawn from [lo, hi) (positive for div/pow). */
static void sweep(const char *name, gtt_fn f, double lo0, double hi0, double lo1, double hi1) {
    for (size_t s = 0; s < sizeof ranks / sizeof *ranks; s++) {
        gt_scope_begin();
        gt_tensor *x[2] = {gtt_rand_uniform(ranks[s][0], shapes[s][0], lo0, hi0, 11 + s),
                           gtt_rand_uniform(ranks[s][1], shapes[s][1], lo1, hi1, 29 + s)};
        gtt_gradcheck(name, f, NULL, 2, x, NULL);
        gt_scope_end();
    }
}

static void c_add(void) { sweep("add", f_add, -2, 2, -2, 2); }
static void c_sub(void) { sweep("sub", f_sub, -2, 2, -2, 2); }
static void c_mul(void) { sweep("mul", f_mul, -2, 2, -2, 2); }
static void c_div(void) { sweep("div", f_div, -2, 2, 0.5, 2); }
static void c_pow(void) { sweep("pow", f_pow, 0.5, 2, -1.5, 1.5); }
/* maximum/minimum: disjoint ranges keep inputs away from the tie (a kink). */
static void c_max(void) {
    sweep("maximum", f_max, 1, 2, -2, -1);
    sweep("maximum", f_max, -2, -1, 1, 2);
}
static void c_min(void) {
    sweep("minimum", f_min, 1, 2, -2, -1);
    sweep("minimum", f_min, -2, -1, 1, 2);
}
static void c_sqd(void) { sweep("squared_difference", f_sqd, -2, 2, -2, 2); }

const gtt_case gtt_cases_binary[] = {
    {"add", c_add}, {"sub", c_sub},     {"mul", c_mul},     {"div", c_div},
    {"pow", c_pow}, {"maximum", c_max}, {"minimum", c_min}, {"squared_difference", c_sqd},
    {NULL, NULL}};
