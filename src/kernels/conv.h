/* 2-D convolution kernels (internal), channels-last, f32 and f64: im2col + GEMM.
 *
 * Work is cut into row chunks (rows = output pixels n*OH*OW + oh*OW + ow) whose size depends
 * only on the shapes, never on the thread count; every chunk's GEMM is deterministic, and the
 * filter gradient sums fixed per-part partials in a fixed order, so results are bitwise
 * identical whatever the thread count. The im2col buffers come from the size-class cache (no
 * malloc in steady state). */
#ifndef GT_KERNELS_CONV_H
#define GT_KERNELS_CONV_H

#include <gradtape.h>

#include <stdbool.h>
#include <stdint.h>

typedef struct gt__conv_geom {
    int64_t n, h, w, c;     /* input [n, h, w, c] */
    int64_t kh, kw, f;      /* filter [kh, kw, c / groups, f] */
    int64_t oh, ow;         /* output [n, oh, ow, f] */
    int64_t sh, sw, dh, dw; /* strides, dilations */
    int64_t pt, pl;         /* padding before (top, left) */
    int64_t groups;
} gt__conv_geom;

/* Output size and padding before along one axis (TensorFlow's formulas). False when the
 * "valid" output would be empty or negative (in < dilated kernel). */
bool gt__conv_out_dim(int64_t in, int64_t k, int64_t stride, int64_t dil, bool same, int64_t *out,
                      int64_t *pad_before);

/* y = conv(x, w), then y += bias (per filter; NULL: none) and y = relu(y) when relu is set,
 * each chunk's epilogue running while the chunk is in cache. The epilogue is the same
 * arithmetic as the separate add and relu ops, so the fused result equals theirs bitwise.
 * Each returns false (with an out-of-memory error set) when the workspace cannot be allocated;
 * the output is then filled with NaN. */
bool gt__conv2d_fwd(gt_dtype dt, const gt__conv_geom *g, const void *x, const void *w,
                    const void *bias, bool relu, void *y);
/* dx = Conv2DBackpropInput(dy, w). */
bool gt__conv2d_bwd_input(gt_dtype dt, const gt__conv_geom *g, const void *dy, const void *w,
                          void *dx);
/* dw = Conv2DBackpropFilter(x, dy). */
bool gt__conv2d_bwd_filter(gt_dtype dt, const gt__conv_geom *g, const void *x, const void *dy,
                           void *dw);

/* y (rows x f) = y + bias (per column; NULL: none), then relu when set (NaN passes): the
 * convolutions' epilogue, also matmul_bias_act's; split across threads by rows. */
void gt__bias_act_rows(gt_dtype dt, void *y, int64_t rows, int64_t f, const void *bias, bool relu);

/* The direct path (conv_direct.c) takes this geometry: float32, one group, K = kh * kw * c
 * <= 32 taps, F % 8 == 0 filters (K * F <= 8192) and an AVX2+FMA CPU. */
bool gt__conv_direct_ok(gt_dtype dt, const gt__conv_geom *g);
/* Output rows [r0, r0 + nr) of y = act(conv(x, w) + bias): bitwise the im2col + GEMM result. */
void gt__conv_direct_fwd(const gt__conv_geom *g, int64_t r0, int64_t nr, const float *x,
                         const float *w, const float *bias, bool relu, float *y);
/* dw (K x F) = the filter gradient of output rows [r0, r0 + nr), or dw += it when accumulate. */
void gt__conv_direct_dw(const gt__conv_geom *g, int64_t r0, int64_t nr, const float *x,
                        const float *dz, bool accumulate, float *dw);

#endif
