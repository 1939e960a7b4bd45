/* Jacobians, batch Jacobians, Hessians, custom gradients, recompute_grad and forward mode
 * (TensorFlow's tf.GradientTape.jacobian/batch_jacobian, tf.custom_gradient,
 * tf.recompute_grad and tf.autodiff.ForwardAccumulator). */
#include "gtt.h"

#include <stdlib.h>
#include <time.h>

/* A small tanh MLP in float64: [n,4] -> 8 -> 3. */
typedef struct {
    gt_tensor *w1, *b1, *w2, *b2;
} mlp;

static mlp mlp_new(int in, int hidden, int out, uint64_t seed) {
    mlp m;
    m.w1 = gt_variable(gtt_randn(GT_SHAPE(in, hidden), 0.5, 0, seed), "w1");
    m.b1 = gt_variable(gtt_randn(GT_SHAPE(hidden), 0.1, 0, seed + 1), "b1");
    m.w2 = gt_variable(gtt_randn(GT_SHAPE(hidden, out), 0.5, 0, seed + 2), "w2");
    m.b2 = gt_variable(gtt_randn(GT_SHAPE(out), 0.1, 0, seed + 3), "b2");
    return m;
}
static void mlp_free(mlp *m) {
    gt_variable_free(m->w1);
    gt_variable_free(m->b1);
    gt_variable_free(m->w2);
    gt_variable_free(m->b2);
}
static gt_tensor *mlp_call(const mlp *m, const gt_tensor *x) {
    gt_tensor *h = gt_tanh(gt_add(gt_matmul(x, m->w1, false, false), m->b1));
    return gt_add(gt_matmul(h, m->w2, false, false), m->b2);
}

/* Jacobian shapes follow TensorFlow: target.shape + source.shape; it matches per-element
 * gradients and finite differences. */
static void test_jacobian_mlp(void) {
    gt_scope_begin();
    mlp m = mlp_new(4, 8, 3, 10);
    gt_tensor *x = gtt_randn(GT_SHAPE(2, 4), 1, 0, 20);
    gt_tape *t = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    gt_tape_watch(t, x);
    gt_tensor *y = mlp_call(&m, x);
    gt_tape_end(t);
    gt_tensor *jx = gt_tape_jacobian(t, y, x), *jw = gt_tape_jacobian(t, y, m.w1);
    GTT_CHECK(jx && gt_tensor_rank(jx) == 4 && gt_tensor_dim(jx, 0) == 2 && gt_tensor_dim(jx, 1) == 3 &&
                  gt_tensor_dim(jx, 2) == 2 && gt_tensor_dim(jx, 3) == 4, "jacobian shape [2,3,2,4]");
    GTT_CHECK(jw && gt_tensor_rank(jw) == 4 && gt_tensor_dim(jw, 2) == 4 && gt_tensor_dim(jw, 3) == 8,
              "jacobian w.r.t. the kernel [2,3,4,8]");
    /* Finite differences in float64, h = 1e-6: truncation ~1e-12, rounding ~1e-10. */
    int bad = 0;
    double xv[8];
    gt_tensor_to_f64(x, xv, 8);
    for (int k = 0; k < 8; k++) {
        double save = xv[k];
        xv[k] = save + 1e-6;
        gt_tensor *yp = mlp_call(&m, gt_tensor_new(GT_F64, GT_SHAPE(2, 4), xv));
        xv[k] = save - 1e-6;
        gt_tensor *ym = mlp_call(&m, gt_tensor_new(GT_F64, GT_SHAPE(2, 4), xv));
        xv[k] = save;
        for (int r = 0; r < 6; r++) {
            double fd = (gt_tensor_get(yp, r) - gt_tensor_get(ym, r)) / 2e-6;
            double an = gt_tensor_get(jx, r * 8 + k);
            if (fabs(fd - an) > 1e-7 + 1e-6 * fabs(fd)) bad++;
        }
    }
    GTT_CHECK(bad == 0, "%d Jacobian entries differ from finite differences", bad);
    /* The batch Jacobian is the diagonal blocks: [2,3,4] with jx[i,:,i,:]. */
    gt_tensor *bj = gt_tape_batch_jacobian(t, y, x);
    GTT_CHECK(bj && gt_tensor_rank(bj) == 3 && gt_tensor_dim(bj, 0) == 2 && gt_tensor_dim(bj, 2) == 4,
              "batch jacobian shape [2,3,4]");
    bad = 0;
    for (int i = 0; bj && i < 2; i++)
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 4; b++)
                if (gt_tensor_get(bj, (i * 3 + a) * 4 + b) != gt_tensor_get(jx, ((i * 3 + a) * 2 + i) * 4 + b))
                    bad++;
    GTT_CHECK(bad == 0, "batch jacobian differs from the full Jacobian's blocks (%d)", bad);
    gt_tape_free(t);
    mlp_free(&m);
    gt_scope_end();
}

static void test_jacobian_rules(void) {
    gt_scope_begin();
    gt_tensor *x = gtt_randn(GT_SHAPE(3), 1, 0, 1), *z = gtt_randn(GT_SHAPE(2), 1, 0, 2);
    gt_tape *t = gt_tape_begin(NULL);
    gt_tape_watch(t, x);
    gt_tape_watch(t, z);
    gt_tensor *y = gt_mul_s(x, 2.0);
    gt_tape_end(t);
    const gt_tensor *src[2] = {x, z};
    gt_tensor *j[2];
    GTT_OK(gt_tape_jacobian_ex(t, y, 2, src, GT_UNCONNECTED_ZERO, true, j));
    GTT_CHECK(j[0] && gt_tensor_get(j[0], 0) == 2 && gt_tensor_get(j[0], 1) == 0 && gt_tensor_get(j[0], 4) == 2,
              "2*I");
    GTT_CHECK(j[1] && gt_tensor_rank(j[1]) == 2 && gt_tensor_get(j[1], 5) == 0, "unconnected zeros [3,2]");
    /* A non-persistent tape is used up by one Jacobian. */
    GTT_CHECK(gt_tape_jacobian(t, y, x) == NULL, "second jacobian on a non-persistent tape");
    GTT_ERROR_HAS("A non-persistent GradientTape can only be used to compute one set of gradients (or jacobians)");
    gt_tape_free(t);
    /* batch_jacobian: mismatched first dimensions, and unconnected sources give zeros. */
    gt_tensor *a = gtt_randn(GT_SHAPE(2, 3), 1, 0, 3), *b = gtt_randn(GT_SHAPE(4, 3), 1, 0, 4);
    t = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    gt_tape_watch(t, a);
    gt_tape_watch(t, b);
    gt_tensor *ya = gt_square(a);
    gt_tape_end(t);
    GTT_CHECK(gt_tape_batch_jacobian(t, ya, b) == NULL, "first dims differ");
    GTT_ERROR_HAS("Need first dimension of target shape ([2,3]) and source shape ([4,3]) to match.");
    gt_tensor *c = gtt_randn(GT_SHAPE(2, 5), 1, 0, 5);
    gt_tape_watch(t, c);
    gt_tensor *bz = gt_tape_batch_jacobian(t, ya, c);
    GTT_CHECK(bz && gt_tensor_rank(bz) == 3 && gt_tensor_dim(bz, 2) == 5 && gt_tensor_get(bz, 7) == 0,
              "unconnected batch jacobian is zeros");
    gt_tape_free(t);
    gt_scope_end();
}

/* The Hessian of a small MLP's loss w.r.t. its first kernel through nested tapes, against
 * finite differences of the gradient, and symmetric. */
static void test_hessian(void) {
    gt_scope_begin();
    mlp m = mlp_new(3, 4, 2, 30);
    gt_tensor *x = gtt_randn(GT_SHAPE(5, 3), 1, 0, 31), *yt = gtt_randn(GT_SHAPE(5, 2), 1, 0, 32);
    gt_tape *outer = gt_tape_begin(NULL);
    gt_tape *inner = gt_tape_begin(NULL);
    gt_tensor *loss = gt_reduce_mean(gt_squared_difference(mlp_call(&m, x), yt), GT_ALL, false);
    gt_tape_end(inner);
    gt_tensor *g = gt_gradient(inner, loss, m.w1);
    gt_tape_end(outer);
    gt_tensor *h = gt_tape_jacobian(outer, g, m.w1);
    GTT_CHECK(h && gt_tensor_rank(h) == 4 && gt_tensor_size(h) == 144, "Hessian shape [3,4,3,4]");
    int bad = 0;
    for (int i = 0; h && i < 12; i++)
        for (int j = 0; j < 12; j++)
            if (fabs(gt_tensor_get(h, i * 12 + j) - gt_tensor_get(h, j * 12 + i)) > 1e-12) bad++;
    GTT_CHECK(bad == 0, "Hessian not symmetric (%d)", bad);
    double w[12];
    gt_tensor_to_f64(gt_variable_value(m.w1), w, 12);
    bad = 0;
    for (int k = 0; h && k < 12; k++) {
        double gp[12], gm[12];
        for (int s = 0; s < 2; s++) {
            double wk[12];
            memcpy(wk, w, sizeof wk);
            wk[k] += s ? -1e-6 : 1e-6;
            gt_variable_assign(m.w1, gt_tensor_new(GT_F64, GT_SHAPE(3, 4), wk));
            gt_tape *tp = gt_tape_begin(NULL);
            gt_tensor *l = gt_reduce_mean(gt_squared_difference(mlp_call(&m, x), yt), GT_ALL, false);
            gt_tape_end(tp);
            gt_tensor_to_f64(gt_gradient(tp, l, m.w1), s ? gm : gp, 12);
            gt_tape_free(tp);
        }
        for (int j = 0; j < 12; j++) {
            double fd = (gp[j] - gm[j]) / 2e-6;
            if (fabs(fd - gt_tensor_get(h, j * 12 + k)) > 1e-7 + 1e-6 * fabs(fd)) bad++;
        }
    }
    gt_variable_assign(m.w1, gt_tensor_new(GT_F64, GT_SHAPE(3, 4), w));
    GTT_CHECK(bad == 0, "%d Hessian entries differ from finite differences", bad);
    gt_tape_free(inner);
    gt_tape_free(outer);
    mlp_free(&m);
    gt_scope_end();
}

/* The vectorised 100x100 Jacobian of a small MLP against 100 separate gradients: same values;
 * the time ratio is printed (timings never gate tests). */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static void test_jacobian_speed(void) {
    gt_scope_begin();
    gt_tensor *w1 = gt_variable(gtt_randn(GT_SHAPE(100, 64), 0.1, 0, 40), "w1");
    gt_tensor *w2 = gt_variable(gtt_randn(GT_SHAPE(64, 100), 0.1, 0, 41), "w2");
    gt_tensor *x = gtt_randn(GT_SHAPE(1, 100), 1, 0, 42);
    gt_tape *t = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    gt_tape_watch(t, x);
    gt_tensor *y = gt_reshape(gt_matmul(gt_tanh(gt_matmul(x, w1, false, false)), w2, false, false), GT_SHAPE(100));
    gt_tape_end(t);
    const gt_tensor *src[1] = {x};
    gt_tensor *jv = NULL, *jl = NULL;
    /* Best of five of each, after a warm-up of both (the first call meets cold caches). */
    double best_v = 1e30, best_l = 1e30;
    for (int rep = 0; rep < 6; rep++) {
        double t1 = now();
        gt_tape_jacobian_ex(t, y, 1, src, GT_UNCONNECTED_NONE, true, &jv);
        double t2 = now();
        gt_tape_jacobian_ex(t, y, 1, src, GT_UNCONNECTED_NONE, false, &jl);
        double t3 = now();
        if (rep > 0 && t2 - t1 < best_v) best_v = t2 - t1;
        if (rep > 0 && t3 - t2 < best_l) best_l = t3 - t2;
    }
    GTT_CHECK(jv && jl && gt_tensor_size(jv) == 10000, "100x100 jacobian");
    double worst = 0;
    for (int64_t i = 0; jv && jl && i < 10000; i++) {
        double d = fabs(gt_tensor_get(jv, i) - gt_tensor_get(jl, i));
        if (d > worst) worst = d;
    }
    GTT_CHECK(worst <= 1e-13, "vectorised and per-row Jacobians differ by %g", worst);
    printf("jacobian 100x100 of a 100-64-100 tanh MLP: vectorised %.3f ms, 100 gradients %.3f ms (ratio %.3f)\n",
           1e3 * best_v, 1e3 * best_l, best_v / best_l);
    gt_tape_free(t);
    gt_variable_free(w1);
    gt_variable_free(w2);
    gt_scope_end();
}

/* ---- custom gradients ----------------------------------------------------------------------- */

/* The guide's example: identity forward, clip_by_norm(dy, 0.5) backward. */
static gt_tensor *ident(int nin, const gt_tensor *const *in, void *user) {
    (void)nin;
    (void)user;
    return (gt_tensor *)in[0];
}
static int clip_grad(const gt_tensor *dy, int nin, const gt_tensor *const *in, const gt_tensor *out,
                     gt_tensor **dx, int nvars, gt_tensor *const *vars, gt_tensor **dvars, void *user) {
    (void)nin, (void)in, (void)out, (void)vars, (void)dvars, (void)user, (void)nvars;
    gt_tensor *norm = gt_sqrt(gt_reduce_sum(gt_square(dy), GT_ALL, false));
    dx[0] = gt_div(gt_mul_s(dy, 0.5), gt_maximum_s(norm, 0.5));
    return 1;
}

static void test_custom_gradient_guide(void) {
    gt_scope_begin();
    gt_tensor *v = gt_variable(gt_scalar(2.0), "v");
    gt_tape *t = gt_tape_begin(NULL);
    /* output = clip_gradients(v * v): dy = 1 is clipped to 0.5, times d(v*v)/dv = 4. */
    const gt_tensor *in[1] = {gt_mul(v, v)};
    gt_tensor *out = gt_custom_gradient(ident, clip_grad, NULL, 1, in);
    gt_tape_end(t);
    gt_tensor *g = gt_gradient(t, out, v);
    GTT_CHECK(g && fabs(gt_item(g) - 2.0) < 1e-6, "clipped gradient %g (want 2.0, not 4.0)", g ? gt_item(g) : -1);
    gt_tape_free(t);
    gt_variable_free(v);
    gt_scope_end();
}

/* A custom function that reads a variable: f(x) = x * v, with the exact gradients written by
 * hand, and second order through the gradient function (written in ops). */
static gt_tensor *var_holder;
static gt_tensor *times_v(int nin, const gt_tensor *const *in, void *user) {
    (void)nin;
    (void)user;
    return gt_mul(gt_mul(in[0], in[0]), var_holder); /* x^2 v */
}
static int times_v_grad(const gt_tensor *dy, int nin, const gt_tensor *const *in, const gt_tensor *out,
                        gt_tensor **dx, int nvars, gt_tensor *const *vars, gt_tensor **dvars, void *user) {
    (void)nin, (void)out, (void)user;
    if (nvars != 1) return 1; /* wrong count on purpose when asked */
    dx[0] = gt_mul(dy, gt_mul_s(gt_mul(in[0], vars[0]), 2.0));
    dvars[0] = gt_mul(dy, gt_mul(in[0], in[0]));
    return 2;
}
static int wrong_shape_grad(const gt_tensor *dy, int nin, const gt_tensor *const *in, const gt_tensor *out,
                            gt_tensor **dx, int nvars, gt_tensor *const *vars, gt_tensor **dvars, void *user) {
    (void)dy, (void)nin, (void)in, (void)out, (void)vars, (void)user;
    dx[0] = gt_zeros(GT_F64, GT_SHAPE(7));
    if (nvars) dvars[0] = NULL;
    return 1 + nvars;
}
static int short_grad(const gt_tensor *dy, int nin, const gt_tensor *const *in, const gt_tensor *out,
                      gt_tensor **dx, int nvars, gt_tensor *const *vars, gt_tensor **dvars, void *user) {
    (void)nin, (void)in, (void)out, (void)vars, (void)dvars, (void)nvars, (void)user;
    dx[0] = gt_identity(dy);
    return 1;
}

static void test_custom_gradient_vars(void) {
    gt_scope_begin();
    var_holder = gt_variable(gt_scalar_of(GT_F64, 3.0), "v");
    gt_tensor *x = gt_scalar_of(GT_F64, 2.0);
    gt_tape *outer = gt_tape_begin(NULL);
    gt_tape_watch(outer, x);
    gt_tape *inner = gt_tape_begin(NULL);
    gt_tape_watch(inner, x);
    const gt_tensor *in[1] = {x};
    gt_tensor *y = gt_custom_gradient(times_v, times_v_grad, NULL, 1, in);
    gt_tape_end(inner);
    const gt_tensor *src[2] = {x, var_holder};
    gt_tensor *g[2] = {0};
    GTT_OK(gt_tape_gradient(inner, 1, (const gt_tensor *const *)&y, NULL, 2, src, GT_UNCONNECTED_NONE, g));
    GTT_CHECK(g[0] && gt_item(g[0]) == 12.0, "d/dx x^2 v = 2xv = 12: %g", g[0] ? gt_item(g[0]) : -1);
    GTT_CHECK(g[1] && gt_item(g[1]) == 4.0, "d/dv x^2 v = x^2 = 4: %g", g[1] ? gt_item(g[1]) : -1);
    gt_tape_end(outer);
    gt_tensor *h = gt_gradient(outer, g[0], x);
    GTT_CHECK(h && gt_item(h) == 6.0, "second order through the custom rule: 2v = 6: %g", h ? gt_item(h) : -1);
    gt_tape_free(inner);
    gt_tape_free(outer);
    /* Errors: wrong shapes, and too few gradients when variables were read. */
    gt_tape *t = gt_tape_begin(NULL);
    gt_tape_watch(t, x);
    y = gt_custom_gradient(times_v, wrong_shape_grad, NULL, 1, in);
    gt_tape_end(t);
    GTT_CHECK(gt_gradient(t, y, x) == NULL, "wrong shape accepted");
    GTT_ERROR_HAS("returned a gradient of shape [7] (float64) for input 0 of shape [] (float64)");
    gt_tape_free(t);
    t = gt_tape_begin(NULL);
    gt_tape_watch(t, x);
    y = gt_custom_gradient(times_v, short_grad, NULL, 1, in);
    gt_tape_end(t);
    GTT_CHECK(gt_gradient(t, y, x) == NULL, "missing variable gradient accepted");
    GTT_ERROR_HAS("Must return gradient for each variable from @custom_gradient grad_fn");
    gt_tape_free(t);
    gt_variable_free(var_holder);
    gt_scope_end();
}

/* ---- recompute_grad ------------------------------------------------------------------------- */

#define DEPTH 16
static gt_tensor *deep_w[DEPTH];
static gt_tensor *block(int nin, const gt_tensor *const *in, void *user) {
    (void)nin;
    int first = *(int *)user;
    gt_tensor *h = (gt_tensor *)in[0];
    for (int i = first; i < first + 4; i++) h = gt_relu(gt_matmul(h, deep_w[i], false, false));
    return h;
}

static void recompute_step(bool recompute, gt_tensor **grads, int64_t *peak) {
    gt_scope_begin();
    gt_tensor *x = gtt_randn(GT_SHAPE(1024, 128), 1, 0, 50);
    gt_mem_reset_peak();
    int64_t base = gt_mem_stats_get().bytes_live;
    gt_tape *t = gt_tape_begin(NULL);
    static int first[DEPTH / 4];
    gt_tensor *h = x;
    for (int b = 0; b < DEPTH / 4; b++) {
        first[b] = 4 * b;
        const gt_tensor *in[1] = {h};
        h = recompute ? gt_recompute_grad(block, &first[b], 1, in) : block(1, in, &first[b]);
    }
    gt_tensor *loss = gt_reduce_sum(gt_square(h), GT_ALL, false);
    gt_tape_end(t);
    const gt_tensor *src[DEPTH];
    for (int i = 0; i < DEPTH; i++) src[i] = deep_w[i];
    gt_tensor *g[DEPTH];
    gt_tape_gradient(t, 1, (const gt_tensor *const *)&loss, NULL, DEPTH, src, GT_UNCONNECTED_NONE, g);
    *peak = gt_mem_stats_get().bytes_peak - base;
    for (int i = 0; i < DEPTH; i++) grads[i] = g[i] ? gt_keep(g[i]) : NULL;
    gt_tape_free(t);
    gt_scope_end();
}

static void test_recompute(void) {
    gt_scope_begin();
    for (int i = 0; i < DEPTH; i++) deep_w[i] = gt_variable(gtt_randn(GT_SHAPE(128, 128), 0.125, 0, 60 + (uint64_t)i), "w");
    gt_tensor *ga[DEPTH], *gb[DEPTH];
    int64_t peak_plain, peak_rc;
    recompute_step(false, ga, &peak_plain);
    recompute_step(true, gb, &peak_rc);
    int same = 0;
    for (int i = 0; i < DEPTH; i++) same += ga[i] && gb[i] && gt_tensor_equal(ga[i], gb[i]);
    GTT_CHECK(same == DEPTH, "recomputed gradients differ (%d of %d identical)", same, DEPTH);
    GTT_CHECK(peak_rc < peak_plain / 2, "peak bytes: recompute %lld, plain %lld", (long long)peak_rc,
              (long long)peak_plain);
    printf("recompute_grad on a 16-layer MLP (batch 1024, width 128, blocks of 4): peak %.2f MB vs %.2f MB plain\n", peak_rc / 1e6,
           peak_plain / 1e6);
    for (int i = 0; i < DEPTH; i++) gt_variable_free(deep_w[i]);
    gt_scope_end();
}

/* ---- forward mode --------------------------------------------------------------------------- */

static void test_forward_mode(void) {
    gt_scope_begin();
    /* JVP of y = x^3 along t: 3 x^2 t; nested accumulators give the second derivative. */
    gt_tensor *x = gt_scalar_of(GT_F64, 2.0), *one = gt_scalar_of(GT_F64, 1.0);
    const gt_tensor *p[1] = {x}, *tt[1] = {one};
    gt_accumulator *outer = gt_accumulator_begin(1, p, tt);
    gt_accumulator *inner = gt_accumulator_begin(1, p, tt);
    gt_tensor *y = gt_mul(gt_mul(x, x), x);
    gt_accumulator_end(inner);
    gt_tensor *dy = gt_accumulator_jvp(inner, y, GT_UNCONNECTED_NONE);
    gt_accumulator_end(outer);
    gt_tensor *d2y = gt_accumulator_jvp(outer, dy, GT_UNCONNECTED_NONE);
    GTT_CHECK(dy && gt_item(dy) == 12.0, "jvp %g", dy ? gt_item(dy) : -1);
    GTT_CHECK(d2y && gt_item(d2y) == 12.0, "nested jvp (6x = 12): %g", d2y ? gt_item(d2y) : -1);
    GTT_CHECK(gt_accumulator_jvp(outer, gt_scalar(1.0), GT_UNCONNECTED_NONE) == NULL, "unconnected");
    gt_accumulator_free(inner);
    gt_accumulator_free(outer);
    /* Forward-over-reverse Hessian-vector product of the MLP loss, against the reverse-mode
     * Hessian times v. */
    mlp m = mlp_new(3, 4, 2, 70);
    gt_tensor *xin = gtt_randn(GT_SHAPE(5, 3), 1, 0, 71), *yt = gtt_randn(GT_SHAPE(5, 2), 1, 0, 72);
    gt_tensor *v = gtt_randn(GT_SHAPE(3, 4), 1, 0, 73);
    const gt_tensor *pw[1] = {m.w1}, *tv[1] = {v};
    gt_accumulator *acc = gt_accumulator_begin(1, pw, tv);
    gt_tape *t = gt_tape_begin(NULL);
    gt_tensor *loss = gt_reduce_mean(gt_squared_difference(mlp_call(&m, xin), yt), GT_ALL, false);
    gt_tape_end(t);
    gt_tensor *g = gt_gradient(t, loss, m.w1);
    gt_accumulator_end(acc);
    gt_tensor *hvp = gt_accumulator_jvp(acc, g, GT_UNCONNECTED_NONE);
    gt_tape_free(t);
    gt_accumulator_free(acc);
    gt_tape *o = gt_tape_begin(NULL), *i = gt_tape_begin(NULL);
    loss = gt_reduce_mean(gt_squared_difference(mlp_call(&m, xin), yt), GT_ALL, false);
    gt_tape_end(i);
    g = gt_gradient(i, loss, m.w1);
    gt_tape_end(o);
    gt_tensor *h = gt_tape_jacobian(o, g, m.w1);
    gt_tensor *hv = gt_reshape(gt_matmul(gt_reshape(h, GT_SHAPE(12, 12)), gt_reshape(v, GT_SHAPE(12, 1)), false, false),
                               GT_SHAPE(3, 4));
    int bad = 0;
    for (int k = 0; hvp && hv && k < 12; k++)
        if (fabs(gt_tensor_get(hvp, k) - gt_tensor_get(hv, k)) > 1e-12 + 1e-10 * fabs(gt_tensor_get(hv, k))) bad++;
    GTT_CHECK(hvp && hv && bad == 0, "forward-over-reverse HVP differs from H v (%d)", bad);
    gt_tape_free(i);
    gt_tape_free(o);
    mlp_free(&m);
    /* Errors. */
    GTT_CHECK(gt_accumulator_begin(1, p, (const gt_tensor *[]){gt_zeros(GT_F64, GT_SHAPE(2))}) == NULL, "shape");
    GTT_ERROR_HAS("must have the primal's float dtype and shape");
    gt_scope_end();
}

int main(void) {
    test_jacobian_mlp();
    test_jacobian_rules();
    test_hessian();
    test_jacobian_speed();
    test_custom_gradient_guide();
    test_custom_gradient_vars();
    test_recompute();
    test_forward_mode();
    if (gt_error()) GTT_CHECK(0, "stray error: %s", gt_error());
    return gtt_finish();
}
