/* The Hessian of a small network's loss with respect to a kernel, through nested tapes:
 *
 *     with tf.GradientTape() as t2:
 *         with tf.GradientTape() as t1:
 *             loss = tf.reduce_mean((tanh(x @ w) @ v - y) ** 2)
 *         g = t1.gradient(loss, w)
 *     h = t2.jacobian(g, w)          # shape w.shape + w.shape
 */
#include <gradtape.h>

#include <stdio.h>

int main(void) {
    gt_rng rng = gt_rng_new(1);
    gt_tensor *w = gt_variable(gt_random_normal(GT_SHAPE(3, 2), 0, 0.5, GT_F32, &rng), "w");
    gt_tensor *v = gt_random_normal(GT_SHAPE(2, 1), 0, 0.5, GT_F32, &rng);
    gt_tensor *x = gt_random_normal(GT_SHAPE(8, 3), 0, 1, GT_F32, &rng);
    gt_tensor *y = gt_random_normal(GT_SHAPE(8, 1), 0, 1, GT_F32, &rng);

    gt_tape *t2 = gt_tape_begin(NULL);
    gt_tape *t1 = gt_tape_begin(NULL);
    gt_tensor *pred = gt_matmul(gt_tanh(gt_matmul(x, w, false, false)), v, false, false);
    gt_tensor *loss = gt_reduce_mean(gt_squared_difference(pred, y), GT_ALL, false);
    gt_tape_end(t1);
    gt_tensor *g = gt_gradient(t1, loss, w);
    gt_tape_end(t2);
    gt_tensor *h = gt_tape_jacobian(t2, g, w);
    if (!h) {
        fprintf(stderr, "error: %s\n", gt_error());
        return 1;
    }
    printf("loss = %.6f\ngradient:\n", gt_item(loss));
    gt_print(g);
    printf("Hessian (%lld x %lld, as [3,2,3,2] reshaped):\n", 6LL, 6LL);
    gt_print(gt_reshape(h, GT_SHAPE(6, 6)));
    gt_tape_free(t1);
    gt_tape_free(t2);
    gt_variable_free(w);
    return 0;
}
