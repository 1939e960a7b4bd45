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

#endif
