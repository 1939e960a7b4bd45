/* The Jacobian of a small network's output with respect to its input and its kernel, and
 * the batch Jacobian, as TensorFlow's guide computes them:
 *
 *     x = tf.random.normal([7, 5]);  layer = tf.keras.layers.Dense(10, activation=tf.nn.relu)
 *     with tf.GradientTape(persistent=True) as tape:
 *         y = layer(x)
 *     j = tape.jacobian(y, layer.kernel)      # [7, 10, 5, 10]
 *     jb = tape.batch_jacobian(y, x)          # [7, 10, 5]
 */
#include <gradtape.h>

#include <stdio.h>

static void show(const char *what, const gt_tensor *t) {
    printf("%s shape [", what);
    for (int i = 0; i < gt_tensor_rank(t); i++) printf(i ? ", %lld" : "%lld", (long long)gt_tensor_dim(t, i));
    printf("]\n");
}

int main(void) {
    gt_rng rng = gt_rng_new(2);
    gt_tensor *x = gt_random_normal(GT_SHAPE(7, 5), 0, 1, GT_F32, &rng);
    gt_tensor *kernel = gt_variable(gt_random_normal(GT_SHAPE(5, 10), 0, 0.3, GT_F32, &rng), "kernel");
    gt_tensor *bias = gt_variable(gt_zeros(GT_F32, GT_SHAPE(10)), "bias");

    gt_tape *tape = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    gt_tape_watch(tape, x);
    gt_tensor *y = gt_relu(gt_add(gt_matmul(x, kernel, false, false), bias));
    gt_tape_end(tape);

    gt_tensor *j = gt_tape_jacobian(tape, y, kernel);
    gt_tensor *jb = gt_tape_batch_jacobian(tape, y, x);
    if (!j || !jb) {
        fprintf(stderr, "error: %s\n", gt_error());
        return 1;
    }
    show("jacobian(y, kernel)", j);
    show("batch_jacobian(y, x)", jb);
    printf("batch_jacobian(y, x)[0]:\n");
    int64_t b0[3] = {0, 0, 0}, s0[3] = {1, -1, -1};
    gt_print(gt_reshape(gt_slice(jb, b0, s0), GT_SHAPE(10, 5)));
    gt_tape_free(tape);
    gt_variable_free(kernel);
    gt_variable_free(bias);
    return 0;
}
