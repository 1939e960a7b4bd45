/* Direct float32 convolution for few taps (K = kh * kw * c <= 32, one group, F % 8 == 0): the
 * first layer of an image model (28x28x1 or RGB input), where im2col + GEMM spends its time on
 * strided single-float copies, on packing dy and on a C tile K = 9 is too short to amortise.
 *
 * A window inside the image is read in place through a table of tap offsets; one that leaves it
 * is gathered into an L1-resident row with zeros outside (as im2col writes it). Then:
 *  - forward: acc = 0, acc = fma(tap[k], w[k], acc) for k = 0 .. K-1, then + bias and relu, the
 *    exact instruction sequence of the GEMM tile (mode "first block, alpha 1, beta 0") and the
 *    separate epilogue, so the output is bitwise that of the im2col + GEMM path;
 *  - filter gradient: the block's taps are copied side by side (each is read F / 8 times); for
 *    each (k, f), blocks of SUB rows are summed from zero in row order, each block then added
 *    to the chunk's total (the GEMM's blocked order with a block of SUB).
 * Both depend only on the rows given, never on threads. */
#include "kernels/conv.h"

#include "kernels/cpu.h"

#include <stdint.h>
#include <string.h>

#define DIRECT_MAX_K  32
#define DIRECT_MAX_KF 8192 /* K * F floats of the filter-gradient chunk total */
#define SUB           64   /* rows per gathered block */

bool gt__conv_direct_ok(gt_dtype dt, const gt__conv_geom *g) {
    const int64_t K = g->kh * g->kw * g->c;
#if defined(__x86_64__) || defined(__i386__)
    return dt == GT_F32 && g->groups == 1 && K >= 1 && K <= DIRECT_MAX_K && g->f % 8 == 0 &&
           K * g->f <= DIRECT_MAX_KF && gt__cpu_has_avx2_fma();
#else
    (void)dt;
    (void)K;
    return false;
#endif
}

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#define GT_AVX2 __attribute__((target("avx2,fma")))

/* Where the taps of output rows [r0, r0 + m) (m <= SUB) are: row i's tap k is
 * base[i][off[i][k]], k in (kh, kw, c) order. A window inside the image reads x itself through
 * offx; one that leaves it is gathered into t + i * K with zeros outside (as im2col writes it)
 * and read through offid (0, 1, ..., K-1). */
static void taps(const gt__conv_geom *g, int64_t r0, int64_t m, const float *x, const int64_t *offx,
                 const int64_t *offid, float *t, const float **base, const int64_t **off) {
    const int64_t C = g->c, K = g->kh * g->kw * C, opix = g->oh * g->ow;
    /* the first row's position by division, then stepped: a 64-bit division per row would
     * cost more than the row's taps */
    int64_t n = r0 / opix, oh = r0 % opix / g->ow, ow = r0 % g->ow;
    for (int64_t i = 0; i < m; i++) {
        const float *xn = x + n * g->h * g->w * C;
        const int64_t ih0 = oh * g->sh - g->pt, iw0 = ow * g->sw - g->pl;
        if (ih0 >= 0 && ih0 + (g->kh - 1) * g->dh < g->h && iw0 >= 0 &&
            iw0 + (g->kw - 1) * g->dw < g->w) {
            base[i] = xn + (ih0 * g->w + iw0) * C;
            off[i] = offx;
        } else {
            float *row = t + i * K;
            for (int64_t kh = 0; kh < g->kh; kh++) {
                const int64_t ih = ih0 + kh * g->dh;
                for (int64_t kw = 0; kw < g->kw; kw++, row += C) {
                    const int64_t iw = iw0 + kw * g->dw;
                    if (ih >= 0 && ih < g->h && iw >= 0 && iw < g->w)
                        memcpy(row, xn + (ih * g->w + iw) * C, sizeof(float) * (size_t)C);
                    else
                        memset(row, 0, sizeof(float) * (size_t)C);
                }
            }
            base[i] = t + i * K;
            off[i] = offid;
        }
        if (++ow == g->ow) {
            ow = 0;
            if (++oh == g->oh) {
                oh = 0;
                n++;
            }
        }
    }
}

/* offx: tap k's offset from a window's first element in x; offid: 0 .. K-1. */
static void offsets(const gt__conv_geom *g, int64_t *offx, int64_t *offid) {
    const int64_t C = g->c;
    int64_t k = 0;
    for (int64_t kh = 0; kh < g->kh; kh++)
        for (int64_t kw = 0; kw < g->kw; kw++)
            for (int64_t c = 0; c < C; c++, k++) {
                offx[k] = (kh * g->dh * g->w + kw * g->dw) * C + c;
                offid[k] = k;
            }
}

/* Output rows of a pair of pixels (p1 may repeat p0 for an odd row out) for filters [f0, f0 +
 * 8 * nv): the GEMM tile's arithmetic, then the epilogue's (y + b, then relu; NaN passes).
 * Streamed stores (nt) for outputs larger than the last-level cache, which the next op reads
 * back from memory anyway. */
GT_AVX2 static inline __attribute__((always_inline)) void
fwd_pair(const int nv, const float *b0, const int64_t *o0, const float *b1, const int64_t *o1,
         int64_t K, const float *w, int64_t F, const float *bias, bool relu, float *y0, float *y1,
         bool two, bool nt) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m256 c0 = a0, c1 = a0, c2 = a0, c3 = a0;
    for (int64_t k = 0; k < K; k++, w += F) {
        const __m256 u = _mm256_broadcast_ss(b0 + o0[k]), v = _mm256_broadcast_ss(b1 + o1[k]);
        const __m256 w0 = _mm256_loadu_ps(w);
        a0 = _mm256_fmadd_ps(u, w0, a0);
        c0 = _mm256_fmadd_ps(v, w0, c0);
        if (nv > 1) {
            const __m256 w1 = _mm256_loadu_ps(w + 8);
            a1 = _mm256_fmadd_ps(u, w1, a1);
            c1 = _mm256_fmadd_ps(v, w1, c1);
        }
        if (nv > 2) {
            const __m256 w2 = _mm256_loadu_ps(w + 16);
            a2 = _mm256_fmadd_ps(u, w2, a2);
            c2 = _mm256_fmadd_ps(v, w2, c2);
        }
        if (nv > 3) {
            const __m256 w3 = _mm256_loadu_ps(w + 24);
            a3 = _mm256_fmadd_ps(u, w3, a3);
            c3 = _mm256_fmadd_ps(v, w3, c3);
        }
    }
    const __m256 zero = _mm256_setzero_ps();
#define FINISH(acc, dst, j)                                                                        \
    do {                                                                                           \
        __m256 s_ = acc;                                                                           \
        if (bias)                                                                                  \
            s_ = _mm256_add_ps(s_, _mm256_loadu_ps(bias + (j)));                                   \
        /* relu as the op: s > 0 || s != s ? s : 0 */                                              \
        if (relu)                                                                                  \
            s_ = _mm256_blendv_ps(zero, s_,                                                        \
                                  _mm256_or_ps(_mm256_cmp_ps(s_, zero, _CMP_GT_OQ),                \
                                               _mm256_cmp_ps(s_, s_, _CMP_UNORD_Q)));              \
        if (nt)                                                                                    \
            _mm256_stream_ps((dst) + (j), s_);                                                     \
        else                                                                                       \
            _mm256_storeu_ps((dst) + (j), s_);                                                     \
    } while (0)
    FINISH(a0, y0, 0);
    if (nv > 1)
        FINISH(a1, y0, 8);
    if (nv > 2)
        FINISH(a2, y0, 16);
    if (nv > 3)
        FINISH(a3, y0, 24);
    if (two) {
        FINISH(c0, y1, 0);
        if (nv > 1)
            FINISH(c1, y1, 8);
        if (nv > 2)
            FINISH(c2, y1, 16);
        if (nv > 3)
            FINISH(c3, y1, 24);
    }
#undef FINISH
}

GT_AVX2 static void fwd_block(const int nv, const float *const *base, const int64_t *const *off,
                              int64_t m, int64_t K, const float *w, int64_t F, const float *bias,
                              bool relu, float *y, bool nt) {
    int64_t i = 0;
    for (; i + 1 < m; i += 2)
        fwd_pair(nv, base[i], off[i], base[i + 1], off[i + 1], K, w, F, bias, relu, y + i * F,
                 y + (i + 1) * F, true, nt);
    if (i < m)
        fwd_pair(nv, base[i], off[i], base[i], off[i], K, w, F, bias, relu, y + i * F, NULL, false,
                 nt);
}

/* Above this many output bytes the forward pass streams its stores (8 MiB: the last-level
 * cache of the machines this was tuned on; the pooling gradient uses the same bound). */
#define STREAM_BYTES ((int64_t)8 << 20)

GT_AVX2 static void fwd_rows(const gt__conv_geom *g, int64_t r0, int64_t nr, const float *x,
                             const float *w, const float *bias, bool relu, float *y) {
    const int64_t K = g->kh * g->kw * g->c, F = g->f;
    int64_t offx[DIRECT_MAX_K], offid[DIRECT_MAX_K];
    offsets(g, offx, offid);
    float t[SUB * DIRECT_MAX_K];
    const float *base[SUB];
    const int64_t *off[SUB];
    /* streamed stores need 32-byte aligned rows: F % 8 == 0 keeps them so from an aligned y */
    const bool nt = g->n * g->oh * g->ow * F * (int64_t)sizeof(float) > STREAM_BYTES &&
                    ((uintptr_t)y & 31) == 0;
    for (int64_t s = r0; s < r0 + nr; s += SUB) {
        const int64_t m = r0 + nr - s < SUB ? r0 + nr - s : SUB;
        taps(g, s, m, x, offx, offid, t, base, off);
        float *ys = y + (s - r0) * F;
        for (int64_t f0 = 0; f0 < F; f0 += 32) {
            const int64_t nf = F - f0 < 32 ? F - f0 : 32;
            const float *b = bias ? bias + f0 : NULL;
            switch (nf / 8) {
            case 4:
                fwd_block(4, base, off, m, K, w + f0, F, b, relu, ys + f0, nt);
                break;
            case 3:
                fwd_block(3, base, off, m, K, w + f0, F, b, relu, ys + f0, nt);
                break;
            case 2:
                fwd_block(2, base, off, m, K, w + f0, F, b, relu, ys + f0, nt);
                break;
            default:
                fwd_block(1, base, off, m, K, w + f0, F, b, relu, ys + f0, nt);
                break;
            }
        }
    }
    if (nt)
        _mm_sfence(); /* the streamed stores are visible before the pool's join */
}

/* sum[k * F + f0 + 8v ..] += the block's sum over its m rows, for taps k in [k0, k0 + nk)
 * (nk <= 3) and filter vectors v < nv (nv <= 4): twelve accumulators at most, each starting at
 * zero and running through the rows in order. A row's dy vectors are loaded once per tap block
 * and its taps broadcast once per filter block. */
GT_AVX2 static inline __attribute__((always_inline)) void
dw_tile(const int nk, const int nv, const float *t, int64_t K, int64_t k0, const float *dz,
        int64_t F, int64_t m, float *sum) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c03 = c00;
    __m256 c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    __m256 c20 = c00, c21 = c00, c22 = c00, c23 = c00;
    t += k0;
    for (int64_t i = 0; i < m; i++, t += K, dz += F) {
        const __m256 d0 = _mm256_loadu_ps(dz);
        const __m256 d1 = nv > 1 ? _mm256_loadu_ps(dz + 8) : d0;
        const __m256 d2 = nv > 2 ? _mm256_loadu_ps(dz + 16) : d0;
        const __m256 d3 = nv > 3 ? _mm256_loadu_ps(dz + 24) : d0;
#define TAP(j, x0, x1, x2, x3)                                                                     \
    if (nk > (j)) {                                                                                \
        const __m256 u_ = _mm256_broadcast_ss(t + (j));                                            \
        x0 = _mm256_fmadd_ps(u_, d0, x0);                                                          \
        if (nv > 1)                                                                                \
            x1 = _mm256_fmadd_ps(u_, d1, x1);                                                      \
        if (nv > 2)                                                                                \
            x2 = _mm256_fmadd_ps(u_, d2, x2);                                                      \
        if (nv > 3)                                                                                \
            x3 = _mm256_fmadd_ps(u_, d3, x3);                                                      \
    }
        TAP(0, c00, c01, c02, c03)
        TAP(1, c10, c11, c12, c13)
        TAP(2, c20, c21, c22, c23)
#undef TAP
    }
#define ADD(j, v, c)                                                                               \
    if (nk > (j) && nv > (v)) {                                                                    \
        float *p_ = sum + (k0 + (j)) * F + 8 * (v);                                                \
        _mm256_storeu_ps(p_, _mm256_add_ps(_mm256_loadu_ps(p_), c));                               \
    }
    ADD(0, 0, c00)
    ADD(0, 1, c01) ADD(0, 2, c02) ADD(0, 3, c03) ADD(1, 0, c10) ADD(1, 1, c11) ADD(1, 2, c12)
        ADD(1, 3, c13) ADD(2, 0, c20) ADD(2, 1, c21) ADD(2, 2, c22) ADD(2, 3, c23)
#undef ADD
}

#define DW_NV_CASES(NK)                                                                            \
    switch (nv) {                                                                                  \
    case 4:                                                                                        \
        dw_tile(NK, 4, rows, K, k0, d, F, m, o);                                                   \
        break;                                                                                     \
    case 3:                                                                                        \
        dw_tile(NK, 3, rows, K, k0, d, F, m, o);                                                   \
        break;                                                                                     \
    case 2:                                                                                        \
        dw_tile(NK, 2, rows, K, k0, d, F, m, o);                                                   \
        break;                                                                                     \
    default:                                                                                       \
        dw_tile(NK, 1, rows, K, k0, d, F, m, o);                                                   \
        break;                                                                                     \
    }

GT_AVX2 static void dw_rows(const gt__conv_geom *g, int64_t r0, int64_t nr, const float *x,
                            const float *dz, bool accumulate, float *dw) {
    const int64_t K = g->kh * g->kw * g->c, F = g->f;
    int64_t offx[DIRECT_MAX_K], offid[DIRECT_MAX_K];
    offsets(g, offx, offid);
    float t[SUB * DIRECT_MAX_K], rows[SUB * DIRECT_MAX_K];
    const float *base[SUB];
    const int64_t *off[SUB];
    float sum[DIRECT_MAX_KF];
    memset(sum, 0, sizeof(float) * (size_t)(K * F));
    for (int64_t s = r0; s < r0 + nr; s += SUB) {
        const int64_t m = r0 + nr - s < SUB ? r0 + nr - s : SUB;
        /* every row's taps side by side: each is read F / 8 times below */
        taps(g, s, m, x, offx, offid, t, base, off);
        for (int64_t i = 0; i < m; i++)
            for (int64_t k = 0; k < K; k++)
                rows[i * K + k] = base[i][off[i][k]];
        const float *dzs = dz + s * F;
        for (int64_t f0 = 0; f0 < F; f0 += 32) {
            const int nv = (int)((F - f0 < 32 ? F - f0 : 32) / 8);
            for (int64_t k0 = 0; k0 < K; k0 += 3) {
                const float *d = dzs + f0;
                float *o = sum + f0;
                if (K - k0 >= 3) {
                    DW_NV_CASES(3)
                } else if (K - k0 == 2) {
                    DW_NV_CASES(2)
                } else {
                    DW_NV_CASES(1)
                }
            }
        }
    }
    if (accumulate)
        for (int64_t i = 0; i < K * F; i++)
            dw[i] += sum[i];
    else
        memcpy(dw, sum, sizeof(float) * (size_t)(K * F));
}

void gt__conv_direct_fwd(const gt__conv_geom *g, int64_t r0, int64_t nr, const float *x,
                         const float *w, const float *bias, bool relu, float *y) {
    fwd_rows(g, r0, nr, x, w, bias, relu, y);
}

void gt__conv_direct_dw(const gt__conv_geom *g, int64_t r0, int64_t nr, const float *x,
                        const float *dz, bool accumulate, float *dw) {
    dw_rows(g, r0, nr, x, dz, accumulate, dw);
}

#else

void gt__conv_direct_fwd(const gt__conv_geom *g, int64_t r0, int64_t nr, const float *x,
                         const float *w, const float *bias, bool relu, float *y) {
    (void)g, (void)r0, (void)nr, (void)x, (void)w, (void)bias, (void)relu, (void)y;
}

void gt__conv_direct_dw(const gt__conv_geom *g, int64_t r0, int64_t nr, const float *x,
                        const float *dz, bool accumulate, float *dw) {
    (void)g, (void)r0, (void)nr, (void)x, (void)dz, (void)accumulate, (void)dw;
}

#endif
