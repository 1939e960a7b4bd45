/* Bytes to float32 through an affine map, for datasets that keep images as bytes; copies that
 * bypass the caches. */
#ifndef GT_KERNELS_CONVERT_H
#define GT_KERNELS_CONVERT_H

#include <stddef.h>
#include <stdint.h>

/* dst[k] = (float)((double)src[k] * scale + offset) for k < n: the double product and sum,
 * then one rounding, so every thread and vector width gives the same bytes. */
void gt__u8_to_f32(const uint8_t *src, float *dst, int64_t n, double scale, double offset);

/* memcpy(dst, src, bytes) with non-temporal stores for the aligned middle (x86 SSE2), for
 * outputs too large for the caches that the next op reads back from memory anyway; ends with a
 * store fence, so the bytes are visible to other threads once it returns. Plain memcpy
 * elsewhere. */
void gt__stream_copy(void *dst, const void *src, size_t bytes);

#endif
