/* Byte-to-float conversion (convert.h), vectorised: 4 doubles per 256-bit vector on AVX2; the
 * streaming copy. */
#include "kernels/convert.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

void gt__stream_copy(void *dst, const void *src, size_t bytes) {
#if defined(__SSE2__)
    unsigned char *d = dst;
    const unsigned char *s = src;
    size_t head = (16 - ((uintptr_t)d & 15)) & 15;
    if (head > bytes)
        head = bytes;
    memcpy(d, s, head);
    d += head;
    s += head;
    bytes -= head;
    for (; bytes >= 64; bytes -= 64, d += 64, s += 64) {
        const __m128i a = _mm_loadu_si128((const __m128i *)(const void *)s);
        const __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + 16));
        const __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(s + 32));
        const __m128i e = _mm_loadu_si128((const __m128i *)(const void *)(s + 48));
        _mm_stream_si128((__m128i *)(void *)d, a);
        _mm_stream_si128((__m128i *)(void *)(d + 16), b);
        _mm_stream_si128((__m128i *)(void *)(d + 32), c);
        _mm_stream_si128((__m128i *)(void *)(d + 48), e);
    }
    memcpy(d, s, bytes);
    _mm_sfence();
#else
    memcpy(dst, src, bytes);
#endif
}
