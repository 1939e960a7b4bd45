/* Gradient checks for matmul: the four transpose combinations, batched products with
 * broadcast batch axes, and size-0 dimensions (k = 0 included). */
#include "gtt.h"

typedef struct mcfg {
    int ra, rb;
    int64_t sa[4], sb[4];
    bool ta, tb;
} mcfg;

static const mcfg cfgs[] = {
    {2, 2, {3, 4}, {4, 2}, false, false},
    {2, 2, {3, 4}, {2, 4}, false, true},
    {2, 2, {4, 3}, {4, 2}, true, false},
    {2, 2, {4, 3}, {2, 4}, true, true},
    {3, 3, {2, 3, 4}, {2, 4, 2}, false, false},       /* batched, same batch */
    {4, 3, {2, 1, 3, 4}, {3, 4, 2}, false, false},    /* batch broadcast both ways */
    {4, 3, {2, 1, 4, 3}, {3, 2, 4}, true, true},      /* ... with both transposes */
    {2, 3, {3, 4}, {2, 4, 2}, false, false},          /* rank-2 a against a batch of b */
    {3, 2, {2, 3, 4}, {2, 4}, false, true},           /* batch of a folded into rows */
    {2, 2, {3, 0}, {0, 2}, false, false},             /* k = 0: zeros, zero gradients */
    {2, 2, {0, 4}, {4, 2}, false, false},             /* m = 0 */
    {3, 3, {0, 2, 3}, {1, 3, 2}, false, false},       /* empty batch */
};

static gt_tensor *f_mm(gt_tensor *const *x, void *u) {
    const mcfg *c = u;
    return gt_matmul(x[0], x[1], c->ta, c->tb);
}

static void c_matmul(void) {
    for (size_t i = 0; i < sizeof cfgs / sizeof *cfgs; i++) {
        gt_scope_begin();
        gt_tensor *x[2] = {gtt_randn(cfgs[i].ra, cfgs[i].sa, 1.0, 0.0, 600 + i),
                           gtt_randn(cfgs[i].rb, cfgs[i].sb, 1.0, 0.0, 700 + i)};
        gtt_gradcheck("matmul", f_mm, (void *)&cfgs[i], 2, x, NULL);
        gt_scope_end();
    }
}

const gtt_case gtt_cases_matmul[] = {{"matmul", c_matmul}, {NULL, NULL}};
