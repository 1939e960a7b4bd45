/* Results are bitwise identical whatever the thread count: a training step (forward, loss,
 * gradients and an Adam update) of a 784-256-10 MLP on a batch of 128, large enough that the
 * GEMM, elementwise, reduction and optimizer kernels all take their threaded paths, run with
 * 1 and 2 threads; and every rule of the fused optimizer kernel on a vector whose length is
 * not a multiple of the vector width. */
#include "gtt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


typedef struct {
    gt_tensor *w1, *b1, *w2, *b2;
} net;

static void step(net *n, gt_optimizer *opt, const gt_tensor *x, const gt_tensor *labels,
                 gt_tensor **out, int nout) {
    gt_scope_begin();
    gt_tape *t = gt_tape_begin(NULL);
    gt_tensor *h = gt_relu(gt_add(gt_matmul(x, n->w1, false, false), n->b1));
    gt_tensor *logits = gt_add(gt_matmul(h, n->w2, false, false), n->b2);
    gt_tensor *loss = gt_reduce_mean(gt_sparse_softmax_cross_entropy_with_logits(labels, logits), GT_ALL, false);
    gt_tape_end(t);
    const gt_tensor *vars[4] = {n->w1, n->b1, n->w2, n->b2};
    gt_tensor *g[4];
    gt_tape_gradient(t, 1, (const gt_tensor *const *)&loss, NULL, 4, vars, GT_UNCONNECTED_NONE, g);
    gt_tape_free(t);
    out[0] = gt_keep(loss);
    for (int i = 0; i < 4 && i + 1 < nout; i++) out[i + 1] = gt_keep(g[i]);
    gt_tensor *vs[4] = {n->w1, n->b1, n->w2, n->b2};
    gt_optimizer_apply_gradients(opt, 4, g, vs);
    gt_scope_end();
}

static void run(int threads, gt_tensor **out) {
    gt_set_num_threads(threads);
    gt_rng r = gt_rng_new(5);
    net n = {gt_variable(gt_random_normal(GT_SHAPE(784, 256), 0, 0.05, GT_F32, &r), "w1"),
             gt_variable(gt_zeros(GT_F32, GT_SHAPE(256)), "b1"),
             gt_variable(gt_random_normal(GT_SHAPE(256, 10), 0, 0.05, GT_F32, &r), "w2"),
             gt_variable(gt_zeros(GT_F32, GT_SHAPE(10)), "b2")};
    gt_tensor *x = gt_random_uniform(GT_SHAPE(128, 784), 0, 1, GT_F32, &r);
    gt_tensor *y = gt_random_uniform(GT_SHAPE(128), 0, 10, GT_I32, &r);
    gt_tensor *tmp[5];
    gt_optimizer *opt = gt_adam(&(gt_optimizer_desc){.learning_rate = 0.01});
    for (int s = 0; s < 3; s++) step(&n, opt, x, y, tmp, 5);
    gt_optimizer_free(opt);
    for (int i = 0; i < 5; i++) out[i] = tmp[i];
    out[5] = gt_keep(gt_variable_value(n.w1));
    gt_variable_free(n.w1);
    gt_variable_free(n.b1);
    gt_variable_free(n.w2);
    gt_variable_free(n.b2);
}

/* Every rule and slot configuration of gt_apply_updates, three steps on N elements with the
 * given thread count; out receives w and the slots (5 buffers of N). */
#define N 40001 /* above the threading threshold, odd */
/* gt_apply_updates, in place, or (oop) with every w's current value moved to a separate
 * buffer read through w_src while w itself holds NaN until the update writes it. */
static bool apply(gt_update *u, int n, bool oop) {
    float *src[2] = {NULL, NULL};
    for (int k = 0; oop && k < n; k++) {
        src[k] = malloc(sizeof(float) * (size_t)u[k].n);
        memcpy(src[k], u[k].w, sizeof(float) * (size_t)u[k].n);
        for (int64_t i = 0; i < u[k].n; i++) ((float *)u[k].w)[i] = NAN;
        u[k].w_src = src[k];
    }
    bool ok = gt_apply_updates(u, n);
    free(src[0]);
    free(src[1]);
    return ok;
}

static void updates(int threads, bool oop, float *out) {
    gt_set_num_threads(threads);
    gt_rng r = gt_rng_new(9);
    gt_tensor *g0 = gt_random_normal(GT_SHAPE(N), 0, 1, GT_F32, &r);
    const float *g = gt_tensor_data(g0);
    for (int i = 0; i < 5 * N; i++) out[i] = 0.5f + 0.25f * (float)(i % 7);
    float *w = out, *m = out + N, *v = out + 2 * N, *vh = out + 3 * N, *w2 = out + 4 * N;
    gt_update u[] = {
        {GT_UPDATE_ADAM, GT_F32, N, w, NULL, g, m, v, vh, false, 0.01, 0.004, 0.1, 0.001, 0.3, 1e-7, 0, 0, 0, 0},
        {GT_UPDATE_SGD, GT_F32, N, w2, NULL, g, NULL, NULL, NULL, false, 0.1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    };
    gt_update u2[] = {
        {GT_UPDATE_SGD, GT_F32, N, w, NULL, g, m, NULL, NULL, true, 0.1, 0, 0.9, 0, 0, 0, 0, 0, 0, 0},
        {GT_UPDATE_RMSPROP, GT_F32, N, w2, NULL, g, m, v, vh, false, 0.01, 0, 0.9, 0.1, 0.5, 1e-7, 0, 0, 0, 0},
    };
    gt_update u3[] = {
        {GT_UPDATE_ADAGRAD, GT_F32, N, w, NULL, g, NULL, v, NULL, false, 0.01, 0, 0, 0, 0, 1e-7, 0, 0, 0, 0},
        {GT_UPDATE_RMSPROP, GT_F32, N, w2, NULL, g, NULL, v, NULL, false, 0.01, 0, 0.9, 0.1, 0, 1e-7, 0, 0, 0, 0},
    };
    /* and weight decay (AdamW's), which reads the current value first */
    gt_update u4[] = {
        {GT_UPDATE_ADAM, GT_F32, N, w, NULL, g, m, v, NULL, false, 0.01, 0.004, 0.1, 0.001, 0.3, 1e-7, 0, 0, 0, 0},
        {GT_UPDATE_SGD, GT_F32, N, w2, NULL, g, m, NULL, NULL, false, 0.1, 0.01, 0.9, 0, 0, 0, 0, 0, 0, 0},
    };
    GTT_CHECK(apply(u, 2, oop) && apply(u2, 2, oop) && apply(u3, 2, oop) && apply(u4, 2, oop),
              "gt_apply_updates: %s", gt_error() ? gt_error() : "");
}

static void update_errors(void) {
    float w[4] = {0}, g[4] = {0};
    const struct {
        gt_update u;
        const char *want;
    } bad[] = {
        {{.rule = GT_UPDATE_SGD, .dtype = GT_I32, .n = 4, .w = w, .g = g}, "dtype int32"},
        {{.rule = GT_UPDATE_SGD, .dtype = GT_F32, .n = -1, .w = w, .g = g}, "negative size"},
        {{.rule = GT_UPDATE_SGD, .dtype = GT_F32, .n = 4, .g = g}, "needs w"},
        {{.rule = GT_UPDATE_ADAM, .dtype = GT_F32, .n = 4, .w = w, .g = g}, "needs m and v"},
        {{.rule = GT_UPDATE_ADAGRAD, .dtype = GT_F32, .n = 4, .w = w, .g = g}, "needs v"},
        {{.rule = (gt_update_rule)9, .dtype = GT_F32, .n = 4, .w = w, .g = g}, "unknown rule"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        GTT_CHECK(!gt_apply_updates(&bad[i].u, 1) && gt_error() && strstr(gt_error(), bad[i].want),
                  "gt_apply_updates case %zu: got '%s', want '%s'", i,
                  gt_error() ? gt_error() : "(no error)", bad[i].want);
        gt_error_clear();
    }
    GTT_CHECK(gt_apply_updates(NULL, 0), "zero updates are a no-op");
    GTT_CHECK(!gt_apply_updates(NULL, 1), "NULL updates are an error");
    gt_error_clear();
}

int main(void) {
    int nt = gt_get_num_threads();
    gt_scope_begin();
    gt_tensor *a[6], *b[6];
    run(1, a);
    run(2, b);
    const char *what[6] = {"loss", "d/dw1", "d/db1", "d/dw2", "d/db2", "w1 after 3 steps"};
    for (int i = 0; i < 6; i++)
        GTT_CHECK(a[i] && b[i] && gt_tensor_equal(a[i], b[i]), "%s differs between 1 and 2 threads", what[i]);
    GTT_CHECK(gt_ok(), "error: %s", gt_error() ? gt_error() : "");
    static float ua[5 * N], ub[5 * N];
    updates(1, false, ua);
    updates(2, false, ub);
    GTT_CHECK(memcmp(ua, ub, sizeof ua) == 0, "gt_apply_updates differs between 1 and 2 threads");
    updates(2, true, ub);
    GTT_CHECK(memcmp(ua, ub, sizeof ua) == 0, "gt_apply_updates through w_src differs from in place");
    update_errors();
    gt_scope_end();
    gt_set_num_threads(nt);
    return gtt_finish();
}
