/* Copy kernels for the shape ops. They see raw buffers, never tensors or tapes. Strides and
 * shapes are in elements; every kernel accepts size-0 extents. */
#ifndef GT_KERNELS_SHAPE_H
#define GT_KERNELS_SHAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Highest rank a strided copy accepts (tile views each axis as two). */
#define GT__COPY_MAX_RANK 16

/* dst[sum_i k_i*dst_stride[i]] = src[sum_i k_i*src_stride[i]] for every index k < shape.
 * Axes are merged where both sides are contiguous, runs that are contiguous on both sides
 * are memcpy'd, a zero source stride on the innermost axis is a fill, and a transposing
 * innermost pair is copied in cache-sized tiles. esize is 1, 2, 4 or 8 bytes. */
void gt__k_copy_strided(void *dst, const void *src, size_t esize, int rank, const int64_t *shape,
                        const int64_t *dst_stride, const int64_t *src_stride);

/* Sets n elements of esize bytes at dst to *value. */
void gt__k_fill(void *dst, size_t esize, int64_t n, const void *value);

/* Row gather: out[o, j, :] = params[o, idx[j], :] for o < outer, j < nidx, with rows of
 * `inner` elements taken from an axis of n rows. Indices must already be validated. */
void gt__k_gather(void *out, const void *params, size_t esize, int64_t outer, int64_t n,
                  int64_t inner, const void *idx, bool idx64, int64_t nidx);

/* Scatter-add, the adjoint of gt__k_gather: out (outer x n x inner) is zeroed, then
 * out[o, idx[j], :] += upd[o, j, :] in increasing j, so duplicates are summed in a fixed
 * order whatever the thread count. Elements are double when is_f64, else float. */
void gt__k_scatter_add(void *out, const void *upd, bool is_f64, int64_t outer, int64_t n,
                       int64_t inner, const void *idx, bool idx64, int64_t nidx);

/* First position j < n whose index lies outside [0, limit), or -1. */
int64_t gt__k_index_check(const void *idx, bool idx64, int64_t n, int64_t limit);

#endif
