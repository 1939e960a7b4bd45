/* tf.custom_gradient, the example of TensorFlow's advanced autodiff guide:
 *
 *     @tf.custom_gradient
 *     def clip_gradients(y):
 *         def backward(dy):
 *             return tf.clip_by_norm(dy, 0.5)
 *         return y, backward
 *
 *     v = tf.Variable(2.0)
 *     with tf.GradientTape() as t:
 *         output = clip_gradients(v * v)
 *     print(t.gradient(output, v))   # 2.0, not 4.0
 */
#include <gradtape.h>

#include <stdio.h>

static gt_tensor *identity(int nin, const gt_tensor *const *in, void *user) {
    (void)nin, (void)user;
    return (gt_tensor *)in[0];
}

/* clip_by_norm(dy, 0.5) = dy * 0.5 / max(||dy||, 0.5) */
static int clip_by_norm_grad(const gt_tensor *dy, int nin, const gt_tensor *const *in,
                             const gt_tensor *out, gt_tensor **dx, int nvars,
                             gt_tensor *const *vars, gt_tensor **dvars, void *user) {
    (void)nin, (void)in, (void)out, (void)nvars, (void)vars, (void)dvars, (void)user;
    gt_tensor *norm = gt_sqrt(gt_reduce_sum(gt_square(dy), GT_ALL, false));
    dx[0] = gt_div(gt_mul_s(dy, 0.5), gt_maximum_s(norm, 0.5));
    return 1;
}

int main(void) {
    gt_tensor *v = gt_variable(gt_scalar(2.0), "v");
    gt_tape *t = gt_tape_begin(NULL);
    const gt_tensor *args[1] = {gt_mul(v, v)};
    gt_tensor *output = gt_custom_gradient(identity, clip_by_norm_grad, NULL, 1, args);
    gt_tape_end(t);
    gt_tensor *g = gt_gradient(t, output, v);
    if (!g) {
        fprintf(stderr, "error: %s\n", gt_error());
        return 1;
    }
    printf("Gradient of clip_gradients(v * v) at v = 2: ");
    gt_print(g);
    gt_tape_free(t);
    gt_variable_free(v);
    return 0;
}
