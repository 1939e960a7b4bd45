/* Bytes to float32 through an affine map, for datasets that keep images as bytes. */
#ifndef GT_KERNELS_CONVERT_H
#define GT_KERNELS_CONVERT_H

#include <stdint.h>

/* dst[k] = (float)((double)src[k] * scale + offset) for k < n: the double product and sum,
 * then one rounding, so every thread and vector width gives the same bytes. */
void gt__u8_to_f32(const uint8_t *src, float *dst, int64_t n, double scale, double offset);

#endif
