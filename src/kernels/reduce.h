/* Reduction kernels (internal): one reduced axis group at a time, over contiguous memory.
 *
 * Every reduction is expressed on a canonical [O, R, I] view of the input: y[o, i] is the
 * reduction of x[o, r, i] over r. I == 1 is a row reduction (the last axis), O == 1 a column
 * reduction (the first axis, e.g. a Dense bias gradient). Summation (and product) order is a
 * fixed pairwise tree whose shape depends only on R, so results are bitwise identical whatever
 * the thread count. R == 0 gives the identity (0, 1, -inf, +inf; -inf for logsumexp). */
#ifndef GT_KERNELS_REDUCE_H
#define GT_KERNELS_REDUCE_H

#include <gradtape.h>

#include <stdbool.h>
#include <stdint.h>

typedef enum gt__red_kind {
    GT__RED_SUM,
    GT__RED_PROD,
    GT__RED_MAX,
    GT__RED_MIN,
    GT__RED_LSE /* log(sum(exp(x - m))) + m with m the max (0 when not finite); floats only */
} gt__red_kind;

/* True when the kernel exists for (kind, dtype): all kinds for f32/f64, sum/prod/max/min for
 * i32/i64 (integer sums and products wrap around, as TensorFlow's do). */
bool gt__reduce_supported(gt__red_kind kind, gt_dtype dtype);

/* y[o*I + i] = reduce over r < R of x[(o*R + r)*I + i]; x holds O*R*I elements of dtype. */
void gt__reduce(gt__red_kind kind, gt_dtype dtype, const void *x, void *y, int64_t O, int64_t R,
                int64_t I);

/* y[o*I + i] = the first r < R with the largest (is_max) or smallest value of x[o, r, i],
 * written as int32 or int64 (index_dtype). R must be > 0. */
void gt__argreduce(bool is_max, gt_dtype dtype, const void *x, gt_dtype index_dtype, void *y,
                   int64_t O, int64_t R, int64_t I);

#endif
