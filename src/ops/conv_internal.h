/* What the convolution and pooling ops share (src/ops/conv.c, src/ops/pool.c). */
#ifndef GT_OPS_CONV_INTERNAL_H
#define GT_OPS_CONV_INTERNAL_H

#include "core/internal.h"

#include <gradtape_conv.h>

/* Checks a descriptor's integer fields v[0..n) (each in [0, 2147483647]; 0 takes the default
 * that dflt[i] names in the message, e.g. ", 1" or ": 2") and its padding; false with TF-style
 * errors naming `who` and the field. */
bool gt__check_window_desc(const char *who, int n, const int64_t *v, const char *const *names,
                           const char *const *dflt, gt_padding padding);

#endif
