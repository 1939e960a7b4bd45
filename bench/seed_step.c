/* Workload seed_step: the seed's training step, µs per step.
 *
 * SimpleModel (Dense(5, relu) -> Dense(2, softmax)) on inputs [32, 10], CategoricalCrossentropy
 * (computed from the softmax's logits, as Keras does), tape.gradient over the trainable
 * variables and SGD(0.01).apply_gradients. The labels are one-hot float32 [32, 2] rather than
 * the seed's random 0/1 pairs: with those, tens of thousands of steps drive the loss to
 * infinity and NaN in TensorFlow as in gradtape, and NaN arithmetic would distort the timing.
 * One step runs in one scope. Twins: bench/seed_step_tf.py (tape loop and Keras fit),
 * bench/seed_step_torch.py. */
#include "benchutil.h"

#include <gradtape.h>

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

static SimpleModel *model;
static gt_loss *loss_fn;
static gt_optimizer *opt;
static gt_tensor *inputs, *labels;
static gt_tensor *vars[8];
static int nvars;
static double last_loss;

static void run(void *arg, int64_t iters) {
    (void)arg;
    for (int64_t it = 0; it < iters; it++) {
        gt_scope_begin();
        gt_tape *tape = gt_tape_begin(NULL);
        gt_tensor *pred = gt_model_call(&model->base, inputs, true);
        gt_tensor *loss = gt_loss_call(loss_fn, labels, pred, NULL);
        gt_tape_end(tape);
        if (nvars == 0) nvars = gt_layer_trainable_variables(gt_model_layer(&model->base), vars, 8);
        gt_tensor *grads[8];
        gt_tape_gradient(tape, 1, (const gt_tensor *const[]){loss}, NULL, nvars,
                         (const gt_tensor *const *)vars, GT_UNCONNECTED_NONE, grads);
        gt_optimizer_apply_gradients(opt, nvars, grads, vars);
        if (it == iters - 1) last_loss = gt_item(loss);
        gt_tape_free(tape);
        gt_scope_end();
    }
}

int main(int argc, char **argv) {
    bu_opts o;
    if (!bu_init(argc, argv, &o)) return 2;
    gt_set_seed(1);
    model = (SimpleModel *)gt_model_new(&(gt_model_desc){
        .class_name = "SimpleModel", .call = SimpleModel_call, .size = sizeof(SimpleModel)});
    if (!model) return 1;
    model->dense1 =
        gt_model_track(&model->base, gt_dense(&(gt_dense_desc){.units = 5, .activation = GT_ACT_RELU}));
    model->dense2 = gt_model_track(
        &model->base, gt_dense(&(gt_dense_desc){.units = 2, .activation = GT_ACT_SOFTMAX}));
    loss_fn = gt_categorical_crossentropy(NULL);
    opt = gt_sgd(&(gt_optimizer_desc){.learning_rate = 0.01});
    gt_scope_begin();
    inputs = gt_retain(gt_random_normal(GT_SHAPE(32, 10), 0.0, 1.0, GT_F32, NULL));
    labels = gt_retain(
        gt_one_hot(gt_random_uniform(GT_SHAPE(32), 0, 2, GT_I32, NULL), 2, 1.0, 0.0, GT_F32));
    gt_scope_end();
    run(NULL, 1000);
    const double per = bu_time_per_call(run, NULL, o.quick ? 500 : 2000, o.quick ? 5 : 15,
                                        o.quick ? 0.2 : 1.0);
    if (!gt_ok()) {
        fprintf(stderr, "seed_step: %s\n", gt_error());
        return 1;
    }
    printf("# loss after training: %.4f\n", last_loss);
    bu_result("value", per * 1e6);
    gt_release(inputs);
    gt_release(labels);
    gt_optimizer_free(opt);
    gt_loss_free(loss_fn);
    gt_model_free(&model->base);
    return 0;
}
