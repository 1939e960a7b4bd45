/* Checks for layer tests, shared between test files:
 *  - comparisons of a layer's output and gradients with the Keras reference records of
 *    nn_ref.h (written by tests/ref/gen_keras_*.py);
 *  - model.summary() against a `#S <block>|<line>` block of a reference file;
 *  - gradient checks of a layer w.r.t. its input and its weights in float64, first and second
 *    order (gtt_gradcheck, plus second derivatives through the weights).
 * Each check counts in gtt's passed/failed totals. */
#ifndef LAYER_CHECK_H
#define LAYER_CHECK_H

#include "gtt.h"

#include <gradtape_nn.h>

/* When set, lcheck_ref_check prints the worst error of each comparison (in units of its
 * tolerance): tests set it from an environment variable. */
extern bool lcheck_stats;

/* Compares t with the reference record key: |a - b| <= atol + rtol * |b| element-wise. */
void lcheck_ref_check(const char *key, const gt_tensor *t, double atol, double rtol);
/* Value i of the record key (0 when missing, after a failed check). */
double lcheck_cfg(const char *key, int i);
/* The shape stored under key (`<case>.xshape`) into shape; returns the rank. */
int lcheck_ref_shape(const char *key, int64_t *shape);
/* Assigns the values of record key to the variable v (the counts must match). */
void lcheck_set_var(gt_tensor *v, const char *key);
/* Assigns the values of record key to vars[0..nv) in order, each taking as many values as it
 * holds (the record's count must be their total). */
void lcheck_set_vars(gt_tensor *const *vars, int nv, const char *key);

/* y = layer(x, training) under a tape; compares y's shape with <key>.yshape, y with <key>.y,
 * and the gradients of sum(<key>.w * y) w.r.t. x (unless x is integer) and each trainable
 * variable with <key>.dx and <key>.d<variable name>. */
void lcheck_forward_and_grads(const char *key, gt_layer *l, gt_tensor *x, bool training,
                              double atol, double rtol, double gatol, double grtol);

/* model.summary() at line_length, byte for byte against the `#S block|` lines of path. */
void lcheck_summary(const gt_model *m, int line_length, const char *path, const char *block);

/* The most weights lcheck_layer_gradcheck checks: a layer with more fails a check, and only
 * its first LCHECK_MAX_WEIGHTS are checked. */
enum { LCHECK_MAX_WEIGHTS = 4 };

/* Builds l for x (float64), gives its (trainable, or with all_weights every) weights random
 * values (a "moving_variance" positive) and checks the gradients of its output w.r.t. x and
 * each weight: first order (with forward mode and Jacobians) against central differences,
 * then, unless opts->first_only, second order w.r.t. x and through the weights (the mixed
 * input/weight terms included). At most LCHECK_MAX_WEIGHTS weights. */
void lcheck_layer_gradcheck(const char *name, gt_layer *l, gt_tensor *x, bool training,
                            bool all_weights, const gtt_grad_opts *opts);

#endif
