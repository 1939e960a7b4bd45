/* Op family tables: each src/ops/<family>.c defines gt__ops_<family> and its count. */
#ifndef GT_OPS_REGISTRY_H
#define GT_OPS_REGISTRY_H

#include "core/internal.h"

#define GT__FAMILY(name)                                                                         \
    extern const gt__op *const gt__ops_##name[];                                                 \
    extern const int gt__ops_##name##_n

GT__FAMILY(binary);
GT__FAMILY(misc);
GT__FAMILY(unary);
GT__FAMILY(nn);
GT__FAMILY(reduce);
GT__FAMILY(matmul);
GT__FAMILY(shape);
GT__FAMILY(conv);

/* TensorFlow's ReluGrad, dy where y > 0 (y: relu's output or input), as the relu op's rule
 * applies it: for the fused ops that end in a relu (conv2d_bias_act, matmul_bias_act). */
gt_tensor *gt__relu_grad(const gt_tensor *dy, const gt_tensor *y);

#endif
