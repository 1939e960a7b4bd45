/* The seed article's third program: the model of the second, its gradients, then
 *
 *     optimizer = tf.keras.optimizers.SGD(learning_rate=0.01)
 *     optimizer.apply_gradients(zip(gradients, trainable_vars))
 *
 * followed by a few more steps, printing the loss before and after (it must fall). */
#include <gradtape.h>
#include <gradtape_nn.h>

#include <math.h>
#include <stdio.h>

typedef struct SimpleModel {
    gt_model base;
    gt_layer *dense1, *dense2;
} SimpleModel;

static gt_tensor *SimpleModel_call(gt_model *self, const gt_tensor *x, bool training) {
    SimpleModel *m = (SimpleModel *)self;
    x = gt_layer_call(m->dense1, x, training);
    return gt_layer_call(m->dense2, x, training);
}

static SimpleModel *SimpleModel_new(void) {
    SimpleModel *m = (SimpleModel *)gt_model_new(&(gt_model_desc){
        .class_name = "SimpleModel", .call = SimpleModel_call, .size = sizeof(SimpleModel)});
    if (!m)
        return NULL;
    m->dense1 =
        gt_model_track(&m->base, gt_dense(&(gt_dense_desc){.units = 5, .activation = GT_ACT_RELU}));
    m->dense2 = gt_model_track(
        &m->base, gt_dense(&(gt_dense_desc){.units = 2, .activation = GT_ACT_SOFTMAX}));
    return m;
}

#define MAXV 16

/* One step of the seed: loss and gradients under a tape; returns the loss (NaN on error). */
static double loss_and_grads(SimpleModel *model, const gt_loss *loss_fn, const gt_tensor *inputs,
                             const gt_tensor *labels, gt_tensor **vars, int *n, gt_tensor **grads) {
    gt_tape *tape = gt_tape_begin(NULL);
    gt_tensor *predictions = gt_model_call(&model->base, inputs, true);
    gt_tensor *loss = gt_loss_call(loss_fn, labels, predictions, NULL);
    gt_tape_end(tape);
    *n = gt_layer_trainable_variables(gt_model_layer(&model->base), vars, MAXV);
    bool ok = loss && gt_tape_gradient(tape, 1, (const gt_tensor *const[]){loss}, NULL, *n,
                                       (const gt_tensor *const *)vars, GT_UNCONNECTED_NONE, grads);
    gt_tape_free(tape);
    return ok ? gt_item(loss) : NAN;
}

int main(void) {
    SimpleModel *model = SimpleModel_new();
    gt_tensor *inputs = gt_random_normal(GT_SHAPE(32, 10), 0.0, 1.0, GT_F32, NULL);
    gt_tensor *labels = gt_random_uniform(GT_SHAPE(32, 2), 0, 2, GT_I32, NULL);
    gt_loss *loss_fn = gt_categorical_crossentropy(&(gt_loss_desc){.from_logits = true});
    /* optimizer = tf.keras.optimizers.SGD(learning_rate=0.01) */
    gt_optimizer *optimizer = gt_sgd(&(gt_optimizer_desc){.learning_rate = 0.01});
    if (!model || !loss_fn || !optimizer) {
        fprintf(stderr, "error: %s\n", gt_error());
        return 1;
    }

    gt_tensor *trainable_vars[MAXV], *gradients[MAXV];
    int n = 0, steps = 50;
    double first = NAN, last = NAN;
    bool ok = true;
    for (int step = 0; step <= steps && ok; step++) {
        gt_scope_begin(); /* a training step is one scope: memory stays flat */
        double loss = loss_and_grads(model, loss_fn, inputs, labels, trainable_vars, &n, gradients);
        if (step == 0) {
            first = loss;
            printf("Loss before apply_gradients: %.6f\n", loss);
        }
        last = loss;
        /* optimizer.apply_gradients(zip(gradients, trainable_vars)) */
        ok = !isnan(loss) && (step == steps || gt_optimizer_apply_gradients(optimizer, n, gradients,
                                                                            trainable_vars));
        gt_scope_end();
    }
    if (ok) {
        printf("Loss after %lld SGD steps: %.6f\n", (long long)gt_optimizer_iterations(optimizer),
               last);
        if (!(last < first)) {
            fprintf(stderr, "error: the loss did not fall (%.6f -> %.6f)\n", first, last);
            ok = false;
        }
    } else {
        fprintf(stderr, "error: %s\n", gt_error());
    }
    gt_optimizer_free(optimizer);
    gt_loss_free(loss_fn);
    gt_model_free(&model->base);
    return ok ? 0 : 1;
}
