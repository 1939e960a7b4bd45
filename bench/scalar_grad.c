/* Workload scalar_grad: the seed's first program in a loop, µs per call.
 *
 *     x = tf.Variable(3.0)
 *     with tf.GradientTape() as tape:
 *         y = x ** 2
 *     dy_dx = tape.gradient(y, x)          # 6.0
 *
 * One call = open a scope, a tape, the op, the gradient, free the tape, close the scope (what
 * releases y and the gradient: TF's refcounting does the same when the Python names are
 * rebound). Twins: bench/scalar_grad_tf.py, bench/scalar_grad_torch.py. */
#include "benchutil.h"

#include <gradtape.h>

#include <stdio.h>

static gt_tensor *x;
static double last;

static void run(void *arg, int64_t iters) {
    (void)arg;
    for (int64_t i = 0; i < iters; i++) {
        gt_scope_begin();
        gt_tape *tape = gt_tape_begin(NULL);
        gt_tensor *y = gt_pow_s(x, 2.0);
        gt_tape_end(tape);
        gt_tensor *g = gt_gradient(tape, y, x);
        if (i == 0) last = gt_item(g);
        gt_tape_free(tape);
        gt_scope_end();
    }
}

int main(int argc, char **argv) {
    bu_opts o;
    if (!bu_init(argc, argv, &o)) return 2;
    gt_scope_begin();
    x = gt_variable(gt_scalar(3.0), "x");
    gt_scope_end();
    run(NULL, 20000); /* warm the allocator caches */
    const double per = bu_time_per_call(run, NULL, o.quick ? 2000 : 10000, o.quick ? 5 : 15,
                                        o.quick ? 0.2 : 1.0);
    if (!gt_ok() || last != 6.0) {
        fprintf(stderr, "scalar_grad: wrong result %g (%s)\n", last, gt_error() ? gt_error() : "");
        return 1;
    }
    bu_result("value", per * 1e6);
    gt_variable_free(x);
    return 0;
}
