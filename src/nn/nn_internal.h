/* Internal helpers shared by src/nn, which uses only the public API (gradtape.h and
 * gradtape_nn.h), as Keras is written on TensorFlow's ops. */
#ifndef GT_NN_INTERNAL_H
#define GT_NN_INTERNAL_H

#include "gradtape.h"
#include "gradtape_nn.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#define nn_error gt_set_error

/* True for the GT_ZERO sentinel (negative zero): "an explicit 0, not the default". */
static inline bool nn_is_explicit_zero(double x) {
    return x == 0.0 && signbit(x);
}
/* A descriptor field: dflt when unset (+0), 0 for GT_ZERO, else the value. */
static inline double nn_opt(double x, double dflt) {
    if (x == 0.0)
        return signbit(x) ? 0.0 : dflt;
    return x;
}

/* ---- name scopes (Keras' name_scope): "simple_model/dense" while a layer builds ------------ */
void nn_scope_push(const char *name);
void nn_scope_pop(void);
/* Writes "<scope>/<name>" (or name when no scope is open) into buf. */
void nn_scope_path(const char *name, char *buf, size_t n);

/* Formats a shape as Python prints a tuple: "(32, 5)", "(5,)", "()". */
void nn_shape_str(int rank, const int64_t *shape, char *buf, size_t n);

/* Keras autocasting inside a layer: x cast to the layer's dtype when it differs
 * (gt_layer_call already turns integer inputs into floats). */
const gt_tensor *nn_autocast(const gt_layer *l, const gt_tensor *x);

/* ---- input checks with Keras' InputSpec errors ---------------------------------------------
 * Each takes the input's rank and shape, returns true when the input passes, and otherwise
 * sets Keras' error for input 0 of l and returns false:
 *   Input 0 of layer "<name>" is incompatible with the layer: expected ndim=4, found ndim=3.
 *   Full shape received: (2, 5, 5)
 *   Input 0 of layer "<name>" is incompatible with the layer: expected axis -1 of input shape
 *   to have value 3, but received input with shape (2, 5, 5, 2) */

/* rank == ndim; hint (NULL for none) is appended to the message as given. */
bool nn_expect_ndim(const gt_layer *l, int ndim, int rank, const int64_t *shape, const char *hint);
/* rank >= min_ndim ("expected min_ndim=1, found ndim=0"). */
bool nn_expect_min_ndim(const gt_layer *l, int min_ndim, int rank, const int64_t *shape);
/* shape[axis] == value, axis counted as Keras counts it (negative from the end); an axis out
 * of range fails with the same message. */
bool nn_expect_axis(const gt_layer *l, int axis, int64_t value, int rank, const int64_t *shape);

/* Emits Keras' from_logits warning for fn ("categorical_crossentropy"), op ("Softmax"). */
void nn_warn_from_logits(const char *fn, const char *op);

/* True for layer types whose integer inputs gt_layer_call must not cast to float and whose
 * dtype is not taken from the first input (Embedding; defined in misc_layers.c). */
bool nn_layer_keeps_int_inputs(const gt_layer *l);

#endif
