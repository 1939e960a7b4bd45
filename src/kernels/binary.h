/* Elementwise kernels with TensorFlow broadcasting. */
#ifndef GT_KERNELS_BINARY_H
#define GT_KERNELS_BINARY_H

#include "core/internal.h"

typedef enum gt__binop {
    GT__B_ADD, GT__B_SUB, GT__B_MUL, GT__B_DIV, GT__B_POW, GT__B_MAX, GT__B_MIN, GT__B_SQDIFF,
    GT__B_EQ, GT__B_NE, GT__B_LT, GT__B_LE, GT__B_GT, GT__B_GE, GT__B_AND, GT__B_OR,
    GT__B_COUNT
} gt__binop;

/* out = a op b, broadcasting a and b to out's shape (out already has the broadcast shape; its
 * dtype is a's for arithmetic and bool for comparisons). */
void gt__binary(gt__binop op, const gt_tensor *a, const gt_tensor *b, gt_tensor *out);
/* acc += x in place, for float tensors of the same shape and dtype that nothing else reads
 * (the backward sweep's own gradient sums). */
void gt__add_inplace(gt_tensor *acc, const gt_tensor *x);
/* out = cond ? a : b with three-way broadcasting. */
void gt__select(const gt_tensor *cond, const gt_tensor *a, const gt_tensor *b, gt_tensor *out);
/* Converts n elements between dtypes (TensorFlow's cast: float to int truncates, to bool is
 * != 0). */
void gt__convert(gt_dtype from, const void *src, gt_dtype to, void *dst, int64_t n);

/* Broadcast walk shared by elementwise kernels: calls fn for each contiguous run of out, with
 * element offsets into up to three inputs and whether each advances (1) or stays (0). */
typedef void (*gt__run_fn)(void *ctx, int64_t out_off, int64_t n, const int64_t *in_off,
                           const int *in_step);
void gt__broadcast_walk(const gt_tensor *out, int nin, const gt_tensor *const *in, gt__run_fn fn,
                        void *ctx);

#endif
