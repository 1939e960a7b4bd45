/* Results are bitwise identical whatever the thread count: a training step (forward, loss,
 * gradients and an SGD update) of a 784-256-10 MLP on a batch of 128, large enough that the
 * GEMM, elementwise and reduction kernels all take their threaded paths, run with 1 and 2
 * threads. */
#include "gtt.h"

#ifdef GT_HAVE_OPENMP
#include <omp.h>
#endif

typedef struct {
    gt_tensor *w1, *b1, *w2, *b2;
} net;

static void step(net *n, const gt_tensor *x, const gt_tensor *labels, gt_tensor **out, int nout) {
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
    /* SGD(0.1) on every variable. */
    gt_tensor *vs[4] = {n->w1, n->b1, n->w2, n->b2};
    for (int i = 0; i < 4; i++) gt_variable_assign_sub(vs[i], gt_mul_s(g[i], 0.1));
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
    for (int s = 0; s < 3; s++) step(&n, x, y, tmp, 5);
    for (int i = 0; i < 5; i++) out[i] = tmp[i];
    out[5] = gt_keep(gt_variable_value(n.w1));
    gt_variable_free(n.w1);
    gt_variable_free(n.b1);
    gt_variable_free(n.w2);
    gt_variable_free(n.b2);
}

int main(void) {
#ifdef GT_HAVE_OPENMP
    int nt = omp_get_max_threads();
#endif
    gt_scope_begin();
    gt_tensor *a[6], *b[6];
    run(1, a);
    run(2, b);
    const char *what[6] = {"loss", "d/dw1", "d/db1", "d/dw2", "d/db2", "w1 after 3 steps"};
    for (int i = 0; i < 6; i++)
        GTT_CHECK(a[i] && b[i] && gt_tensor_equal(a[i], b[i]), "%s differs between 1 and 2 threads", what[i]);
    GTT_CHECK(gt_ok(), "error: %s", gt_error() ? gt_error() : "");
    gt_scope_end();
#ifdef GT_HAVE_OPENMP
    gt_set_num_threads(nt);
#endif
    return gtt_finish();
}
