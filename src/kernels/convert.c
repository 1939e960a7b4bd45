/* Byte-to-float conversion (convert.h), vectorised: 4 doubles per 256-bit vector on AVX2. */
#include "kernels/convert.h"

#include "kernels/unary.h" /* GT__SIMD */

#define DEFINE_CONVERT(ATTR, SFX)                                                                  \
    ATTR static void convert_##SFX(const uint8_t *restrict src, float *restrict dst, int64_t n,    \
                                   double scale, double offset) {                                  \
        GT__SIMD for (int64_t k = 0; k < n; k++) dst[k] = (float)((double)src[k] * scale + offset); \
    }

DEFINE_CONVERT(, portable)

#if defined(__x86_64__) || defined(__i386__)
#include "kernels/cpu.h"
DEFINE_CONVERT(__attribute__((target("avx2,fma"))), avx2)
#else
#define convert_avx2 convert_portable
#define gt__cpu_has_avx2_fma() false
#endif

void gt__u8_to_f32(const uint8_t *src, float *dst, int64_t n, double scale, double offset) {
    (gt__cpu_has_avx2_fma() ? convert_avx2 : convert_portable)(src, dst, n, scale, offset);
}
