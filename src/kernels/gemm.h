/* Dense matrix multiply kernels (internal).
 *
 * All matrices are row-major.  Results are bitwise reproducible for a given
 * backend regardless of the thread count: the K dimension is never
 * split across threads and every C element is reduced in the same order. */
#ifndef GT_KERNELS_GEMM_H
#define GT_KERNELS_GEMM_H

#include <stdbool.h>
#include <stdint.h>

/* C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, all row-major.
 * op(A) = A (lda >= k) or A^T when ta (A stored [k,m], lda >= m); same for B.
 * beta == 0 means C is write-only (NaNs in C are ignored). k == 0 gives beta*C. */
void gt__gemm_f32(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb,
                  float beta, float *c, int64_t ldc);
void gt__gemm_f64(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha,
                  const double *a, int64_t lda, const double *b, int64_t ldb,
                  double beta, double *c, int64_t ldc);

/* Which path the f32 GEMM takes for large products: "avx2", "blas", "portable" (for docs/bench). */
const char *gt__gemm_backend(void);

/* Force a backend for tests/bench: 0 auto, 1 portable, 2 avx2, 3 blas (if compiled).
 * Forcing a backend that is unavailable here falls back to auto. */
void gt__gemm_force(int backend);

enum {
    GT_GEMM_AUTO = 0,
    GT_GEMM_PORTABLE = 1,
    GT_GEMM_AVX2 = 2,
    GT_GEMM_BLAS = 3
};

/* ---- shared between gemm.c and gemm_avx2.c; not for other callers ---- */

/* A register-blocked microkernel computing one MR x NR tile of C from packed
 * panels: pa holds kc groups of MR values of op(A), pb kc groups of NR values
 * of op(B).  The tile is updated as
 *   first && beta == 0 : C = alpha*acc
 *   first              : C = alpha*acc + beta*C
 *   otherwise          : C = alpha*acc + C
 * The C tile is always a full MR x NR block; edge tiles go to the edge
 * kernel below, or to a scratch tile, so every element sees identical
 * arithmetic. */
typedef void (*gt__sgemm_ukernel)(int64_t kc, const float *pa, const float *pb,
                                  float *c, int64_t ldc, float alpha, float beta,
                                  int first);

/* Variant reading op(A) in place (row r, step p at a[r*rsa + p*csa]) instead
 * of from a packed panel, with exactly the same arithmetic per element, for
 * `tiles` full tiles stacked down C (tile t: rows from a + t*MR*rsa, C at
 * c + t*MR*ldc) in one call, which amortises the call and setup when kc is
 * short. */
typedef void (*gt__sgemm_ukernel_ua)(int64_t tiles, int64_t kc, const float *a, int64_t rsa,
                                     int64_t csa, const float *pb, float *c, int64_t ldc,
                                     float alpha, float beta, int first);

/* Any tile of at most MR x NR (rows x cols) computed in place in C, op(A)
 * read at a[r*rsa + p*csa] (a packed panel: rsa = 1, csa = MR), with the
 * arithmetic of a full tile for every element it writes. */
typedef void (*gt__sgemm_ukernel_edge)(int rows, int cols, int64_t kc, const float *a, int64_t rsa,
                                       int64_t csa, const float *pb, float *c, int64_t ldc,
                                       float alpha, float beta, int first);

/* Packs one w-wide panel (w = MR for op(A), NR for op(B)) of kc steps into
 * dst[p*w + r], zero-padding r >= rows.  rcontig: the w values of a step are
 * contiguous in memory (element (p, r) at src[p*ld + r]), otherwise strided
 * (at src[r*ld + p]). */
typedef void (*gt__spack_fn)(int64_t kc, int64_t rows, const float *src, int64_t ld,
                             bool rcontig, float *dst);

typedef struct gt__sgemm_kernel {
    int mr, nr;               /* register tile */
    int64_t kc, mc, nc;       /* cache blocks (mc % mr == 0, nc % nr == 0) */
    gt__sgemm_ukernel ukernel;
    gt__sgemm_ukernel_ua ukernel_ua; /* NULL: always pack A */
    gt__sgemm_ukernel_edge edge;     /* NULL: edge tiles go through a scratch tile */
    gt__spack_fn pack_a;      /* NULL: use the generic packer */
    gt__spack_fn pack_b;
} gt__sgemm_kernel;

/* AVX2+FMA 6x16 kernel descriptor; only valid when gt__cpu_has_avx2_fma(). */
const gt__sgemm_kernel *gt__sgemm_avx2_kernel(void);

#endif
