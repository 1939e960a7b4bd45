/* Workload cnn_epoch: one Fashion-MNIST epoch of the Keras CNN example, seconds per epoch,
 * and the test accuracy after it.
 *
 * Conv2D(32, 3, relu) -> MaxPooling2D(2) -> Conv2D(64, 3, relu) -> MaxPooling2D(2) -> Flatten
 * -> Dense(128, relu) -> Dense(10) on [128, 28, 28, 1] batches scaled to [0, 1],
 * SparseCategoricalCrossentropy(from_logits=True), Adam(1e-3), batch 128, shuffled; five
 * warm-up steps first, as in mlp_epoch.c. Quick mode times 20 batches and extrapolates.
 * Until the Conv2D / MaxPooling2D layers exist in the library this prints
 * "RESULT value nan" and a "not available" note. Twins: bench/cnn_epoch_tf.py,
 * bench/cnn_epoch_torch.py. */
#include "benchutil.h"

#include <gradtape.h>

#include <math.h>
#include <stdio.h>

#define BATCH 128
#define WARMUP 5

typedef struct Cnn {
    gt_model base;
    gt_layer *conv1, *pool1, *conv2, *pool2, *fc1, *fc2;
} Cnn;

static gt_tensor *Cnn_call(gt_model *self, const gt_tensor *x, bool training) {
    Cnn *m = (Cnn *)self;
    x = gt_layer_call(m->conv1, x, training);
    x = gt_layer_call(m->pool1, x, training);
    x = gt_layer_call(m->conv2, x, training);
    x = gt_layer_call(m->pool2, x, training);
    x = x ? gt_reshape(x, GT_SHAPE(gt_tensor_dim(x, 0), -1)) : NULL; /* Flatten */
    x = gt_layer_call(m->fc1, x, training);
    return gt_layer_call(m->fc2, x, training);
}

static int not_available(const char *why) {
    printf("# not available: %s\n", why);
    bu_result("value", NAN);
    return 0;
}

int main(int argc, char **argv) {
    bu_opts o;
    if (!bu_init(argc, argv, &o)) return 2;
    gt_set_seed(1);
    Cnn *m = (Cnn *)gt_model_new(
        &(gt_model_desc){.class_name = "Cnn", .call = Cnn_call, .size = sizeof(Cnn)});
    if (!m) return not_available(gt_error());
    m->conv1 = gt_model_track(&m->base, gt_conv2d_layer(&(gt_conv2d_layer_desc){
                                            .filters = 32, .kernel_size = {3}, .activation = GT_ACT_RELU}));
    m->pool1 = gt_model_track(&m->base, gt_max_pooling2d(NULL));
    m->conv2 = gt_model_track(&m->base, gt_conv2d_layer(&(gt_conv2d_layer_desc){
                                            .filters = 64, .kernel_size = {3}, .activation = GT_ACT_RELU}));
    m->pool2 = gt_model_track(&m->base, gt_max_pooling2d(NULL));
    m->fc1 = gt_model_track(&m->base, gt_dense(&(gt_dense_desc){.units = 128, .activation = GT_ACT_RELU}));
    m->fc2 = gt_model_track(&m->base, gt_dense(&(gt_dense_desc){.units = 10}));
    if (!gt_ok()) return not_available(gt_error());

    gt_dataset *train, *test;
    if (!gt_mnist_load(NULL, &train, &test)) {
        fprintf(stderr, "cnn_epoch: %s\n", gt_error());
        return 1;
    }
    gt_dataset_set_x_shape(train, GT_SHAPE(28, 28, 1));
    gt_dataset_set_x_shape(test, GT_SHAPE(28, 28, 1));
    gt_loss *loss_fn = gt_sparse_categorical_crossentropy(&(gt_loss_desc){.from_logits = true});
    gt_optimizer *opt = gt_adam(&(gt_optimizer_desc){.learning_rate = 1e-3});
    gt_tensor *vars[16];
    int nvars = 0;

    const int64_t nb = gt_dataset_num_batches(train, BATCH);
    const int64_t run = o.quick && nb > 20 ? 20 : nb;
    bool ok = true;
    for (int64_t i = 0; i < WARMUP && ok; i++)
        ok = bu_train_step(&m->base, loss_fn, opt, vars, &nvars, train, BATCH, i, NULL);
    if (!ok) return not_available(gt_error());

    double loss = 0;
    const double t0 = bu_now();
    ok = gt_dataset_shuffle(train, 42, 0);
    for (int64_t i = 0; i < run && ok; i++)
        ok = bu_train_step(&m->base, loss_fn, opt, vars, &nvars, train, BATCH, i, i == run - 1 ? &loss : NULL);
    const double secs = (bu_now() - t0) * (double)nb / (double)run;
    if (!ok) {
        fprintf(stderr, "cnn_epoch: %s\n", gt_error());
        return 1;
    }
    /* Test accuracy: forward passes in batches of 500. */
    double accuracy = 0;
    ok = bu_test_accuracy(&m->base, test, 500, &accuracy);
    if (!ok) {
        fprintf(stderr, "cnn_epoch: %s\n", gt_error());
        return 1;
    }
    printf("# steps timed %lld of %lld, last loss %.4f\n", (long long)run, (long long)nb, loss);
    bu_result("value", secs);
    bu_result("accuracy", accuracy);
    bu_result("rss_mib", bu_peak_rss_mib());
    gt_optimizer_free(opt);
    gt_loss_free(loss_fn);
    gt_model_free(&m->base);
    gt_dataset_free(train);
    gt_dataset_free(test);
    return 0;
}
