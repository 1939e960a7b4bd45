/* The fixed model, optimizer and named variables that fuzz_safetensors.c loads checkpoints
 * into, shared with gen_seeds.c so the generated checkpoints match them name for name.
 * Must be the first model a process creates (Keras-style auto-names are per process):
 *   sequential/dense/kernel [3,4] sequential/dense/bias [4]
 *   sequential/batch_normalization/{gamma,beta,moving_mean,moving_variance} [4]
 *   sequential/dense_1/kernel [4,2] sequential/dense_1/bias [2]
 * and the Adam optimizer's slots for the trainable ones. */
#ifndef GT_FUZZ_MODEL_H
#define GT_FUZZ_MODEL_H

#include <gradtape.h>
#include <gradtape_io.h>
#include <gradtape_nn.h>

#define FUZZ_NVARS 5

static inline gt_model *fuzz_model(void) {
    gt_set_seed(1);
    gt_model *m = gt_sequential(NULL);
    gt_sequential_add(m, gt_dense(&(gt_dense_desc){.units = 4, .activation = GT_ACT_RELU}));
    gt_sequential_add(m, gt_batch_normalization(NULL));
    gt_sequential_add(m, gt_dense(&(gt_dense_desc){.units = 2}));
    if (!gt_model_build(m, GT_SHAPE(1, 3)))
        return NULL;
    return m;
}

/* Variables of every dtype under short names (easy for a fuzzer to spell):
 * a F32 [2,3], b F64 [], c I32 [0], d I64 [2], e BOOL [3]. */
static inline void fuzz_named_vars(gt_tensor *vars[FUZZ_NVARS], const char *names[FUZZ_NVARS]) {
    static const char *const nm[FUZZ_NVARS] = {"a", "b", "c", "d", "e"};
    const float a[6] = {1, 2, 3, 4, 5, 6};
    const double b = 0.5;
    const int64_t d[2] = {-1, 1};
    const bool e[3] = {true, false, true};
    gt_scope_begin();
    vars[0] = gt_variable(gt_tensor_new(GT_F32, 2, (const int64_t[]){2, 3}, a), "a");
    vars[1] = gt_variable(gt_tensor_new(GT_F64, 0, NULL, &b), "b");
    vars[2] = gt_variable(gt_tensor_new(GT_I32, 1, (const int64_t[]){0}, NULL), "c");
    vars[3] = gt_variable(gt_tensor_new(GT_I64, 1, (const int64_t[]){2}, d), "d");
    vars[4] = gt_variable(gt_tensor_new(GT_BOOL, 1, (const int64_t[]){3}, e), "e");
    gt_scope_end();
    for (int i = 0; i < FUZZ_NVARS; i++)
        names[i] = nm[i];
}

#endif
