/* Helpers shared by the shape family's two files (shape.c and gather.c). */
#ifndef GT_OPS_SHAPE_INTERNAL_H
#define GT_OPS_SHAPE_INTERNAL_H

#include "core/internal.h"

/* A target shape (reshape, broadcast_to). The tape copies only `rank` for reshape. */
typedef struct reshape_attr {
    int rank;
    int64_t shape[GT_MAX_RANK];
} reshape_attr;

/* Row-major element strides of shape. */
static inline void strides_of(int rank, const int64_t *shape, int64_t *st) {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        st[i] = s;
        s *= shape[i];
    }
}

/* Gradient rules of the family are GT__OP_BATCHABLE: a Jacobian sweep may hand them gy with one
 * extra leading row axis ([B, *out_shape]); they then return gx as [B, *in_shape]. The row
 * axis is recognised by gy's rank exceeding the op's output rank. */
static inline int rows_of(const gt__gctx *g, int out_rank) { return g->gy->rank == out_rank + 1; }

/* Input k's shape, with gy's row axis in front when there is one; returns its rank. */
static inline int in_shape(const gt__gctx *g, int k, int b, int64_t *shape) {
    if (b) shape[0] = g->gy->shape[0];
    memcpy(shape + b, g->meta[k].shape, sizeof(int64_t) * (size_t)g->meta[k].rank);
    return g->meta[k].rank + b;
}

#endif
