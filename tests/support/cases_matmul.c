/* Gradient checks for matmul: the four transpose combinations, batched products with
 * broadcast batch axes, and size-0 dimensions (k = 0 included); matmul_bias_act with and
 * without relu. */
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

/* matmul_bias_act: [m, k] x [k, n] + [n], with and without relu; pre-activations are random
 * normals of spread ~1, so none lies within the finite-difference step of relu's kink. Also
 * k = 0 (the bias alone) and m = 0. */
typedef struct bcfg {
    int64_t m, k, n;
} bcfg;

static const bcfg bcfgs[] = {{3, 4, 2}, {5, 7, 9}, {1, 3, 1}, {3, 0, 2}, {0, 4, 2}};

typedef struct bcase {
    const bcfg *c;
    bool relu;
} bcase;

static gt_tensor *f_mmb(gt_tensor *const *x, void *u) {
    const bcase *b = u;
    return gt_matmul_bias_act(x[0], x[1], x[2], b->relu);
}

static void c_matmul_bias_act(void) {
    for (size_t i = 0; i < sizeof bcfgs / sizeof *bcfgs; i++)
        for (int relu = 0; relu < 2; relu++) {
            gt_scope_begin();
            const bcfg *c = &bcfgs[i];
            bcase b = {c, relu};
            gt_tensor *x[3] = {gtt_randn(2, (int64_t[]){c->m, c->k}, 1.0, 0.0, 800 + i),
                               gtt_randn(2, (int64_t[]){c->k, c->n}, 0.7, 0.0, 820 + i),
                               gtt_randn(1, (int64_t[]){c->n}, 0.5, 0.0, 840 + i)};
            gtt_gradcheck("matmul_bias_act", f_mmb, &b, 3, x, NULL);
            gt_scope_end();
        }
}

const gtt_case gtt_cases_matmul[] = {
    {"matmul", c_matmul}, {"matmul_bias_act", c_matmul_bias_act}, {NULL, NULL}};
