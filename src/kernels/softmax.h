/* Softmax, log-softmax, their fused gradients and the fused cross-entropies. Tensors are
 * viewed as [outer, n, inner] with the softmax taken over the middle axis (inner == 1 for the
 * last axis: contiguous rows). Per-(outer, inner) results are "row" tensors [outer, inner].
 * f32 and f64; float32 sums accumulate in double. */
#ifndef GT_KERNELS_SOFTMAX_H
#define GT_KERNELS_SOFTMAX_H

#include "core/internal.h"

/* y = softmax(x) (exp(x - max) * (1 / sum)) or log_softmax(x) ((x - max) - log(sum)). */
void gt__softmax(gt_dtype dt, const void *x, void *y, int64_t outer, int64_t n, int64_t inner,
                 bool log);
/* Fused gradients: softmax (y = softmax output): out = (g - sum(g*y)) * y;
 * log_softmax (y = log_softmax output): out = g - sum(g) * exp(y). */
void gt__softmax_grad(gt_dtype dt, const void *g, const void *y, void *out, int64_t outer,
                      int64_t n, int64_t inner, bool log);
/* TensorFlow's SoftmaxCrossEntropyWithLogits: loss[o,j] = sum_k labels*(log(sum) - shifted),
 * backprop = exp(shifted) / sum - labels. */
void gt__softmax_xent(gt_dtype dt, const void *labels, const void *logits, void *loss,
                      void *backprop, int64_t outer, int64_t n, int64_t inner);
/* The sparse form over contiguous rows of c classes; labels (i32 or i64) must already be
 * validated to lie in [0, c). */
void gt__sparse_xent(gt_dtype dt, gt_dtype label_dt, const void *labels, const void *logits,
                     void *loss, void *backprop, int64_t rows, int64_t c);
/* out[o,k,j] = g[o,j] * b[o,k,j]: a per-row gradient spread over the softmax axis. */
void gt__scale_rows(gt_dtype dt, const void *g, const void *b, void *out, int64_t outer,
                    int64_t n, int64_t inner);
/* Index of the first label outside [0, c), or -1. */
int64_t gt__bad_label(gt_dtype label_dt, const void *labels, int64_t rows, int64_t c);

#endif
