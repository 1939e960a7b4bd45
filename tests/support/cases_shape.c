/* Gradient checks for the shape ops. Each op's output is squared (y*y) before the weighted
 * sum, so the second-order check differentiates through the op's gradient rule (a linear op
 * alone has a constant gradient). Shapes include size-0 axes where the op allows them. */
#include "gtt.h"

static gt_tensor *sq(gt_tensor *y) {
    return gt_mul(y, y);
}

#define R(...) GT_SHAPE(__VA_ARGS__)

/* Runs f on one float64 input drawn from N(0,1). */
static void check1(const char *name, gtt_fn f, void *u, int rank, const int64_t *shape,
                   uint64_t seed) {
    gt_scope_begin();
    gt_tensor *x[1] = {gtt_randn(rank, shape, 1.0, 0.0, seed)};
    gtt_gradcheck(name, f, u, 1, x, NULL);
    gt_scope_end();
}

/* ---- reshape / expand_dims / squeeze ----------------------------------------------------------
 */

typedef struct {
    int rank;
    int64_t shape[8];
} shape_u;

static gt_tensor *f_reshape(gt_tensor *const *x, void *u) {
    shape_u *s = u;
    return sq(gt_reshape(x[0], s->rank, s->shape));
}
static void c_reshape(void) {
    check1("reshape", f_reshape, &(shape_u){2, {3, -1}}, R(2, 3, 1), 1);
    check1("reshape", f_reshape, &(shape_u){0, {0}}, R(1, 1), 2);
    check1("reshape", f_reshape, &(shape_u){3, {0, 2, -1}}, R(0, 4), 3);
}

static gt_tensor *f_expand(gt_tensor *const *x, void *u) {
    return sq(gt_expand_dims(x[0], *(int *)u));
}
static void c_expand_dims(void) {
    check1("expand_dims", f_expand, &(int){1}, R(2, 3), 4);
    check1("expand_dims", f_expand, &(int){-1}, R(0, 3), 5);
}

static gt_tensor *f_squeeze(gt_tensor *const *x, void *u) {
    int *ax = u;
    return sq(ax[0] < 0 ? gt_squeeze(x[0], GT_ALL) : gt_squeeze(x[0], 1, ax));
}
static void c_squeeze(void) {
    check1("squeeze", f_squeeze, (int[]){-1}, R(1, 3, 1, 2), 6);
    check1("squeeze", f_squeeze, (int[]){2}, R(0, 3, 1), 7);
}

/* ---- transpose ----------------------------------------------------------------------------------
 */

static gt_tensor *f_transpose(gt_tensor *const *x, void *u) {
    return sq(gt_transpose(x[0], u));
}
static void c_transpose(void) {
    check1("transpose", f_transpose, NULL, R(3, 4), 8);
    check1("transpose", f_transpose, (int[]){1, 2, 0}, R(2, 3, 2), 9);
    check1("transpose", f_transpose, (int[]){2, 0, 1}, R(2, 0, 3), 10);
}

/* ---- concat / stack
 * ------------------------------------------------------------------------------ */

static gt_tensor *f_concat(gt_tensor *const *x, void *u) {
    return sq(gt_concat(3, (const gt_tensor *const *)x, *(int *)u));
}
static gt_tensor *f_stack(gt_tensor *const *x, void *u) {
    return sq(gt_stack(3, (const gt_tensor *const *)x, *(int *)u));
}
static void three(const char *name, gtt_fn f, int axis, const int64_t (*shapes)[2]) {
    gt_scope_begin();
    gt_tensor *x[3];
    for (int i = 0; i < 3; i++)
        x[i] = gtt_randn(2, shapes[i], 1.0, 0.0, 20 + (uint64_t)i);
    gtt_gradcheck(name, f, &axis, 3, x, NULL);
    gt_scope_end();
}
static void c_concat(void) {
    three("concat", f_concat, 0, (const int64_t[][2]){{1, 3}, {2, 3}, {0, 3}});
    three("concat", f_concat, -1, (const int64_t[][2]){{2, 2}, {2, 1}, {2, 3}});
}
static void c_stack(void) {
    three("stack", f_stack, 0, (const int64_t[][2]){{2, 3}, {2, 3}, {2, 3}});
    three("stack", f_stack, 2, (const int64_t[][2]){{2, 3}, {2, 3}, {2, 3}});
    three("stack", f_stack, 1, (const int64_t[][2]){{0, 3}, {0, 3}, {0, 3}});
}

/* split is not an op of its own: its parts are slices, checked through a concat of them. */
static gt_tensor *f_split(gt_tensor *const *x, void *u) {
    (void)u;
    gt_tensor *p[3];
    if (!gt_split(x[0], 3, (const int64_t[]){1, -1, 2}, 1, p))
        return NULL;
    /* Different weights per part so a mixed-up part would show. */
    return gt_concat(3, (const gt_tensor *const[]){sq(p[2]), p[0], gt_mul(p[1], p[1])}, 1);
}

/* ---- slice / pad / tile / broadcast_to --------------------------------------------------------
 */

typedef struct {
    int64_t a[16], b[8];
} pair_u;

static gt_tensor *f_slice(gt_tensor *const *x, void *u) {
    pair_u *p = u;
    return sq(gt_slice(x[0], p->a, p->b));
}
static void c_slice(void) {
    check1("slice", f_slice, &(pair_u){{1, 0}, {2, -1}}, R(4, 3), 30);
    check1("slice", f_slice, &(pair_u){{0, 1, 1}, {-1, 0, 2}}, R(2, 3, 3), 31);
    check1("slice", f_split, NULL, R(2, 6), 32);
}

static gt_tensor *f_pad(gt_tensor *const *x, void *u) {
    pair_u *p = u;
    return sq(gt_pad(x[0], p->a, 1.5));
}
static void c_pad(void) {
    check1("pad", f_pad, &(pair_u){.a = {1, 2, 0, 1}}, R(2, 3), 33);
    check1("pad", f_pad, &(pair_u){.a = {0, 0, 2, 1, 1, 0}}, R(2, 0, 2), 34);
}

static gt_tensor *f_tile(gt_tensor *const *x, void *u) {
    pair_u *p = u;
    return sq(gt_tile(x[0], p->a));
}
static void c_tile(void) {
    check1("tile", f_tile, &(pair_u){.a = {2, 3}}, R(2, 3), 35);
    check1("tile", f_tile, &(pair_u){.a = {1, 2, 1}}, R(2, 1, 3), 36);
    check1("tile", f_tile, &(pair_u){.a = {0, 2}}, R(2, 2), 37);
    /* Five tiled axes: the gradient's one-view reshape would need rank 10, so it folds one
     * axis at a time. */
    check1("tile", f_tile, &(pair_u){.a = {2, 2, 1, 2, 2, 2}}, R(1, 2, 2, 1, 2, 1), 38);
}

static gt_tensor *f_bcast(gt_tensor *const *x, void *u) {
    shape_u *s = u;
    return sq(gt_broadcast_to(x[0], s->rank, s->shape));
}
static void c_broadcast_to(void) {
    check1("broadcast_to", f_bcast, &(shape_u){3, {2, 3, 4}}, R(3, 1), 40);
    check1("broadcast_to", f_bcast, &(shape_u){2, {0, 3}}, R(3), 41);
    check1("broadcast_to", f_bcast, &(shape_u){2, {2, 3}}, R(2, 3), 42);
}

/* ---- gather / gather_grad -----------------------------------------------------------------------
 */

typedef struct {
    int axis;
    gt_tensor *idx;
} gather_u;

static gt_tensor *f_gather(gt_tensor *const *x, void *u) {
    gather_u *g = u;
    return sq(gt_gather(x[0], g->idx, g->axis));
}
static void c_gather(void) {
    gt_scope_begin();
    /* Duplicate indices: their gradients must add up. */
    gather_u a = {0, gt_tensor_new(GT_I32, R(4), (int32_t[]){2, 0, 2, 2})};
    check1("gather", f_gather, &a, R(3, 2), 50);
    gather_u b = {1, gt_tensor_new(GT_I64, R(2, 2), (int64_t[]){1, 1, 0, 2})};
    check1("gather", f_gather, &b, R(2, 3, 2), 51);
    gather_u c = {-1, gt_tensor_new(GT_I32, R(0), NULL)};
    check1("gather", f_gather, &c, R(2, 3), 52);
    gt_scope_end();
}

/* gather_grad is reached as the gradient of a gather: f(u) = d/dp sum(gather(p, idx) * u). */
static gt_tensor *f_gather_grad(gt_tensor *const *x, void *u) {
    gather_u *g = u;
    gt_tensor *p = gt_zeros(GT_F64, R(3, 2));
    gt_tape *t = gt_tape_begin(NULL);
    gt_tape_watch(t, p);
    gt_tensor *y = gt_reduce_sum(gt_mul(gt_gather(p, g->idx, g->axis), x[0]), GT_ALL, false);
    gt_tape_end(t);
    gt_tensor *gp = gt_gradient(t, y, p);
    gt_tape_free(t);
    return sq(gp);
}
static void c_gather_grad(void) {
    gt_scope_begin();
    gather_u a = {0, gt_tensor_new(GT_I64, R(2, 2), (int64_t[]){1, 1, 0, 1})};
    check1("gather_grad", f_gather_grad, &a, R(2, 2, 2), 53);
    gather_u b = {1, gt_tensor_new(GT_I32, R(3), (int32_t[]){1, 0, 1})};
    check1("gather_grad", f_gather_grad, &b, R(3, 3), 54);
    gt_scope_end();
}

const gtt_case gtt_cases_shape[] = {{"reshape", c_reshape},
                                    {"expand_dims", c_expand_dims},
                                    {"squeeze", c_squeeze},
                                    {"transpose", c_transpose},
                                    {"concat", c_concat},
                                    {"stack", c_stack},
                                    {"slice", c_slice},
                                    {"pad", c_pad},
                                    {"tile", c_tile},
                                    {"broadcast_to", c_broadcast_to},
                                    {"gather", c_gather},
                                    {"gather_grad", c_gather_grad},
                                    {NULL, NULL}};
