/* 2-D pooling kernels (internal), channels-last, f32 and f64: direct loops over each window's
 * real (non-padded) cells, vectorised across channels.
 *
 * Max pooling keeps, per window and channel, a running maximum over the real cells in row-major
 * order that moves to a later cell only when that cell is strictly greater (TensorFlow's CPU
 * rule): the first of equal maxima wins, a NaN wins only as the window's first cell, and a
 * later NaN never does (no comparison with it is true).
 * Average pooling divides by the number of real cells. Scatters (the gradients) that add run
 * one image per thread and visit windows in order, so every sum has a fixed order; a max
 * pooling gradient whose windows do not overlap gives each cell at most one dy and may run by
 * output row. Results are bitwise identical whatever the thread count. */
#ifndef GT_KERNELS_POOL_H
#define GT_KERNELS_POOL_H

#include <gradtape.h>

#include <stdint.h>

typedef struct gt__pool_geom {
    int64_t n, h, w, c; /* input [n, h, w, c] */
    int64_t ph, pw;     /* window */
    int64_t sh, sw;     /* strides */
    int64_t oh, ow;     /* output [n, oh, ow, c] */
    int64_t pt, pl;     /* padding before (top, left) */
} gt__pool_geom;

/* y = max over each window. */
void gt__max_pool_fwd(gt_dtype dt, const gt__pool_geom *g, const void *x, void *y);
/* dx = each window's dy added at its first maximum (MaxPoolGrad). */
void gt__max_pool_bwd(gt_dtype dt, const gt__pool_geom *g, const void *x, const void *dy, void *dx);
/* out[window] = gx at the window's first maximum (MaxPoolGradGrad); gx has x's shape. */
void gt__max_pool_gather(gt_dtype dt, const gt__pool_geom *g, const void *x, const void *gx,
                         void *out);
/* y = mean over each window's real cells. */
void gt__avg_pool_fwd(gt_dtype dt, const gt__pool_geom *g, const void *x, void *y);
/* dx = each dy spread over its window's real cells, divided by their count (AvgPoolGrad). */
void gt__avg_pool_bwd(gt_dtype dt, const gt__pool_geom *g, const void *dy, void *dx);

#endif
