/* Workload mlp_epoch (and mlp_rss): one epoch of a Fashion-MNIST MLP, seconds per epoch, the
 * test accuracy after it, and the process's peak RSS.
 *
 * Sequential([Dense(256, relu), Dense(128, relu), Dense(10)]) on flat [128, 784] batches
 * scaled to [0, 1], SparseCategoricalCrossentropy(from_logits=True), Adam(1e-3), batch 128,
 * shuffled (469 steps, the last one of 96). The loop is Keras' train step written out: per
 * batch, one scope holding the batch, a tape, the forward pass, the loss, the gradient of the
 * trainable variables and apply_gradients. Five warm-up steps (on the first batches, as every
 * twin does) come before the timed epoch; loading the data set is not timed.
 * Quick mode (--quick / GT_BENCH_QUICK=1) times the first 60 batches and extrapolates.
 * Twins: bench/mlp_epoch_tf.py (tape loop and Keras fit), bench/mlp_epoch_torch.py. */
#include "benchutil.h"

#include <gradtape.h>

#include <stdio.h>

#define BATCH 128
#define WARMUP 5

int main(int argc, char **argv) {
    bu_opts o;
    if (!bu_init(argc, argv, &o)) return 2;
    gt_dataset *train, *test;
    if (!gt_mnist_load(NULL, &train, &test)) {
        fprintf(stderr, "mlp_epoch: %s\n", gt_error());
        return 1;
    }
    gt_dataset_set_x_shape(train, GT_SHAPE(784));
    gt_dataset_set_x_shape(test, GT_SHAPE(784));

    gt_set_seed(1);
    gt_model *model = gt_sequential(NULL);
    gt_sequential_add(model, gt_dense(&(gt_dense_desc){.units = 256, .activation = GT_ACT_RELU}));
    gt_sequential_add(model, gt_dense(&(gt_dense_desc){.units = 128, .activation = GT_ACT_RELU}));
    gt_sequential_add(model, gt_dense(&(gt_dense_desc){.units = 10}));
    gt_loss *loss_fn = gt_sparse_categorical_crossentropy(&(gt_loss_desc){.from_logits = true});
    gt_optimizer *opt = gt_adam(&(gt_optimizer_desc){.learning_rate = 1e-3});
    gt_tensor *vars[16];
    int nvars = 0;

    const int64_t nb = gt_dataset_num_batches(train, BATCH);
    const int64_t run = o.quick && nb > 60 ? 60 : nb;
    bool ok = true;
    for (int64_t i = 0; i < WARMUP && ok; i++)
        ok = bu_train_step(model, loss_fn, opt, vars, &nvars, train, BATCH, i, NULL);

    double loss = 0;
    const double t0 = bu_now();
    ok = ok && gt_dataset_shuffle(train, 42, 0);
    for (int64_t i = 0; i < run && ok; i++)
        ok = bu_train_step(model, loss_fn, opt, vars, &nvars, train, BATCH, i, i == run - 1 ? &loss : NULL);
    const double secs = (bu_now() - t0) * (double)nb / (double)run;
    if (!ok) {
        fprintf(stderr, "mlp_epoch: %s\n", gt_error());
        return 1;
    }

    /* Test accuracy: forward passes in batches of 1000. */
    double accuracy = 0;
    ok = bu_test_accuracy(model, test, 1000, &accuracy);
    if (!ok) {
        fprintf(stderr, "mlp_epoch: %s\n", gt_error());
        return 1;
    }
    printf("# steps timed %lld of %lld, last loss %.4f\n", (long long)run, (long long)nb, loss);
    bu_result("value", secs);
    bu_result("accuracy", accuracy);
    bu_result("rss_mib", bu_peak_rss_mib());
    gt_optimizer_free(opt);
    gt_loss_free(loss_fn);
    gt_model_free(model);
    gt_dataset_free(train);
    gt_dataset_free(test);
    return 0;
}
