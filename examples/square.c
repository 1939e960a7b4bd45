/* The seed's first program:
 *
 *     x = tf.Variable(3.0)
 *     with tf.GradientTape() as tape:
 *         y = x ** 2
 *     grad = tape.gradient(y, x)
 *     print("Gradient of y with respect to x:", grad.numpy())   # 6.0
 */
#include <gradtape.h>

#include <stdio.h>

int main(void) {
    gt_tensor *x = gt_variable(gt_scalar(3.0), "x");
    gt_tape *tape = gt_tape_begin(NULL);
    gt_tensor *y = gt_pow_s(x, 2.0);
    gt_tape_end(tape);
    gt_tensor *grad = gt_gradient(tape, y, x);
    if (!grad) {
        fprintf(stderr, "error: %s\n", gt_error());
        return 1;
    }
    printf("Gradient of y with respect to x: ");
    gt_print(grad);
    gt_tape_free(tape);
    gt_variable_free(x);
    return 0;
}
