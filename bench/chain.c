/* Workload chain: 100 small elementwise ops forward + backward, µs per op.
 *
 * On a watched [16] float32 vector x, op i (i = 0..99) is, by i mod 3: y = y * c, y =
 * tanh(y), y = y + d (c, d constant [16] vectors), starting from y = x; then the gradient of
 * y (summed, i.e. output gradient ones) w.r.t. x. Time per op = (forward + backward) / 100.
 * The same 100 ops in bench/chain_tf.py and bench/chain_torch.py. */
#include "benchutil.h"

#include <gradtape.h>

#include <stdio.h>

#define NOPS 100

static gt_tensor *x, *c, *d;
static double check;

static void run(void *arg, int64_t iters) {
    (void)arg;
    for (int64_t it = 0; it < iters; it++) {
        gt_scope_begin();
        gt_tape *tape = gt_tape_begin(NULL);
        gt_tape_watch(tape, x);
        gt_tensor *y = x;
        for (int i = 0; i < NOPS; i++) {
            switch (i % 3) {
            case 0: y = gt_mul(y, c); break;
            case 1: y = gt_tanh(y); break;
            default: y = gt_add(y, d); break;
            }
        }
        gt_tape_end(tape);
        gt_tensor *g = gt_gradient(tape, y, x);
        if (it == 0) check = gt_tensor_get(g, 0);
        gt_tape_free(tape);
        gt_scope_end();
    }
}

int main(int argc, char **argv) {
    bu_opts o;
    if (!bu_init(argc, argv, &o)) return 2;
    float xv[16], cv[16], dv[16];
    for (int i = 0; i < 16; i++) {
        xv[i] = 0.1f * (float)(i - 8);
        cv[i] = 0.9f + 0.01f * (float)i;
        dv[i] = 0.05f - 0.005f * (float)i;
    }
    gt_scope_begin();
    x = gt_retain(gt_tensor_new(GT_F32, GT_SHAPE(16), xv));
    c = gt_retain(gt_tensor_new(GT_F32, GT_SHAPE(16), cv));
    d = gt_retain(gt_tensor_new(GT_F32, GT_SHAPE(16), dv));
    gt_scope_end();
    run(NULL, 500);
    const double per = bu_time_per_call(run, NULL, o.quick ? 100 : 300, o.quick ? 5 : 15,
                                        o.quick ? 0.2 : 1.0);
    if (!gt_ok()) {
        fprintf(stderr, "chain: %s\n", gt_error());
        return 1;
    }
    printf("# dy0/dx0 = %.6f\n", check);
    bu_result("value", per * 1e6 / NOPS);
    gt_release(x);
    gt_release(c);
    gt_release(d);
    return 0;
}
