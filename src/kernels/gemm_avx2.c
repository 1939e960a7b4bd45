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

/* The alpha/beta rule of the ukernel contract as a mode:
 *   0  first block, beta == 0 (C is write-only): alpha*acc
 *   1  first block: alpha*acc + beta*C
 *   2  later K blocks: alpha*acc + C
 * and 3..5 the same with alpha == 1, where the multiply by alpha is left
 * out: 1*x is x and fma(1, x, u) rounds exactly like x + u, so the bits are
 * those of modes 0..2. */
static inline int store_mode(float alpha, float beta, int first) {
    return (first ? (beta == 0.0f ? 0 : 1) : 2) + (alpha == 1.0f ? 3 : 0);
}

/* One 8-wide vector of results from accumulators x and the C values cv they
 * replace (unused in modes 0 and 3); fmadd keeps the rounding identical for
 * every tile. */
GT_AVX2 static inline __m256 finish(__m256 x, __m256 cv, __m256 va, __m256 vb, int mode) {
    switch (mode) {
    case 0: return _mm256_mul_ps(va, x);
    case 1: return _mm256_fmadd_ps(va, x, _mm256_mul_ps(vb, cv));
    case 2: return _mm256_fmadd_ps(va, x, cv);
    case 3: return x;
    case 4: return _mm256_add_ps(x, _mm256_mul_ps(vb, cv));
    default: return _mm256_add_ps(x, cv);
    }
}

/* Lanes of a partial column vector: lane_mask + 8 - n selects the first n. */
static const int32_t lane_mask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* Write one row of a tile back: nv vectors, the last one masked if asked
 * (C is read only when the mode uses it). */
GT_AVX2 static inline __attribute__((always_inline)) void
store_row(const int nv, const bool masked, float *c, __m256 x0, __m256 x1, __m256 va,
               __m256 vb, int mode, __m256i mask) {
    const bool rd = mode != 0 && mode != 3;
    if (nv > 1) {
        _mm256_storeu_ps(c, finish(x0, rd ? _mm256_loadu_ps(c) : x0, va, vb, mode));
        c += 8;
        x0 = x1;
    }
    if (masked)
        _mm256_maskstore_ps(c, mask, finish(x0, rd ? _mm256_maskload_ps(c, mask) : x0, va, vb, mode));
    else
        _mm256_storeu_ps(c, finish(x0, rd ? _mm256_loadu_ps(c) : x0, va, vb, mode));
}

/* The one tile body every kernel here inlines: a rows x cols tile (rows <=
 * MR, cols <= NR) computed in place, op(A) read at a[r*rsa + p*csa] (a
 * packed panel is rsa = 1, csa = MR).  Every element gets the same FMA
 * sequence and store rule whatever the tile: the lanes of a vector are
 * independent, a row's arithmetic does not depend on how many rows the tile
 * has, and the columns outside C are masked off on load and store.  So edge
 * tiles and in-place reads of A give the bits of full tiles from packed
 * panels.  Constant rows, nv (column vectors) and masked after inlining
 * specialise it; the accumulators are named variables so that they stay in
 * registers. */
GT_AVX2 static inline __attribute__((always_inline)) void
tile(const int rows, const int nv, const bool masked, int cols, int64_t kc, const float *a,
     int64_t rsa, int64_t csa, const float *pb, float *c, int64_t ldc, float alpha, float beta,
     int first) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    /* warm the C tile while the FMAs run; it is touched only at the end */
    for (int r = 0; r < rows; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + cols - 1), _MM_HINT_T0);
    }
#define TILE_ROW(R, x0, x1)                                                   \
    if (rows > (R)) {                                                         \
        const __m256 a_ = _mm256_broadcast_ss(a + (R) * rsa);                 \
        x0 = _mm256_fmadd_ps(a_, b0, x0);                                     \
        if (nv > 1) x1 = _mm256_fmadd_ps(a_, b1, x1);                         \
    }
    for (int64_t p = 0; p < kc; p++) {
        const __m256 b0 = _mm256_load_ps(pb), b1 = nv > 1 ? _mm256_load_ps(pb + 8) : b0;
        TILE_ROW(0, c00, c01);
        TILE_ROW(1, c10, c11);
        TILE_ROW(2, c20, c21);
        TILE_ROW(3, c30, c31);
        TILE_ROW(4, c40, c41);
        TILE_ROW(5, c50, c51);
        a += csa;
        pb += NR;
    }
#undef TILE_ROW
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    const int mode = store_mode(alpha, beta, first);
    const __m256i mask = _mm256_loadu_si256((const __m256i *)(const void *)(lane_mask + 8 * nv - cols));
    store_row(nv, masked, c, c00, c01, va, vb, mode, mask);
    if (rows > 1) store_row(nv, masked, c + ldc, c10, c11, va, vb, mode, mask);
    if (rows > 2) store_row(nv, masked, c + 2 * ldc, c20, c21, va, vb, mode, mask);
    if (rows > 3) store_row(nv, masked, c + 3 * ldc, c30, c31, va, vb, mode, mask);
    if (rows > 4) store_row(nv, masked, c + 4 * ldc, c40, c41, va, vb, mode, mask);
    if (rows > 5) store_row(nv, masked, c + 5 * ldc, c50, c51, va, vb, mode, mask);
}

/* Full tiles with op(A) read in place, `tiles` of them down C. */
GT_AVX2 static void sk_6x16_ua(int64_t tiles, int64_t kc, const float *a, int64_t rsa, int64_t csa,
                               const float *pb, float *c, int64_t ldc, float alpha, float beta,
                               int first) {
    for (int64_t t = 0; t < tiles; t++, a += MR * rsa, c += MR * ldc)
        tile(MR, 2, false, NR, kc, a, rsa, csa, pb, c, ldc, alpha, beta, first);
}

/* Full tiles from packed panels of op(A).  Not unrolled: GCC's schedule of
 * an unrolled body spills accumulators (15 of the 16 ymm registers are
 * live), and the loop overhead hides behind the twelve FMAs of a step. */
GT_AVX2 static void sk_6x16(int64_t kc, const float *pa, const float *pb, float *c, int64_t ldc,
                            float alpha, float beta, int first) {
    tile(MR, 2, false, NR, kc, pa, 1, MR, pb, c, ldc, alpha, beta, first);
}

/* Edge tiles, one specialisation per row count, vector count and masking. */
GT_AVX2 static void sk_edge(int rows, int cols, int64_t kc, const float *a, int64_t rsa,
                            int64_t csa, const float *pb, float *c, int64_t ldc, float alpha,
                            float beta, int first) {
#define EDGE_CASES(R)                                                                          \
    case 4 * (R):                                                                              \
        tile(R, 1, false, cols, kc, a, rsa, csa, pb, c, ldc, alpha, beta, first);              \
        return;                                                                                \
    case 4 * (R) + 1:                                                                          \
        tile(R, 1, true, cols, kc, a, rsa, csa, pb, c, ldc, alpha, beta, first);               \
        return;                                                                                \
    case 4 * (R) + 2:                                                                          \
        tile(R, 2, false, cols, kc, a, rsa, csa, pb, c, ldc, alpha, beta, first);              \
        return;                                                                                \
    case 4 * (R) + 3:                                                                          \
        tile(R, 2, true, cols, kc, a, rsa, csa, pb, c, ldc, alpha, beta, first);               \
        return
    switch (4 * rows + (cols > 8 ? 2 : 0) + (cols % 8 != 0)) {
        EDGE_CASES(1);
        EDGE_CASES(2);
        EDGE_CASES(3);
        EDGE_CASES(4);
        EDGE_CASES(5);
        EDGE_CASES(6);
    default: return;
    }
#undef EDGE_CASES
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

/* op(A) panel of 6 rows.  Only A^T is packed (row-major A is read in place,
 * see use_direct_a in gemm.c), and its six values of a step are contiguous. */
GT_AVX2 static void pack_a6(int64_t kc, int64_t rows, const float *src, int64_t ld, bool rcontig,
                            float *dst) {
    int64_t p = 0;
    if (rows == MR && rcontig) {
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
    MR, NR, 256, 144, 3072, sk_6x16, sk_6x16_ua, sk_edge, pack_a6, pack_b16,
};

/* Descriptor handed to the driver in gemm.c after the CPU check. */
const gt__sgemm_kernel *gt__sgemm_avx2_kernel(void) { return &avx2_kernel; }

#else /* not x86 */

/* No AVX2 on this architecture; the dispatcher never asks for it. */
const gt__sgemm_kernel *gt__sgemm_avx2_kernel(void) { return 0; }

#endif
