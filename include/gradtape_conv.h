/*
 * gradtape_conv — 2-D convolution and pooling on channels-last (NHWC) images, float32 and
 * float64, with TensorFlow's padding, tie and divisor rules.
 *
 *     // Conv2D(32, 3, padding="same", strides=2) without bias, on x: [N, H, W, C]
 *     gt_tensor *y = gt_conv2d(x, kernel,            // kernel: [3, 3, C, 32]
 *                              &(gt_conv2d_desc){ .strides = {2, 2},
 *                                                 .padding = GT_PADDING_SAME });
 *     gt_tensor *p = gt_max_pool2d(y, NULL);         // MaxPooling2D() : 2x2, stride 2, valid
 *
 * Descriptors: a zeroed descriptor (or NULL) means TensorFlow / Keras' defaults, field by
 * field: strides (1, 1), dilations (1, 1), groups 1, padding "valid"; pool_size (2, 2) and
 * pool strides equal to pool_size. Negative values are errors.
 *
 * Padding ("same" in TensorFlow's sense, for convolutions and pools alike):
 *     out = ceil(in / stride)
 *     pad_total = max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0)
 *     pad_before = pad_total / 2 (top / left), the rest after (bottom / right).
 * "valid": out = ceil((in - (k - 1) * dilation) / stride); an output size <= 0 is an error
 * (TensorFlow: "Computed output size would be negative").
 *
 * Gradients follow TensorFlow: each backward pass is an op of its own (Conv2DBackpropInput,
 * Conv2DBackpropFilter, MaxPoolGrad, MaxPoolGradGrad, AvgPoolGrad) with its own gradient, so
 * derivatives of any order work. Max pooling sends each window's whole gradient to the FIRST
 * maximum in row-major order within the window (overlapping windows add up); average pooling
 * with "same" padding divides by the number of real (non-padded) cells of each window, in the
 * forward and the backward pass.
 *
 * Unlike tf.nn.convolution, strides > 1 together with dilations > 1 are accepted (the result
 * is the mathematical definition: the dilated filter evaluated at strided positions).
 * Results are bitwise identical whatever the thread count.
 */
#ifndef GRADTAPE_CONV_H
#define GRADTAPE_CONV_H

#include <stdbool.h>
#include <stdint.h>

/* The option types come before gradtape.h, which includes gradtape_nn.h, whose layer
 * descriptors use gt_padding: either header may then be included first. */
/** Padding of convolutions and pools (TensorFlow's "valid" and "same"). */
typedef enum gt_padding { GT_PADDING_VALID = 0, GT_PADDING_SAME = 1 } gt_padding;

/** Options of gt_conv2d and its backprops; {0} or NULL is TensorFlow's default. */
typedef struct gt_conv2d_desc {
    int64_t strides[2];   /**< (rows, cols); a 0 entry means 1 */
    gt_padding padding;   /**< GT_PADDING_VALID (default) or GT_PADDING_SAME */
    int64_t dilations[2]; /**< (rows, cols); a 0 entry means 1 */
    int64_t groups;       /**< 0 means 1; must divide the input channels and the filters */
} gt_conv2d_desc;

/** Options of the pools; {0} or NULL is Keras' default (2x2 windows, stride = window). */
typedef struct gt_pool2d_desc {
    int64_t pool_size[2]; /**< (rows, cols); a 0 entry means 2 (Keras 3 requires pool_size
                               for AveragePooling2D; tf.keras 2 defaulted to (2, 2)) */
    int64_t strides[2];   /**< a 0 entry means the pool size on that axis */
    gt_padding padding;   /**< GT_PADDING_VALID (default) or GT_PADDING_SAME */
} gt_pool2d_desc;

#include "gradtape.h"

#ifdef __cplusplus
extern "C" {
#endif

/** tf.nn.conv2d (channels-last, no bias): x [N, H, W, C], filter [KH, KW, C/groups, F] ->
 *  [N, OH, OW, F]. Grouped convolution: input channels [g*C/G, (g+1)*C/G) feed filters
 *  [g*F/G, (g+1)*F/G). Same dtype (f32 or f64) for both operands. */
gt_tensor *gt_conv2d(const gt_tensor *x, const gt_tensor *filter, const gt_conv2d_desc *desc);

/** relu(conv2d(x, filter) + bias), or conv2d(x, filter) + bias with relu false, in one op:
 *  TensorFlow's _FusedConv2D (what its graph optimizer makes of Conv2D, BiasAdd and Relu, and
 *  what the Conv2D layer uses). The bias and relu run on each block of the output while it is
 *  in cache; the result equals the three separate ops bitwise, and so do its gradients
 *  (TensorFlow's ReluGrad, the bias' sum, the two backprops), to any order. bias: [F], the
 *  convolution's dtype. */
gt_tensor *gt_conv2d_bias_act(const gt_tensor *x, const gt_tensor *filter, const gt_tensor *bias,
                              bool relu, const gt_conv2d_desc *desc);

/** tf.raw_ops.Conv2DBackpropInput: the gradient of gt_conv2d w.r.t. its input, given the
 *  upstream gradient dy [N, OH, OW, F]. input_shape is the input's [N, H, W, C] (needed because
 *  strides make H and W ambiguous). This is also the transposed convolution. */
gt_tensor *gt_conv2d_backprop_input(const int64_t *input_shape, const gt_tensor *filter,
                                    const gt_tensor *dy, const gt_conv2d_desc *desc);

/** tf.raw_ops.Conv2DBackpropFilter: the gradient of gt_conv2d w.r.t. its filter, given the
 *  input x and dy. filter_shape is the filter's [KH, KW, C/groups, F]. */
gt_tensor *gt_conv2d_backprop_filter(const gt_tensor *x, const int64_t *filter_shape,
                                     const gt_tensor *dy, const gt_conv2d_desc *desc);

/** tf.nn.max_pool2d (channels-last): [N, H, W, C] -> [N, OH, OW, C]. "same" padding pads with
 *  -inf (padded cells never win). */
gt_tensor *gt_max_pool2d(const gt_tensor *x, const gt_pool2d_desc *desc);

/** MaxPoolGrad: dx of gt_max_pool2d given x and dy. Each window's dy goes whole to the first
 *  maximum of the window in row-major order (TensorFlow's CPU rule); overlapping windows add. */
gt_tensor *gt_max_pool2d_grad(const gt_tensor *x, const gt_tensor *dy, const gt_pool2d_desc *desc);

/** MaxPoolGradGrad: for each window, g at the window's first maximum of x (a gather; the
 *  adjoint of gt_max_pool2d_grad in its dy argument). g has x's shape; the result the pool's. */
gt_tensor *gt_max_pool2d_grad_grad(const gt_tensor *x, const gt_tensor *g,
                                   const gt_pool2d_desc *desc);

/** tf.nn.avg_pool2d (channels-last). With "same" padding each window's sum is divided by the
 *  number of its real cells, not by the window size. */
gt_tensor *gt_avg_pool2d(const gt_tensor *x, const gt_pool2d_desc *desc);

/** AvgPoolGrad: spreads each dy over its window divided by the same count as the forward
 *  pass. input_shape is the pooled input's [N, H, W, C]. */
gt_tensor *gt_avg_pool2d_grad(const int64_t *input_shape, const gt_tensor *dy,
                              const gt_pool2d_desc *desc);

/** GlobalAveragePooling2D: the mean over H and W of [N, H, W, C] -> [N, C] ([N, 1, 1, C] with
 *  keepdims). A composition of gt_reduce_mean (empty H*W gives NaN, as in TensorFlow). */
gt_tensor *gt_global_avg_pool2d(const gt_tensor *x, bool keepdims);

#ifdef __cplusplus
}
#endif

#endif /* GRADTAPE_CONV_H */
