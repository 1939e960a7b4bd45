/* AVX2+FMA single-precision GEMM microkernel and packers.
 *
 * The library is compiled for the baseline ISA, so everything here carries
 * __attribute__((target("avx2,fma"))) and is reached only through
 * gt__sgemm_avx2_kernel() after gt__cpu_has_avx2_fma() said yes.
 *
 * Register tile 6x16: 12 ymm accumulators + 2 for the B row + 1 broadcast
 * fits the 16 ymm registers and gives 12 independent FMA chains, enough to
 * cover the FMA latency (4-5 cycles) at 1-2 FMA/cycle on Zen and Haswell+. */
#include "kernels/gemm.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <string.h>

#define MR 6
#define NR 16
#define GT_AVX2 __attribute__((target("avx2,fma")))

/* One k step of the 6x16 tile: two B vectors, six broadcasts, twelve FMAs.
 * A0..A5 address op(A)[r, p] for the six rows. */
#define STEP6(A0, A1, A2, A3, A4, A5, pb)                                     \
    do {                                                                      \
        const __m256 b0_ = _mm256_load_ps(pb);                                \
        const __m256 b1_ = _mm256_load_ps((pb) + 8);                          \
        __m256 a_ = _mm256_broadcast_ss(A0);                                  \
        c00 = _mm256_fmadd_ps(a_, b0_, c00);                                  \
        c01 = _mm256_fmadd_ps(a_, b1_, c01);                                  \
        a_ = _mm256_broadcast_ss(A1);                                         \
        c10 = _mm256_fmadd_ps(a_, b0_, c10);                                  \
        c11 = _mm256_fmadd_ps(a_, b1_, c11);                                  \
        a_ = _mm256_broadcast_ss(A2);                                         \
        c20 = _mm256_fmadd_ps(a_, b0_, c20);                                  \
        c21 = _mm256_fmadd_ps(a_, b1_, c21);                                  \
        a_ = _mm256_broadcast_ss(A3);                                         \
        c30 = _mm256_fmadd_ps(a_, b0_, c30);                                  \
        c31 = _mm256_fmadd_ps(a_, b1_, c31);                                  \
        a_ = _mm256_broadcast_ss(A4);                                         \
        c40 = _mm256_fmadd_ps(a_, b0_, c40);                                  \
        c41 = _mm256_fmadd_ps(a_, b1_, c41);                                  \
        a_ = _mm256_broadcast_ss(A5);                                         \
        c50 = _mm256_fmadd_ps(a_, b0_, c50);                                  \
        c51 = _mm256_fmadd_ps(a_, b1_, c51);                                  \
    } while (0)
#define STEP(pa, pb) STEP6((pa), (pa) + 1, (pa) + 2, (pa) + 3, (pa) + 4, (pa) + 5, pb)

#define ZERO_ACC                                                              \
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();              \
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();              \
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();              \
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();              \
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();              \
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps()

#define STORE_ACC                                                             \
    do {                                                                      \
        const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);   \
        const int mode = first ? (beta == 0.0f ? 0 : 1) : 2;                  \
        store_row(c + 0 * ldc, c00, c01, va, vb, mode);                       \
        store_row(c + 1 * ldc, c10, c11, va, vb, mode);                       \
        store_row(c + 2 * ldc, c20, c21, va, vb, mode);                       \
        store_row(c + 3 * ldc, c30, c31, va, vb, mode);                       \
        store_row(c + 4 * ldc, c40, c41, va, vb, mode);                       \
        store_row(c + 5 * ldc, c50, c51, va, vb, mode);                       \
    } while (0)

/* Write one accumulator row pair back with the alpha/beta rule of the
 * ukernel contract; fmadd keeps the rounding identical for all tiles. */
GT_AVX2 static inline void store_row(float *c, __m256 x0, __m256 x1, __m256 va, __m256 vb,
                                     int mode) {
    if (mode == 0) { /* first block, beta == 0: C is write-only */
        _mm256_storeu_ps(c, _mm256_mul_ps(va, x0));
        _mm256_storeu_ps(c + 8, _mm256_mul_ps(va, x1));
    } else if (mode == 1) { /* first block: alpha*acc + beta*C */
        _mm256_storeu_ps(c, _mm256_fmadd_ps(va, x0, _mm256_mul_ps(vb, _mm256_loadu_ps(c))));
        _mm256_storeu_ps(c + 8, _mm256_fmadd_ps(va, x1, _mm256_mul_ps(vb, _mm256_loadu_ps(c + 8))));
    } else { /* later K blocks: alpha*acc + C */
        _mm256_storeu_ps(c, _mm256_fmadd_ps(va, x0, _mm256_loadu_ps(c)));
        _mm256_storeu_ps(c + 8, _mm256_fmadd_ps(va, x1, _mm256_loadu_ps(c + 8)));
    }
}

/* Warm the C tile while the FMAs run; it is touched only at the end. */
GT_AVX2 static inline void prefetch_c(const float *c, int64_t ldc) {
    for (int r = 0; r < MR; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + NR - 1), _MM_HINT_T0);
    }
}

/* The hot loop: everything stays in registers for kc steps, then one pass
 * over the C tile.  Unrolled by 4 so loop overhead hides behind the FMAs. */
GT_AVX2 static void sk_6x16(int64_t kc, const float *pa, const float *pb, float *c, int64_t ldc,
                            float alpha, float beta, int first) {
    ZERO_ACC;
    prefetch_c(c, ldc);
    int64_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        _mm_prefetch((const char *)(pa + 64), _MM_HINT_T0);
        STEP(pa, pb);
        STEP(pa + MR, pb + NR);
        STEP(pa + 2 * MR, pb + 2 * NR);
        STEP(pa + 3 * MR, pb + 3 * NR);
        pa += 4 * MR;
        pb += 4 * NR;
    }
    for (; p < kc; p++) {
        STEP(pa, pb);
        pa += MR;
        pb += NR;
    }
    STORE_ACC;
}

/* Same arithmetic as sk_6x16 (identical FMA sequence per element) but reads
 * op(A) in place: row r, step p at a[r*rsa + p*csa].  Used when C has so few
 * columns that packing A would cost as much as the multiply itself. */
GT_AVX2 static void sk_6x16_ua(int64_t kc, const float *a, int64_t rsa, int64_t csa,
                               const float *pb, float *c, int64_t ldc, float alpha,
                               float beta, int first) {
    ZERO_ACC;
    prefetch_c(c, ldc);
    const float *a0 = a, *a1 = a + rsa, *a2 = a + 2 * rsa;
    const float *a3 = a + 3 * rsa, *a4 = a + 4 * rsa, *a5 = a + 5 * rsa;
    for (int64_t p = 0, o = 0; p < kc; p++, o += csa) {
        STEP6(a0 + o, a1 + o, a2 + o, a3 + o, a4 + o, a5 + o, pb);
        pb += NR;
    }
    STORE_ACC;
}

/* In-register 8x8 transpose (rows r[0..7] become columns): lets the packers
 * turn strided gathers into full-width loads and aligned stores. */
GT_AVX2 static inline void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* Scalar packer for partial panels and k tails (same layout as the fast
 * paths; see pack_panel in gemm.c). */
static void pack_tail(int w, int64_t p0, int64_t kc, int64_t rows, const float *src, int64_t ld,
                      bool rcontig, float *dst) {
    for (int64_t p = p0; p < kc; p++)
        for (int64_t r = 0; r < w; r++)
            dst[p * w + r] = r >= rows ? 0.0f : rcontig ? src[p * ld + r] : src[r * ld + p];
}

/* Two-float moves through the unaligned-safe 64-bit intrinsics (packed
 * panels are only 8-byte aligned at every other step). */
GT_AVX2 static inline __m128 load2(const float *p) {
    return _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(const void *)p));
}
GT_AVX2 static inline void store2(float *p, __m128 v) {
    _mm_storel_epi64((__m128i *)(void *)p, _mm_castps_si128(v));
}

/* op(A) panel of 6 rows.  Row-major A (strided rows) is the common forward
 * case, so it gets an 8-step transpose; A^T rows are already contiguous. */
GT_AVX2 static void pack_a6(int64_t kc, int64_t rows, const float *src, int64_t ld, bool rcontig,
                            float *dst) {
    int64_t p = 0;
    if (rows == MR && !rcontig) {
        for (; p + 8 <= kc; p += 8) {
            __m256 r[8];
            for (int i = 0; i < MR; i++) r[i] = _mm256_loadu_ps(src + i * ld + p);
            r[6] = _mm256_setzero_ps();
            r[7] = _mm256_setzero_ps();
            transpose8(r);
            for (int q = 0; q < 8; q++) {
                float *d = dst + (p + q) * MR; /* store 6 of 8 lanes: 4 + 2 */
                _mm_storeu_ps(d, _mm256_castps256_ps128(r[q]));
                store2(d + 4, _mm256_extractf128_ps(r[q], 1));
            }
        }
    } else if (rows == MR) {
        for (; p < kc; p++) {
            const float *s = src + p * ld;
            float *d = dst + p * MR;
            _mm_storeu_ps(d, _mm_loadu_ps(s));
            store2(d + 4, load2(s + 4));
        }
    }
    pack_tail(MR, p, kc, rows, src, ld, rcontig, dst);
}

/* op(B) panel of 16 columns.  Row-major B is a straight copy; B^T (the
 * G*W^T backward product) is transposed 8x8 at a time. */
GT_AVX2 static void pack_b16(int64_t kc, int64_t rows, const float *src, int64_t ld, bool rcontig,
                             float *dst) {
    int64_t p = 0;
    if (rows == NR && rcontig) {
        for (; p < kc; p++) {
            const float *s = src + p * ld;
            _mm256_store_ps(dst + p * NR, _mm256_loadu_ps(s));
            _mm256_store_ps(dst + p * NR + 8, _mm256_loadu_ps(s + 8));
        }
    } else if (rows == NR) {
        for (; p + 8 <= kc; p += 8) {
            for (int h = 0; h < 2; h++) {
                __m256 r[8];
                for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + (h * 8 + i) * ld + p);
                transpose8(r);
                for (int q = 0; q < 8; q++) _mm256_store_ps(dst + (p + q) * NR + h * 8, r[q]);
            }
        }
    }
    pack_tail(NR, p, kc, rows, src, ld, rcontig, dst);
}

/* Cache blocks for Zen/Haswell-class cores: a 16 x KC B micro-panel (16 KiB)
 * stays in L1, the MC x KC A block (144 KiB) in L2, the KC x NC B block in
 * L3.  KC is an upper bound; the driver balances k into equal chunks. */
static const gt__sgemm_kernel avx2_kernel = {
    MR, NR, 256, 144, 3072, sk_6x16, sk_6x16_ua, pack_a6, pack_b16,
};

/* Descriptor handed to the driver in gemm.c after the CPU check. */
const gt__sgemm_kernel *gt__sgemm_avx2_kernel(void) { return &avx2_kernel; }

#else /* not x86 */

/* No AVX2 on this architecture; the dispatcher never asks for it. */
const gt__sgemm_kernel *gt__sgemm_avx2_kernel(void) { return 0; }

#endif
