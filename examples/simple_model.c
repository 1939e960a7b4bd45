/* The seed article's second program, line for line: a two-layer Keras model, random inputs
 * and integer labels, CategoricalCrossentropy(from_logits=True) on a softmax output (Keras
 * then uses the softmax's own logits and warns, and so does gradtape), and the gradient of the
 * loss for every trainable variable, printed under its Keras path.
 *
 *   class SimpleModel(Model):                       typedef struct SimpleModel {...}
 *       def __init__(self): ...                     SimpleModel_new()
 *       def call(self, x): ...                      SimpleModel_call()
 */
#include <gradtape.h>
#include <gradtape_nn.h>

#include <stdio.h>

typedef struct SimpleModel {
    gt_model base; /* class SimpleModel(Model) */
    gt_layer *dense1, *dense2;
} SimpleModel;

/* def call(self, x): */
static gt_tensor *SimpleModel_call(gt_model *self, const gt_tensor *x, bool training) {
    SimpleModel *m = (SimpleModel *)self;
    x = gt_layer_call(m->dense1, x, training);    /* x = self.dense1(x) */
    return gt_layer_call(m->dense2, x, training); /* return self.dense2(x) */
}

/* def __init__(self): */
static SimpleModel *SimpleModel_new(void) {
    SimpleModel *m = (SimpleModel *)gt_model_new(&(gt_model_desc){
        .class_name = "SimpleModel", .call = SimpleModel_call, .size = sizeof(SimpleModel)});
    if (!m)
        return NULL;
    /* self.dense1 = layers.Dense(5, activation='relu') */
    m->dense1 =
        gt_model_track(&m->base, gt_dense(&(gt_dense_desc){.units = 5, .activation = GT_ACT_RELU}));
    /* self.dense2 = layers.Dense(2, activation='softmax') */
    m->dense2 = gt_model_track(
        &m->base, gt_dense(&(gt_dense_desc){.units = 2, .activation = GT_ACT_SOFTMAX}));
    return m;
}

int main(void) {
    /* model = SimpleModel() */
    SimpleModel *model = SimpleModel_new();
    /* inputs = tf.random.normal([32, 10]) */
    gt_tensor *inputs = gt_random_normal(GT_SHAPE(32, 10), 0.0, 1.0, GT_F32, NULL);
    /* labels = tf.random.uniform([32, 2], maxval=2, dtype=tf.int32) */
    gt_tensor *labels = gt_random_uniform(GT_SHAPE(32, 2), 0, 2, GT_I32, NULL);
    /* loss_fn = tf.keras.losses.CategoricalCrossentropy(from_logits=True) */
    gt_loss *loss_fn = gt_categorical_crossentropy(&(gt_loss_desc){.from_logits = true});

    /* with tf.GradientTape() as tape: */
    gt_tape *tape = gt_tape_begin(NULL);
    gt_tensor *predictions = model ? gt_model_call(&model->base, inputs, false) : NULL;
    gt_tensor *loss = gt_loss_call(loss_fn, labels, predictions, NULL);
    gt_tape_end(tape);

    /* trainable_vars = model.trainable_variables. Keras 3 builds the layers on the first call,
     * so the list is read once the model has run (before it, Keras 3 gives []). */
    gt_tensor *trainable_vars[16], *gradients[16];
    int n =
        model ? gt_layer_trainable_variables(gt_model_layer(&model->base), trainable_vars, 16) : 0;
    /* gradients = tape.gradient(loss, trainable_vars) */
    bool ok = loss && gt_tape_gradient(tape, 1, (const gt_tensor *const[]){loss}, NULL, n,
                                       (const gt_tensor *const *)trainable_vars,
                                       GT_UNCONNECTED_NONE, gradients);
    if (ok) {
        /* for grad, var in zip(gradients, trainable_vars):
         *     print(f"Gradient for {var.name}: {grad.numpy()}") */
        for (int i = 0; i < n; i++) {
            printf("Gradient for %s: ", gt_variable_path(trainable_vars[i]));
            gt_print(gradients[i]);
        }
    } else {
        fprintf(stderr, "error: %s\n", gt_error());
    }

    gt_tape_free(tape);
    gt_loss_free(loss_fn);
    gt_model_free(model ? &model->base : NULL);
    return ok ? 0 : 1;
}
