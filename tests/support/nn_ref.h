/* Reference values made by tests/ref/gen_keras.py (TensorFlow 2 + Keras 3), read from
 * tests/data/keras_ref.txt: records `key n v1 ... vn`. */
#ifndef NN_REF_H
#define NN_REF_H

#include <gradtape.h>
#include <gradtape_nn.h>

#include <stdint.h>

/* Loads the file once (path under GT_TEST_DATA_DIR); false + message when missing. */
bool nnref_load(const char *path);
/* The values of key, or NULL (and a failed check) when absent; *n gets the count. */
const double *nnref_get(const char *key, int64_t *n);
/* A tensor of the given dtype/shape from key's values (count must match); NULL + failed check. */
gt_tensor *nnref_tensor(const char *key, gt_dtype dtype, int rank, const int64_t *shape);
/* Compares t with key's values: |a-b| <= atol + rtol*|b|, counting one check. */
void nnref_check(const char *key, const gt_tensor *t, double atol, double rtol);
/* Frees what nnref_load read. */
void nnref_free(void);

/* A warning handler that keeps the last warning (and counts them). */
extern char nnref_last_warning[2048];
extern int nnref_warnings;
void nnref_capture_warnings(void);

#endif
